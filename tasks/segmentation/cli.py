"""``hrvision data synth-cityscapes``."""
from __future__ import annotations

import argparse


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f'--size must look like HxW (e.g. 128x256), got {text!r}') from e
    return h, w


def _synth(args: argparse.Namespace) -> int:
    from .synth import synth_cityscapes
    counts = synth_cityscapes(args.out, train=args.train, val=args.val, size=args.size, seed=args.seed)
    print(f'wrote synthetic Cityscapes to {args.out}: {counts}')
    return 0


def register(data_sub, bench_sub) -> None:
    from hrvision.cli import positive_int
    p = data_sub.add_parser('synth-cityscapes', help='synthetic street scenes in the Cityscapes layout')
    p.add_argument('out')
    p.add_argument('--train', type=positive_int, default=24)
    p.add_argument('--val', type=positive_int, default=8)
    p.add_argument('--size', type=_size, default=(128, 256), help='HxW (default 128x256)')
    p.add_argument('--seed', type=int, default=0)
    p.set_defaults(func=_synth)
