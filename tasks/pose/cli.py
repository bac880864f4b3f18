"""``hrvision data synth-coco-pose`` and ``hrvision bench pose`` (runs ``benchmarks/pose_speed.py``)."""
from __future__ import annotations

import argparse
import json
import os.path as osp
import runpy


def _synth(args: argparse.Namespace) -> int:
    from .synth import write_dataset
    counts = write_dataset(args.out, n=args.n, n_val=args.n_val, seed=args.seed)
    print(json.dumps(dict(out=args.out, **counts)))
    return 0


def _bench(args: argparse.Namespace) -> int:
    script = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.realpath(__file__)))), 'benchmarks', 'pose_speed.py')
    if not osp.isfile(script):
        raise FileNotFoundError(f'benchmark script not found: {script} (run from a source checkout)')
    argv = ['--device', args.device, '--batch', str(args.batch), '--iters', str(args.iters), '--warmup',
            str(args.warmup), '--dtype', args.dtype]
    argv += ['--threads', str(args.threads)] if args.threads else []
    argv += [flag for flag, on in (('--channels-last', args.channels_last), ('--compile', args.compile),
                                   ('--no-timm', args.no_timm)) if on]
    runpy.run_path(script)['main'](argv)
    return 0


def register(data_sub, bench_sub) -> None:
    p = data_sub.add_parser('synth-coco-pose', help='synthetic stick figures in the COCO keypoint format')
    p.add_argument('out', help='output folder (train/, val/, annotations/)')
    p.add_argument('--n', type=int, default=64, help='training images')
    p.add_argument('--n-val', type=int, default=None, help='validation images (default n//4, >= 4)')
    p.add_argument('--seed', type=int, default=0)
    p.set_defaults(func=_synth)
    p = bench_sub.add_parser('pose', help='W32 256x192 inference with flip test: images/s (vs timm hrnet_w32)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--iters', type=int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16', 'float16'])
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--compile', action='store_true')
    p.add_argument('--no-timm', action='store_true')
    p.set_defaults(func=_bench)
