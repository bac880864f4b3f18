"""``hrvision data synth-wflw`` and ``hrvision bench wflw`` (registered in :data:`hrvision.registry.CLI_COMMANDS`)."""
from __future__ import annotations

import argparse

from hrvision.cli_args import bench_command, synth_command

from . import bench
from .synth import write_synthetic


def _csv(p: argparse.ArgumentParser) -> None:
    p.add_argument('--csv', action='store_true', help='also write the HRNet CSV form to OUT/hrnet_csv/')
    p.add_argument('--landmarks', type=int, choices=(68, 98), default=98, metavar='N',
                   help='98: WFLW release layout (default); 68: a custom 300W-style set in the WFLW list format '
                        '(OUT/images/, OUT/annotations/{train,test}.txt, OUT/metainfo.json with left_/right_ names; '
                        'configs/face/demo_custom_68.py)')


synth_command('synth-wflw', 'synthetic faces with 98 landmarks in the WFLW release layout (--landmarks 68: a custom '
              'set)', write_synthetic,
              n_train=256, n_val=64, size=(160, 160), what='WFLW_images/, WFLW_annotations/',
              n_train_aliases=('--train',), n_val_aliases=('--test',),
              size_help='nominal image size, HxW or one side', extra=_csv,
              extra_kwargs=lambda args: dict(write_csv=args.csv, landmarks=args.landmarks))
bench_command('wflw', 'NME / FR@0.10 / AUC@0.10 on WFLW test and its six subsets', bench.add_arguments, bench.run)
