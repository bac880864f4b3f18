"""Images/s of one three-head multi-task HRNet against the three single-task models run one after another.

The benchmark lives in :mod:`hrvision.tasks.multitask.bench` (also ``hrvision bench multitask``, same flags):

    python benchmarks/multitask_speed.py --arch hrnet_w32 --size 256 --batch 2 --iters 3      # CPU
    python benchmarks/multitask_speed.py --device cuda --size 512 --batch 8 --iters 20
"""
from hrvision.tasks.multitask.bench import main

if __name__ == '__main__':
    main()
