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


def _mat_version(p: argparse.ArgumentParser) -> None:
    p.add_argument('--mat-version', choices=('5', '7.3'), default='5',
                   help="the .mat files' MATLAB version: 5 (scipy.io, what the official loader reads; default) or 7.3 "
                        '(HDF5, needs h5py)')


def _official_synth() -> None:
    """``hrvision data synth-300w|synth-cofw|synth-aflw`` (tasks/face/official_synth.py); ``--n`` = ``--n-train``."""
    from .official_synth import write_300w, write_aflw, write_cofw
    for name, help_, writer, what, extra in (
            ('300w', 'synthetic faces with 68 landmarks in the 300W formats (.pts release folders, official CSVs)',
             write_300w, 'images/<release folders>/*.jpg + .pts, face_landmarks_300w_*.csv', None),
            ('cofw', 'synthetic faces with 29 landmarks in the COFW formats (COFW_*_color.mat, CSVs)', write_cofw,
             'COFW_{train,test}_color.mat, images/, face_landmarks_cofw_*.csv', _mat_version),
            ('aflw', 'synthetic faces with 19 landmarks in the AFLW CSV format (box_size; full and frontal test)',
             write_aflw, 'images/, face_landmarks_aflw_{train,test,test_frontal}.csv', None)):
        synth_command(f'synth-{name}', help_, writer, n_train=64, n_val=None, size=(160, 160), what=what,
                      n_train_aliases=('--n', '--train'), n_val_aliases=('--test',),
                      size_help='nominal image size, HxW or one side', extra=extra,
                      extra_kwargs=(lambda args: dict(mat_version=args.mat_version)) if extra else None)


_official_synth()


def _official_bench() -> None:
    """``hrvision bench 300w|cofw|aflw`` (tasks/face/official_bench.py)."""
    from . import official_bench
    for name, what in (('300w', 'full / common / challenging'), ('cofw', 'test'), ('aflw', 'full / frontal')):
        bench_command(name, f'NME / FR@0.08 / FR@0.10 / AUC on the {name.upper()} test set per subset ({what}), laid '
                      'out as the official face test prints it', official_bench.add_arguments,
                      official_bench.runner_for(name))


_official_bench()
