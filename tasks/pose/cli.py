"""``hrvision data synth-coco-pose`` and ``hrvision bench pose`` (registered in :data:`hrvision.registry.CLI_COMMANDS`)."""
from __future__ import annotations

from hrvision.cli_args import bench_command, synth_command

from . import bench
from .synth import write_synthetic

synth_command('synth-coco-pose', 'synthetic stick figures in the COCO keypoint format', write_synthetic,
              n_train=64, n_val=None, size=(160, 192), what='train/, val/, annotations/', n_train_aliases=('--n',))
bench_command('pose', 'W32 256x192 inference with flip test: images/s (vs timm hrnet_w32)', bench.add_arguments,
              bench.run)
