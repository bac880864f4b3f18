"""``hrvision data synth-wflw`` and ``hrvision bench wflw`` (registered in :data:`hrvision.registry.CLI_COMMANDS`)."""
from __future__ import annotations

import argparse

from hrvision.cli_args import bench_command, synth_command

from . import bench
from .synth import write_synthetic


def _csv(p: argparse.ArgumentParser) -> None:
    p.add_argument('--csv', action='store_true', help='also write the HRNet CSV form to OUT/hrnet_csv/')


synth_command('synth-wflw', 'synthetic faces with 98 landmarks in the WFLW release layout', write_synthetic,
              n_train=256, n_val=64, size=(160, 160), what='WFLW_images/, WFLW_annotations/',
              n_train_aliases=('--train',), n_val_aliases=('--test',),
              size_help='nominal image size, HxW or one side', extra=_csv,
              extra_kwargs=lambda args: dict(write_csv=args.csv))
bench_command('wflw', 'NME / FR@0.10 / AUC@0.10 on WFLW test and its six subsets', bench.add_arguments, bench.run)
