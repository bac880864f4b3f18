"""``hrvision data synth-coco-pose`` and ``hrvision bench pose`` (registered in :data:`hrvision.registry.CLI_COMMANDS`)."""
from __future__ import annotations

from hrvision.cli_args import bench_command, synth_command

from . import ablations, bench
from .synth import write_synthetic

synth_command('synth-coco-pose', 'synthetic stick figures in the COCO keypoint format', write_synthetic,
              n_train=64, n_val=None, size=(160, 192), what='train/, val/, annotations/', n_train_aliases=('--n',))
bench_command('pose', 'W32 256x192 inference with flip test: images/s (vs timm hrnet_w32)', bench.add_arguments,
              bench.run)
bench_command('ablation-resolution', "the article's output-resolution ablation: train + AP per 1x/2x/4x/8x heatmaps "
              '(table + PNG)', ablations.add_resolution_arguments, ablations.run_resolution)
bench_command('ablation-exchange', "the article's exchange-unit ablation: train + AP per HRNet exchange= final/across/"
              'full (table + PNG)', ablations.add_exchange_arguments, ablations.run_exchange)
