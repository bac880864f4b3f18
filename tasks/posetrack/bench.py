"""``hrvision bench posetrack``: every sequence of a split -> top-down poses per frame -> track ids ->
prediction files (2018 format) -> the official protocol's table (the article's Table 3) + annotated videos."""
from __future__ import annotations

import argparse
import os
import os.path as osp

from hrvision.outdir import out_dir_run

from .evaluate import evaluate
from .formats import read_dir, write_video
from .video import VideoPoseTracker, read_detections, write_mp4


def _joints(args: argparse.Namespace) -> str:
    if args.joints:
        return args.joints
    if str(args.config).endswith('.py'):
        from hrvision.engine.config_checks import load_config_file
        return load_config_file(args.config).get('posetrack_joints', 'coco')
    return 'coco'


def run_bench(args: argparse.Namespace) -> dict:
    gt = read_dir(osp.join(args.data_root, 'annotations', args.split))
    names = sorted(gt)[:args.max_videos] if args.max_videos else sorted(gt)
    gt = {n: gt[n] for n in names}
    dets = None
    if not args.det_config:
        path = args.boxes or osp.join(args.data_root, 'detections', f'{args.split}.json')
        dets = read_detections(path)
    info = dict(command='hrvision bench posetrack', config=args.config, checkpoint=args.checkpoint)
    with out_dir_run(args.out, args.overwrite, **info):   # locked; the final manifest however the run ends
        return _estimate_track_evaluate(args, gt, names, dets)


def _estimate_track_evaluate(args, gt: dict, names: list, dets) -> dict:
    from hrvision.inference import Inferencer
    pose = Inferencer(args.config, args.checkpoint, device=args.device)
    detector = Inferencer(args.det_config, args.det_checkpoint, device=args.device) if args.det_config else None
    runner = VideoPoseTracker(pose, detector, joints=_joints(args), propagate=not args.no_propagate,
                              kpt_thr=args.kpt_thr, det_score_thr=args.det_score_thr, det_label=args.det_label,
                              tracker=dict(thr=args.track_thr))
    pred_dir, vid_dir = osp.join(args.out, 'predictions'), osp.join(args.out, 'videos')
    os.makedirs(pred_dir, exist_ok=True)
    os.makedirs(vid_dir, exist_ok=True)
    for name in names:
        pictures: list = []
        frames = runner.run(gt[name], args.data_root, dets, pictures)
        write_video(osp.join(pred_dir, f'{name}.json'), name, frames)
        write_mp4(osp.join(vid_dir, f'{name}.mp4'), pictures)
    preds = read_dir(pred_dir, predictions=True)
    return evaluate(gt, preds)
