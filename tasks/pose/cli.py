"""``hrvision data synth-coco-pose`` / ``synth-mpii``, ``hrvision eval mpii`` and ``hrvision bench pose``
(registered in :data:`hrvision.registry.CLI_COMMANDS`)."""
from __future__ import annotations

import argparse
import json

from hrvision.cli_args import bench_command, existing_file, synth_command
from hrvision.registry import CLI_COMMANDS

from . import ablations, bench
from .mpii_synth import write_mpii_synthetic
from .synth_custom import write_pose_synthetic


def _keypoints_flag(p) -> None:
    p.add_argument('--keypoints', choices=('coco', 'custom12'), default='coco',
                   help="coco: the 17 COCO joints; custom12: a file with its own 12-keypoint category (scrambled "
                        "order, asymmetric skeleton, custom sigmas in annotations/metainfo.json)")


synth_command('synth-coco-pose', 'synthetic stick figures in the COCO keypoint format', write_pose_synthetic,
              n_train=64, n_val=None, size=(160, 192), what='train/, val/, annotations/', n_train_aliases=('--n',),
              extra=_keypoints_flag, extra_kwargs=lambda a: dict(keypoints=a.keypoints))
synth_command('synth-mpii', 'synthetic stick figures in the official MPII layout (annot/*.json, gt_valid.mat)',
              write_mpii_synthetic, n_train=32, n_val=None, size=(160, 160),
              what='images/, annot/{train,valid,test}.json, annot/gt_valid.mat', n_train_aliases=('--n',))


def _eval_mpii(args: argparse.Namespace) -> int:
    """Score a server-format ``pred.mat`` against the official ``gt_valid.mat``: the official table, then one JSON
    line with every figure."""
    from .mpii_metric import format_table, load_gt_mat, pckh, read_pred_mat
    gt = load_gt_mat(args.gt, 'hrvision eval mpii')
    preds = read_pred_mat(args.pred, gt['pos_gt_src'].shape[-1])
    table, _ = pckh(preds, gt, thr=args.thr, low_thr=args.low_thr)
    print(format_table(table, args.arch))
    print(json.dumps({k: (None if v != v else v) for k, v in table.items()}))
    return 0


@CLI_COMMANDS.register('eval', 'mpii', 'MPII PCKh (official protocol, head boxes of gt_valid.mat) of a pred.mat')
def _configure_eval_mpii(p: argparse.ArgumentParser) -> None:
    p.add_argument('pred', help='pred.mat: "preds" N x 16 x 2, 1-based pixels, annotation file order (hrvision test '
                                '--out DIR writes DIR/pred.mat)')
    p.add_argument('gt', type=existing_file, help='the official annot/gt_valid.mat (or synth-mpii\'s)')
    p.add_argument('--thr', type=float, default=0.5, help='PCKh threshold of the rows and Mean (default 0.5)')
    p.add_argument('--low-thr', type=float, default=None,
                   help='Mean@0.1 threshold (default: the official code\'s 0.11, see tasks/pose/mpii_metric.py)')
    p.add_argument('--arch', default='pose_hrnet', help='the Arch column of the table')
    p.set_defaults(func=_eval_mpii)


bench_command('pose', 'W32 256x192 inference with flip test: images/s (vs timm hrnet_w32)', bench.add_arguments,
              bench.run)
bench_command('ablation-resolution', "the article's output-resolution ablation: train + AP per 1x/2x/4x/8x heatmaps "
              '(table + PNG)', ablations.add_resolution_arguments, ablations.run_resolution)
bench_command('ablation-exchange', "the article's exchange-unit ablation: train + AP per HRNet exchange= final/across/"
              'full (table + PNG)', ablations.add_exchange_arguments, ablations.run_exchange)
