"""Inference speed of the HRNetV2p detectors at 800x1333 (images/s), eager, batch 1.

    python benchmarks/det_speed.py                         # both COCO configs, CPU, fp32, NCHW + channels_last
    python benchmarks/det_speed.py --device cuda --dtype float16 --runs 50
    python benchmarks/det_speed.py --configs configs/detection/hrnetv2p_w32_fcos_coco.py --threads 2

The whole ``predict`` path is timed (preprocessor, HRNet, HRNetV2p, head, box decoding, NMS) on a
random image; weights are random, so score thresholds are lowered to keep NMS busy
(the worst case: 1000 candidates per level, 100 boxes out).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from hrvision.timing import synchronizer

DEFAULT_CONFIGS = ['configs/detection/hrnetv2p_w32_fcos_coco.py', 'configs/detection/hrnetv2p_w32_faster_rcnn_coco.py']


def build(config: str, channels_last: bool, device: str):
    """The config's detector on ``device`` (random weights) with score thresholds at 0 (NMS kept busy)."""
    from mmengine.config import Config

    import hrvision
    cfg = Config.fromfile(config)
    kind = cfg.model['detector'].get('kind')
    thresh = {'model.detector.score_thresh' if kind == 'fcos' else 'model.detector.box_score_thresh': 0.0}
    return hrvision.init_model(cfg, None, device, cfg_options={'model.channels_last': channels_last, **thresh})


def batch(h: int, w: int, device: str) -> dict:
    from hrvision.structures import DataSample
    img = torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
    ds = DataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0), img_id=0))
    return {'inputs': [img], 'data_samples': [ds]}


def time_model(model, data: dict, device: str, dtype: torch.dtype, warmup: int, runs: int) -> list[float]:
    sync = synchronizer(device)
    times = []
    ctx = torch.autocast(device_type=device.split(':')[0], dtype=dtype) if dtype != torch.float32 else None
    with torch.inference_mode():
        for i in range(warmup + runs):
            sync()
            t = time.perf_counter()
            if ctx is not None:
                with ctx:
                    model.test_step(data)
            else:
                model.test_step(data)
            sync()
            if i >= warmup:
                times.append(time.perf_counter() - t)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--configs', nargs='+', default=DEFAULT_CONFIGS)
    p.add_argument('--device', default='cpu')
    p.add_argument('--dtype', default='float32', choices=['float32', 'float16', 'bfloat16'])
    p.add_argument('--layout', nargs='+', default=['nchw', 'channels_last'], choices=['nchw', 'channels_last'])
    p.add_argument('--size', nargs=2, type=int, default=[800, 1333], metavar=('H', 'W'))
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    p.add_argument('--json', action='store_true')
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    rows = []
    for config in args.configs:
        for layout in args.layout:
            model = build(config, layout == 'channels_last', args.device)
            times = time_model(model, batch(*args.size, args.device), args.device, dtype, args.warmup, args.runs)
            med = statistics.median(times)
            row = dict(config=config.rsplit('/', 1)[-1], device=args.device, dtype=args.dtype, layout=layout,
                       batch=1, size=f'{args.size[0]}x{args.size[1]}', threads=torch.get_num_threads(),
                       median_s=round(med, 4), images_per_s=round(1 / med, 3), runs=args.runs)
            rows.append(row)
            print(json.dumps(row) if args.json else
                  f'{row["config"]:<36} {layout:<14} {args.device} {args.dtype} bs1 {row["size"]}: '
                  f'{med * 1000:8.1f} ms  {1 / med:7.3f} img/s  (median of {args.runs}, threads {row["threads"]})',
                  flush=True)
            del model
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
