"""``hrvision data synth-cityscapes`` and ``hrvision demo`` (registered in :data:`hrvision.registry.CLI_COMMANDS`)."""
from __future__ import annotations

import argparse

from hrvision.cli_args import positive_int, synth_command
from hrvision.registry import CLI_COMMANDS

from .synth import write_synthetic

synth_command('synth-cityscapes', 'synthetic street scenes in the Cityscapes layout', write_synthetic,
              n_train=24, n_val=8, size=(128, 256), what='leftImg8bit/, gtFine/',
              n_train_aliases=('--train',), n_val_aliases=('--val',), size_help='HxW')


@CLI_COMMANDS.register('', 'demo', 'the main job: synthetic Cityscapes -> train -> evaluate -> pictures')
def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--iters', type=positive_int, default=None, help='training iterations (default: the demo config)')
    p.add_argument('--quick', action='store_true', help='a tiny run for smoke tests')
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from hrvision.engine.distributed import refuse_under_launcher

    from .demo import run_demo
    refuse_under_launcher('hrvision demo')   # under torchrun N copies would train into one work dir
    run_demo(work_dir=args.work_dir, iters=args.iters, quick=args.quick)
    return 0
