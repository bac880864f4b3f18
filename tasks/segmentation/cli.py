"""``hrvision data synth-cityscapes``, ``hrvision data synth-seg`` and ``hrvision demo`` (registered in
:data:`hrvision.registry.CLI_COMMANDS`)."""
from __future__ import annotations

import argparse

from hrvision.cli_args import positive_int, synth_command
from hrvision.registry import CLI_COMMANDS

from .synth import write_folder_dataset, write_synthetic

synth_command('synth-cityscapes', 'synthetic street scenes in the Cityscapes layout', write_synthetic,
              n_train=24, n_val=8, size=(128, 256), what='leftImg8bit/, gtFine/',
              n_train_aliases=('--train',), n_val_aliases=('--val',), size_help='HxW')


def _folder_args(p: argparse.ArgumentParser) -> None:
    p.add_argument('--classes', type=positive_int, default=5, metavar='N',
                   help='number of classes, background included (default 5)')
    p.add_argument('--mask-format', choices=('color', 'index'), default='color',
                   help='masks as RGB colours of the palette (default) or as class-index PNGs')


synth_command('synth-seg', 'a small segmentation dataset in the generic folder format (SegmentationFolderDataset): '
              'images, colour or index masks, metainfo.json', write_folder_dataset, n_train=16, n_val=4,
              size=(96, 128), what='images/{train,val}/, masks/{train,val}/, metainfo.json', size_help='HxW',
              extra=_folder_args,
              extra_kwargs=lambda a: dict(num_classes=a.classes, mask_format=a.mask_format))


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
