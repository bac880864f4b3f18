"""``hrvision data synth-coco-multi OUT [--n N --seed S]`` and ``hrvision bench multitask``."""
from __future__ import annotations

import argparse
import json
import os.path as osp
import runpy


def _synth(args: argparse.Namespace) -> int:
    from .synth import make_synthetic_coco_multi
    paths = make_synthetic_coco_multi(args.out, n=args.n, seed=args.seed, n_val=args.n_val,
                                      size=(args.size, args.size))
    print(json.dumps(dict(out=args.out, **paths)))
    return 0


def _bench(args: argparse.Namespace) -> int:
    script = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.realpath(__file__)))), 'benchmarks',
                      'multitask_speed.py')
    if not osp.isfile(script):
        raise FileNotFoundError(f'benchmark script not found: {script} (run from a source checkout)')
    runpy.run_path(script)['main'](['--device', args.device, '--batch', str(args.batch), '--iters', str(args.iters),
                                    '--size', str(args.size)])
    return 0


def register(data_sub, bench_sub) -> None:
    p = data_sub.add_parser('synth-coco-multi', help='synthetic people (17 joints, masks, boxes) and shapes, '
                                                    'COCO instances + person_keypoints files')
    p.add_argument('out', help='output folder (train2017/, val2017/, annotations/)')
    p.add_argument('--n', type=int, default=64, help='training images')
    p.add_argument('--n-val', type=int, default=None, help='validation images (default n//4, >= 4)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--size', type=int, default=128, help='square image side (pixels)')
    p.set_defaults(func=_synth)
    p = bench_sub.add_parser('multitask', help='three-head model vs three single-task models: images/s')
    p.add_argument('--device', default='cpu')
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--iters', type=int, default=3)
    p.add_argument('--size', type=int, default=512)
    p.set_defaults(func=_bench)
