"""Pose inference speed: HRNet-W32 256x192 top-down with the official flip test, images/s.

Rows (same process, same threads, same inputs):
  * hrvision PoseModel W32, flip test (original + flipped in one forward, flip-back/shift/average)
  * hrvision PoseModel W32, no flip
  * timm ``hrnet_w32`` ``features_only`` (raw branches) on 2N images: the backbone cost of a flip test in timm
  * timm ``hrnet_w32`` ``features_only`` on N images

Decoding (batch argmax + quarter shift + inverse affine) is included in the hrvision rows.

Usage: hrvision bench pose [--device cpu|cuda] [--batch 8] [--iters 5] [--channels-last]
       [--dtype float32|bfloat16|float16] [--threads N] [--no-timm] [--compile]
(``python benchmarks/pose_speed.py`` takes the same flags.)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch

from hrvision.cli_args import positive_int
from hrvision.errors import InputError
from hrvision.timing import synchronize


def _sync(device: str) -> None:
    synchronize(device)   # the device timed (cuda:1 too), not the current one


def time_rows(fns: dict, device: str, warmup: int, iters: int) -> dict:
    """Median wall and CPU (process) seconds per call, the rows interleaved round-robin so that load
    changes on a shared machine hit every row alike. CPU seconds are the robust figure on a busy CPU."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    _sync(device)
    wall = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    for _ in range(iters):
        for k, fn in fns.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            _sync(device)
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    return {k: (float(np.median(wall[k])), float(np.median(cpu[k]))) for k in fns}


def cpu_name() -> str:
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build_pose(device: str, dtype: torch.dtype, channels_last: bool):
    from hrvision.backbones.hrnet import HRNet
    from hrvision.heads.pose import PoseHead
    from .model import PoseModel
    backbone = HRNet(arch='hrnet_w32', multi_scale_output=False, out_indices=(0,), upsample_mode='nearest')
    model = PoseModel(backbone, PoseHead(32, 17), codec=dict(input_size=(192, 256), heatmap_size=(48, 64)),
                      test_cfg=dict(channels_last=channels_last)).eval().to(device, dtype)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``hrvision bench pose`` and ``benchmarks/pose_speed.py`` (one definition)."""
    p.add_argument('--device', default='cpu')
    p.add_argument('--batch', type=positive_int, default=8)
    p.add_argument('--iters', type=positive_int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16', 'float16'])
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--compile', action='store_true', help='torch.compile the networks')
    p.add_argument('--no-timm', action='store_true')


def run(args: argparse.Namespace) -> dict:
    """Time the rows, print the info JSON line and the markdown table; returns both."""
    if args.threads:
        torch.set_num_threads(args.threads)
    dev, dtype = args.device, getattr(torch, args.dtype)
    if dev.startswith('cuda') and not torch.cuda.is_available():
        raise InputError('--device cuda requested but CUDA is not available')
    torch.manual_seed(0)
    n = args.batch
    x = torch.randn(n, 3, 256, 192, device=dev, dtype=dtype)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    center = np.tile([[96.0, 128.0]], (n, 1)).astype(np.float32)
    scale = np.tile([[1.2, 1.6]], (n, 1)).astype(np.float32)
    model = build_pose(dev, dtype, args.channels_last)
    net = torch.compile(model.heatmaps) if args.compile else model.heatmaps

    from hrvision.data.metainfo import parse_metainfo
    flip_idx = parse_metainfo(dict(from_file='_base_/datasets/coco.py'), 'pose bench')['flip_indices']

    def pose(flip: bool):
        def run():
            with torch.inference_mode():
                if flip:
                    both = net(torch.cat([x, x.flip(3)]))
                    hm = model.head.flip_average(both[:n], both[n:], flip_idx)
                else:
                    hm = net(x)
                model.codec.decode(hm.float(), center, scale)
        return run

    fns = {'hrvision W32 pose, flip test': pose(True), 'hrvision W32 pose, no flip': pose(False)}
    if not args.no_timm:
        import timm
        t = timm.create_model('hrnet_w32', pretrained=False, features_only=True, feature_location='').eval().to(dev, dtype)
        if args.channels_last:
            t = t.to(memory_format=torch.channels_last)
        tnet = torch.compile(t) if args.compile else t
        x2 = torch.cat([x, x.flip(3)])

        def timm_run(inp):
            def run():
                with torch.inference_mode():
                    tnet(inp)
            return run
        fns['timm hrnet_w32 features, 2N (flip cost)'] = timm_run(x2)
        fns['timm hrnet_w32 features, N'] = timm_run(x)
    timings = time_rows(fns, dev, args.warmup, args.iters)
    rows = [dict(model=k, images=n, sec_per_batch=w, cpu_sec_per_batch=c, images_per_s=n / w,
                 images_per_cpu_s=n / c) for k, (w, c) in timings.items()]
    info = dict(device=dev if not dev.startswith('cuda') else torch.cuda.get_device_name(dev), cpu=cpu_name(), cores=os.cpu_count(),
                threads=torch.get_num_threads(), dtype=args.dtype, channels_last=args.channels_last,
                compiled=args.compile, batch=n, input='256x192', torch=torch.__version__)
    print(json.dumps(info))
    print(f'| {"model":<42} | images/s (wall) | images per CPU-s | wall s/batch | CPU s/batch |')
    print(f'|{"-" * 44}|----------------:|-----------------:|-------------:|------------:|')
    for r in rows:
        print(f'| {r["model"]:<42} | {r["images_per_s"]:15.2f} | {r["images_per_cpu_s"]:16.2f} | '
              f'{r["sec_per_batch"]:12.3f} | {r["cpu_sec_per_batch"]:11.3f} |')
    return dict(info=info, rows=rows)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))
