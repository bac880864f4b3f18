"""``hrvision data synth-coco-multi`` and ``hrvision bench multitask`` (registered in
:data:`hrvision.registry.CLI_COMMANDS`)."""
from __future__ import annotations

from hrvision.cli_args import bench_command, synth_command

from . import bench
from .synth import write_synthetic

synth_command('synth-coco-multi', 'synthetic people (17 joints, masks, boxes) and shapes, COCO instances + '
              'person_keypoints files', write_synthetic, n_train=64, n_val=None, size=(128, 128),
              what='train2017/, val2017/, annotations/', n_train_aliases=('--n',))
bench_command('multitask', 'three-head model vs three single-task models: images/s', bench.add_arguments, bench.run)
