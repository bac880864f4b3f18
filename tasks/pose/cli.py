"""``hrvision data synth-coco-pose`` and ``hrvision bench pose`` (registered in :data:`hrvision.registry.CLI_COMMANDS`)."""
from __future__ import annotations

from hrvision.cli_args import bench_command, synth_command

from . import ablations, bench
from .synth_custom import write_pose_synthetic


def _keypoints_flag(p) -> None:
    p.add_argument('--keypoints', choices=('coco', 'custom12'), default='coco',
                   help="coco: the 17 COCO joints; custom12: a file with its own 12-keypoint category (scrambled "
                        "order, asymmetric skeleton, custom sigmas in annotations/metainfo.json)")


synth_command('synth-coco-pose', 'synthetic stick figures in the COCO keypoint format', write_pose_synthetic,
              n_train=64, n_val=None, size=(160, 192), what='train/, val/, annotations/', n_train_aliases=('--n',),
              extra=_keypoints_flag, extra_kwargs=lambda a: dict(keypoints=a.keypoints))
bench_command('pose', 'W32 256x192 inference with flip test: images/s (vs timm hrnet_w32)', bench.add_arguments,
              bench.run)
bench_command('ablation-resolution', "the article's output-resolution ablation: train + AP per 1x/2x/4x/8x heatmaps "
              '(table + PNG)', ablations.add_resolution_arguments, ablations.run_resolution)
bench_command('ablation-exchange', "the article's exchange-unit ablation: train + AP per HRNet exchange= final/across/"
              'full (table + PNG)', ablations.add_exchange_arguments, ablations.run_exchange)
