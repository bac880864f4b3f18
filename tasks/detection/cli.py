"""``hrvision data synth-coco-det`` (registered in :data:`hrvision.registry.CLI_COMMANDS`; the speed benchmark is
``benchmarks/det_speed.py``)."""
from __future__ import annotations

import argparse

from hrvision.cli_args import positive_int, synth_command
from hrvision.errors import InputError

from .synth import write_synthetic


def _sides(p: argparse.ArgumentParser) -> None:
    p.add_argument('--min-size', type=positive_int, default=128, help='smallest image side')
    p.add_argument('--max-size', type=positive_int, default=192, help='largest image side')


def _size(args: argparse.Namespace) -> dict:
    """The writer's ``size`` range from the two flags, checked before anything is written."""
    if args.min_size > args.max_size:
        raise InputError(f'--min-size {args.min_size} is larger than --max-size {args.max_size} (image sides are '
                         'drawn between the two)')
    return dict(size=(args.min_size, args.max_size))


synth_command('synth-coco-det', 'synthetic shapes in the COCO instances format', write_synthetic, n_train=64,
              n_val=None, size=None, what='train2017/, val2017/, annotations/', n_train_aliases=('--n',),
              extra=_sides, extra_kwargs=_size)
