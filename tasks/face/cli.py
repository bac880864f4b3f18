"""``hrvision data synth-wflw`` and ``hrvision bench wflw``."""
from __future__ import annotations

import argparse


def _synth(args: argparse.Namespace) -> int:
    from .synth import make_synth_wflw
    if args.train < 1 or args.test < 1:
        raise ValueError(f'--train and --test must be >= 1, got {args.train} and {args.test}')
    counts = make_synth_wflw(args.out, n_train=args.train, n_test=args.test, seed=args.seed,
                             size=(args.size, args.size), write_csv=args.csv)
    print(f'wrote synthetic WFLW to {args.out}: {counts}')
    return 0


def _bench(args: argparse.Namespace) -> int:
    import sys

    from hrvision.weights import CheckpointError

    from .bench import run_wflw_bench
    try:
        run_wflw_bench(args.config, args.checkpoint, args.data_root, args.out, num_vis=args.num_vis,
                       device=args.device)
    except CheckpointError as e:
        print(f'hrvision: error: {e}', file=sys.stderr)
        return 2
    return 0


def register(data_sub, bench_sub) -> None:
    p = data_sub.add_parser('synth-wflw', help='synthetic faces with 98 landmarks in the WFLW release layout')
    p.add_argument('out', help='output folder (WFLW_images/, WFLW_annotations/)')
    p.add_argument('--train', type=int, default=256, help='training faces')
    p.add_argument('--test', type=int, default=64, help='test faces (each of the six subsets gets >= 1 if >= 6)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--size', type=int, default=160, help='nominal image side in pixels')
    p.add_argument('--csv', action='store_true', help='also write the HRNet CSV form to OUT/hrnet_csv/')
    p.set_defaults(func=_synth)

    p = bench_sub.add_parser('wflw', help='NME / FR@0.10 / AUC@0.10 on WFLW test and its six subsets')
    p.add_argument('--config', required=True, help='mmengine config (e.g. configs/face/hrnetv2_w18_wflw.py)')
    p.add_argument('--checkpoint', default=None,
                   help='hrvision/runner checkpoint or official state dict (HR18-WFLW.pth); omit to score the '
                        'untrained initialisation (a baseline)')
    p.add_argument('--data-root', default=None, help='WFLW root (default: the config\'s data_root)')
    p.add_argument('--out', default=None, help='folder for wflw_results.json, wflw_table.txt, ced.png, landmarks.png')
    p.add_argument('--num-vis', type=int, default=8, help='faces in landmarks.png')
    p.add_argument('--device', default=None, help='cpu / cuda (default: cuda when available)')
    p.set_defaults(func=_bench)
