"""``hrvision data synth-coco-det`` (the speed benchmark is ``benchmarks/det_speed.py``)."""
from __future__ import annotations

import argparse


def _synth(args: argparse.Namespace) -> int:
    from .synth import make_synthetic_coco
    paths = make_synthetic_coco(args.out, n=args.n, seed=args.seed, n_val=args.n_val,
                                size_range=(args.min_size, args.max_size))
    for split, p in paths.items():
        print(f'{split}: {p}')
    return 0


def register(data_sub, bench_sub) -> None:
    from hrvision.cli import positive_int
    p = data_sub.add_parser('synth-coco-det', help='synthetic shapes in the COCO instances format')
    p.add_argument('out', help='output folder (train2017/, val2017/, annotations/)')
    p.add_argument('--n', type=positive_int, default=64, help='training images')
    p.add_argument('--n-val', type=positive_int, default=None, help='validation images (default n//4, >= 4)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--min-size', type=positive_int, default=128, help='smallest image side')
    p.add_argument('--max-size', type=positive_int, default=192, help='largest image side')
    p.set_defaults(func=_synth)
