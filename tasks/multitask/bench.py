"""Images/s of one three-head multi-task HRNet against the three single-task models run one after another.

Same input batch for all; every model in eval mode under ``torch.inference_mode`` and returns its raw outputs
(``mode='tensor'``: seg logits, whole-image keypoint heatmaps, FCOS dense outputs; no NMS, no decoding), so the
difference is the shared backbone.

    hrvision bench multitask --arch hrnet_w32 --size 256 --batch 2 --iters 3      # CPU
    hrvision bench multitask --device cuda --size 512 --batch 8 --iters 20
    python benchmarks/multitask_speed.py ...                                       # the same, same flags
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from hrvision.cli_args import positive_int
from hrvision.timing import synchronizer


def build_models(arch: str, num_classes: int = 2, det_classes: int = 5):
    from hrvision.engine.preprocessor import HRVDataPreprocessor
    from hrvision.tasks.detection.model import DetectionModel
    from hrvision.tasks.pose.model import PoseModel
    from hrvision.tasks.segmentation.model import SegmentationModel

    from .model import MultiTaskModel
    seg_bb = dict(type='HRNet', arch=arch, upsample_mode='bilinear', align_corners=False)
    det_kw = dict(kind='fcos', num_classes=det_classes)
    neck = dict(out_channels=256, num_outs=5, stride=2)
    from hrvision.backbones.hrnet import HRNet
    chans = HRNet(arch=arch).out_channels
    seg = SegmentationModel(backbone=seg_bb, neck=dict(type='HRNetV2Concat', in_channels=chans),
                            head=dict(type='SegmentationHead', in_channels=sum(chans), num_classes=num_classes))
    pose = PoseModel(backbone=dict(type='HRNet', arch=arch, multi_scale_output=False, out_indices=(0,)),
                     head=dict(type='PoseHead', num_keypoints=17))
    # DetectionModel builds a preprocessor dict from mmengine's root registry (no scope here): pass the module
    det = DetectionModel(backbone=dict(arch=arch, upsample_mode='bilinear', align_corners=False), neck=neck,
                        detector=det_kw, data_preprocessor=HRVDataPreprocessor())
    multi = MultiTaskModel(backbone=seg_bb, heads=dict(
        seg=dict(type='SegmentationHead', num_classes=num_classes),
        pose=dict(type='PoseHead', num_keypoints=17),
        det=dict(type='DetectionHead', neck=neck, **det_kw)))
    return {'seg': seg, 'pose': pose, 'det': det}, multi


def _time(fn, warmup: int, iters: int, sync) -> float:
    for _ in range(warmup):
        fn()
    sync()
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    sync()
    return time.perf_counter() - t


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``hrvision bench multitask`` and ``benchmarks/multitask_speed.py`` (one definition)."""
    p.add_argument('--arch', default='hrnet_w32')
    p.add_argument('--device', default='cpu')
    p.add_argument('--size', type=positive_int, default=256, help='square input side')
    p.add_argument('--batch', type=positive_int, default=2)
    p.add_argument('--iters', type=positive_int, default=3)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--repeats', type=positive_int, default=2, help='alternating rounds; the best of each is reported')
    p.add_argument('--threads', type=int, default=None)


def run(args: argparse.Namespace) -> dict:
    """Time both, print one JSON line; returns it as a dict."""
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    sync = synchronizer(dev)
    singles, multi = build_models(args.arch)
    for m in (*singles.values(), multi):
        m.to(dev).eval()
    x = torch.randn(args.batch, 3, args.size, args.size, device=dev)

    def run_singles():
        for m in singles.values():
            m(x)

    with torch.inference_mode():
        run_singles(), multi(x)                        # first calls (allocations, oneDNN primitives)
        # alternate the two and keep each one's best round: a shared machine's load changes over time
        t_single = t_multi = float('inf')
        for _ in range(args.repeats):
            t_single = min(t_single, _time(run_singles, args.warmup, args.iters, sync))
            t_multi = min(t_multi, _time(lambda: multi(x), args.warmup, args.iters, sync))
        per_task = {k: _time(lambda m=m: m(x), 0, args.iters, sync) for k, m in singles.items()}
    n = args.batch * args.iters
    out = dict(arch=args.arch, device=str(dev), size=args.size, batch=args.batch, iters=args.iters,
               repeats=args.repeats,
               threads=torch.get_num_threads(), dtype='float32', layout='NCHW', mode='eager',
               multitask_img_s=round(n / t_multi, 3), three_single_img_s=round(n / t_single, 3),
               speedup=round(t_single / t_multi, 3),
               single_img_s={k: round(n / v, 3) for k, v in per_task.items()},
               params_m=dict(multitask=round(sum(p.numel() for p in multi.parameters()) / 1e6, 2),
                             three_single=round(sum(p.numel() for m in singles.values() for p in m.parameters())
                                                / 1e6, 2)))
    print(json.dumps(out))
    return out



def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))
