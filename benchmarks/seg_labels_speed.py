"""Full-size segmentation labels: the official path (the 19 score maps upsampled to 1024x2048, ``exp``, the class
maximum) against ``upsampled_argmax`` (labels only: only the cells on class borders interpolated), 1 thread, on
score maps whose class regions give a range of border shares (smooth random fields of several grain sizes; per-pixel
noise last, where the labels-only path falls back to the full upsampling). The share of border cells decides the
labels-only cost; a random-weight network (``deploy_speed.py``) predicts one class everywhere (share 0).

    OMP_NUM_THREADS=1 python benchmarks/seg_labels_speed.py
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F


def scores_with_grain(cells, c: int, hw, seed: int) -> torch.Tensor:
    """(C, h, w) scores: a random (C, *cells) field upsampled, so that class regions are about h / cells[0] tall."""
    g = torch.Generator().manual_seed(seed)
    if cells is None:
        return torch.randn(c, *hw, generator=g)
    return F.interpolate(torch.randn(1, c, *cells, generator=g) * 3, size=hw, mode='bicubic')[0]


def border_share(scores: torch.Tensor) -> float:
    from hrvision.tasks.segmentation.argmax import border_cells
    return float(border_cells(scores.max(0).indices).float().mean())


def main(argv=None) -> int:
    from hrvision.tasks.segmentation.argmax import upsampled_argmax
    from hrvision.timing import interleaved_medians
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--size', nargs=2, type=int, default=[1024, 2048], metavar=('H', 'W'))
    p.add_argument('--classes', type=int, default=19)
    p.add_argument('--rounds', type=int, default=5)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    H, W = args.size
    hw = (H // 4, W // 4)   # HRNetV2's logits: stride 4
    print(json.dumps(dict(torch=torch.__version__, threads=1, size=f'{H}x{W}', logits=f'{hw[0]}x{hw[1]}',
                          classes=args.classes)))
    for cells in [(1, 1), (4, 8), (8, 16), (16, 32), (32, 64), (64, 128), None]:
        scores = scores_with_grain(cells, args.classes, hw, 0)
        calls = {
            'official (upsample, exp, max)': lambda: F.interpolate(scores[None], size=(H, W), mode='bilinear')[0]
            .exp_().max(0).indices,
            'labels only': lambda: upsampled_argmax(scores, (H, W), False)}
        ms = {k: round(v * 1e3, 1) for k, v in interleaved_medians(calls, args.rounds).items()}
        same = bool((calls['labels only']() == calls['official (upsample, exp, max)']()).all())
        print(json.dumps(dict(field='noise' if cells is None else f'{cells[0]}x{cells[1]}',
                              border_share=round(border_share(scores), 3), ms=ms, same_labels=same,
                              speedup=round(ms['official (upsample, exp, max)'] / ms['labels only'], 2),
                              load_average=[round(v, 2) for v in os.getloadavg()])), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
