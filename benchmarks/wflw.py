"""WFLW accuracy benchmark: ``hrvision bench wflw`` (NME / FR@0.10 / AUC@0.10, test + six subsets).

Usage: python benchmarks/wflw.py --config configs/face/hrnetv2_w18_wflw.py --checkpoint HR18-WFLW.pth \
           --data-root data/wflw --out work_dirs/wflw_bench
Same arguments as ``hrvision bench wflw`` (one definition, :mod:`hrvision.tasks.face.bench`); results go to
OUT/wflw_results.json, wflw_table.txt, ced.png, landmarks.png. Speed: benchmarks/face_speed.py.
"""
from hrvision.tasks.face.bench import main

if __name__ == '__main__':
    raise SystemExit(main())
