"""Segmentation speed: training images/s + peak memory, inference images/s, data pipeline images/s per worker.

Every row names device, dtype (fp32 or AMP), memory layout, batch and size. Defaults are the official
Cityscapes sizes (W48, train crops 512x1024, inference 1024x2048) on CUDA; on this 2-core CPU use
small settings, e.g.

    python benchmarks/seg_speed.py --device cpu --arch hrnet_w18_small_v1 --train-size 256 512 \
        --infer-size 512 1024 --batch 2 --iters 3
    python benchmarks/seg_speed.py --device cuda            # W48, 512x1024 train bs 3, 1024x2048 inference

Each row (train or inference, per dtype and layout) runs in its own fresh process, so its peak memory is its own:
on CPU the peak RSS of that process (it includes Python, torch and the model, about the "baseline" column: RSS
after imports and model build, before the first step), on CUDA ``max_memory_allocated`` of that process.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from hrvision.backbones.hrnet import VARIANTS
from hrvision.registry import MODELS
from hrvision.timing import synchronize


def build(arch: str, device: str, channels_last: bool):
    ch = VARIANTS[arch]['STAGE4']['NUM_CHANNELS']
    model = MODELS.build(dict(
        type='SegmentationModel',
        data_preprocessor=dict(type='HRVDataPreprocessor', channels_last=channels_last),
        backbone=dict(type='HRNet', arch=arch, upsample_mode='bilinear', align_corners=False),
        neck=dict(type='HRNetV2Concat', in_channels=ch, mode='bilinear', align_corners=False),
        head=dict(type='SegmentationHead', in_channels=sum(ch), num_classes=19, align_corners=False)))
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def _sync(device):
    synchronize(device)   # the device timed (cuda:1 too), not the current one


def _cuda(device) -> bool:
    """``cuda``, ``cuda:1``, ... (a test for ``== 'cuda'`` took ``cuda:1`` for the CPU)."""
    return torch.device(device).type == 'cuda'


def _peak_mb(device) -> float:
    if _cuda(device):
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak RSS (KiB -> MiB)


def _rss_mb() -> float:
    """Current RSS (Linux ``/proc``); NaN elsewhere."""
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2 ** 20
    except OSError:
        return float('nan')


def train_speed(model, device, size, batch, amp, iters, warmup) -> tuple[float, float]:
    from hrvision.structures import DataSample
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randint(0, 255, (batch, 3, *size), dtype=torch.uint8)
    samples = [DataSample(gt_sem_seg=torch.randint(0, 19, size)) for _ in range(batch)]
    data = model.data_preprocessor({'inputs': x, 'data_samples': samples}, True)
    dtype = torch.float16 if _cuda(device) else torch.bfloat16
    scaler = torch.amp.GradScaler(enabled=amp and _cuda(device))
    model.train()
    times = []
    for i in range(warmup + iters):
        t = time.perf_counter()
        with torch.autocast(device_type=torch.device(device).type, dtype=dtype, enabled=amp):
            loss = sum(model(**data, mode='loss').values())
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return batch / statistics.median(times), _peak_mb(device)


@torch.inference_mode()
def infer_speed(model, device, size, amp, iters, warmup) -> float:
    model.eval()
    x = model.data_preprocessor({'inputs': torch.randint(0, 255, (1, 3, *size), dtype=torch.uint8)})['inputs']
    dtype = torch.float16 if _cuda(device) else torch.bfloat16
    times = []
    for i in range(warmup + iters):
        t = time.perf_counter()
        with torch.autocast(device_type=torch.device(device).type, dtype=dtype, enabled=amp):
            model.head.upsample(model(x), size).argmax(1)
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return 1 / statistics.median(times)


def pipeline_speed(n: int = 4, size=(1024, 2048)) -> float:
    """Official train pipeline on 1024x2048 images in one process (= one dataloader worker)."""
    from hrvision.tasks.segmentation.dataset import CityscapesDataset
    from hrvision.tasks.segmentation import synth as seg_synth
    with tempfile.TemporaryDirectory() as root:
        seg_synth.write_synthetic(root, n_train=n, n_val=0, size=size, seed=0)
        ds = CityscapesDataset(root, 'train', pipeline=[
            dict(type='LoadCityscapes'), dict(type='RandomRescale', base_size=2048, scale_range=(0.5, 2.1)),
            dict(type='PadRandomCrop', crop_size=(512, 1024)), dict(type='SegmentationRandomFlip'),
            dict(type='PackSegmentationInputs')])
        ds[0]
        t = time.perf_counter()
        reps = 3 * n
        for i in range(reps):
            ds[i % n]
        return reps / (time.perf_counter() - t)


def run_row(args, mode: str, amp: bool, channels_last: bool) -> dict:
    """One row, measured in this (fresh) process."""
    dev = args.device
    model = build(args.arch, dev, channels_last)
    if _cuda(dev):
        torch.cuda.reset_peak_memory_stats(dev)
    baseline = torch.cuda.memory_allocated(dev) / 2 ** 20 if _cuda(dev) else _rss_mb()
    if mode == 'train':
        ips, mem = train_speed(model, dev, tuple(args.train_size), args.batch, amp, args.iters, args.warmup)
        batch, size = args.batch, args.train_size
    else:
        ips, mem = infer_speed(model, dev, tuple(args.infer_size), amp, args.iters, args.warmup), _peak_mb(dev)
        batch, size = 1, args.infer_size
    return dict(mode=mode, dtype=('fp16 AMP' if _cuda(dev) else 'bf16 AMP') if amp else 'fp32',
                layout='channels_last' if channels_last else 'NCHW', batch=batch, size=f'{size[0]}x{size[1]}',
                images_s=ips, peak_mb=mem, baseline_mb=baseline)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--arch', default='hrnet_w48')
    p.add_argument('--train-size', nargs=2, type=int, default=[512, 1024])
    p.add_argument('--infer-size', nargs=2, type=int, default=[1024, 2048])
    p.add_argument('--batch', type=int, default=3)
    p.add_argument('--iters', type=int, default=10)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--skip-pipeline', action='store_true')
    p.add_argument('--row', nargs=3, metavar=('MODE', 'AMP', 'CHANNELS_LAST'), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = args.device
    if args.row:   # child: one row, one JSON line
        mode, amp, cl = args.row
        print(json.dumps(run_row(args, mode, amp == '1', cl == '1')))
        return
    name = torch.cuda.get_device_name(dev) if _cuda(dev) else f'CPU, {args.threads} threads'
    print(f'# {args.arch} segmentation speed on {name}; torch {torch.__version__}; eager; median of {args.iters} runs; '
          f'each row in a fresh process')
    print('| mode | dtype | layout | batch | size | images/s | peak memory MiB | baseline MiB |')
    print('|---|---|---|---|---|---|---|---|')
    passed = list(argv if argv is not None else sys.argv[1:])
    for amp in (False, True):
        for cl in (False, True):
            for mode in ('train', 'inference'):
                out = subprocess.run([sys.executable, os.path.abspath(__file__), *passed, '--skip-pipeline',
                                      '--row', mode, str(int(amp)), str(int(cl))],
                                     capture_output=True, text=True, check=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                print(f"| {r['mode']} | {r['dtype']} | {r['layout']} | {r['batch']} | {r['size']} | "
                      f"{r['images_s']:.2f} | {r['peak_mb']:.0f} | {r['baseline_mb']:.0f} |", flush=True)
    if not args.skip_pipeline:
        print(f'\ndata pipeline (official train transforms, 1024x2048 PNG in): {pipeline_speed():.2f} images/s per worker')


if __name__ == '__main__':
    main()
