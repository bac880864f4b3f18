"""``hrvision data synth-posetrack``, ``hrvision eval posetrack`` and ``hrvision bench posetrack``."""
from __future__ import annotations

import argparse
import json

from hrvision.cli_args import bench_command, existing_file, positive_int, synth_command
from hrvision.registry import CLI_COMMANDS

from .synth import write_synthetic


def _nan_to_none(obj):
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    return None if isinstance(obj, float) and obj != obj else obj


def report(res: dict) -> None:
    """The table, then one JSON line with every figure (NaN -> null)."""
    from .evaluate import format_table
    print(format_table(res))
    print(json.dumps(_nan_to_none(res)))


def _eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate
    from .formats import read_dir
    gt = read_dir(args.gt_dir)
    pred = read_dir(args.pred_dir, predictions=True)
    report(evaluate(gt, pred, assign_mode=args.assign, mot_backend=args.mot_backend))
    return 0


def _configure_eval(e: argparse.ArgumentParser) -> None:
    e.add_argument('gt_dir', help='ground truth: one PoseTrack 2018 (or 2017 annolist) JSON per video')
    e.add_argument('pred_dir', help='predictions: one JSON per video, same file names as the ground truth')
    e.add_argument('--assign', choices=['poseval', 'hungarian'], default='poseval',
                   help='per-frame prediction-to-person assignment (default: the official evaluator\'s)')
    e.add_argument('--mot-backend', choices=['motmetrics', 'hrvision'], default='motmetrics',
                   help='CLEAR-MOT accumulation: motmetrics (as the official evaluator) or hrvision\'s own')
    e.set_defaults(func=_eval)


def _bench_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument('config', help='pose config (.py; configs/posetrack/*) or official experiment YAML')
    p.add_argument('checkpoint', type=existing_file)
    p.add_argument('--data-root', required=True, help='folder with annotations/<split>/ and images/')
    p.add_argument('--split', default='val')
    p.add_argument('--boxes', help='person detections (COCO results JSON; default <data-root>/detections/'
                                   '<split>.json when it exists)')
    p.add_argument('--det-config', help='hrvision detection config giving person boxes (instead of --boxes)')
    p.add_argument('--det-checkpoint')
    p.add_argument('--det-score-thr', type=float, default=0.3, help='detector boxes scoring below are dropped')
    p.add_argument('--det-label', type=int, default=0, help='the detector\'s person class (0 for COCO-trained)')
    p.add_argument('--joints', choices=['coco', 'posetrack'], default=None,
                   help='what the model predicts (default: the config\'s posetrack_joints, else coco)')
    p.add_argument('--no-propagate', action='store_true', help='no boxes propagated from the previous frame')
    p.add_argument('--kpt-thr', type=float, default=0.3, help='joints scoring below are not written')
    p.add_argument('--track-thr', type=float, default=0.3,
                   help='similarity (0.5 OKS + 0.5 IoU) a pair needs to keep an id; 1 = new ids every frame')
    p.add_argument('--out', default='work_dirs/posetrack_bench', help='predictions/, videos/ (new or empty)')
    p.add_argument('--overwrite', action='store_true')
    p.add_argument('--max-videos', type=positive_int, default=None)
    p.add_argument('--device', default=None)


def _bench(args: argparse.Namespace) -> int:
    from .bench import run_bench
    report(run_bench(args))
    return 0


synth_command('synth-posetrack', 'synthetic PoseTrack 2018 videos of moving people (tracks, entries, occlusions)',
              write_synthetic, n_train=8, n_val=None, size=(192, 256), what='images/, annotations/<split>/, '
              'detections/', extra=lambda p: p.add_argument('--frames', type=positive_int, default=12,
                                                            help='frames per video (default 12)'),
              extra_kwargs=lambda a: dict(frames=a.frames))
CLI_COMMANDS.register('eval', 'posetrack', 'PoseTrack mAP + MOTA (official protocol) of prediction files')(
    _configure_eval)
bench_command('posetrack', 'estimate + track + evaluate PoseTrack videos: the article\'s Table 3 (mAP, MOTA)',
              _bench_arguments, _bench)

