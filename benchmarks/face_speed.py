"""Face alignment evaluation speed: HRNetV2-W18 at 256x256 (98 heatmaps + official decoding), images/s.

Rows (same process, same threads, same inputs, interleaved round-robin so load changes hit all alike):
  * hrvision FaceModel W18: forward + decode_preds (batch argmax, quarter shift, inverse transform)
  * the same, forward only (raw heatmaps, what the official model returns)
  * optional: timm ``hrnet_w18`` ``features_only`` (backbone only, nearest fuse upsampling) for reference

Usage: python benchmarks/face_speed.py [--device cpu|cuda] [--batch 16] [--iters 5] [--channels-last]
       [--dtype float32|bfloat16|float16] [--threads N] [--no-timm] [--json OUT.json]
Wall seconds are medians; on a shared CPU the process CPU seconds are the steadier figure.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch

from hrvision.timing import synchronizer


def median_times(fns: dict, device: str, warmup: int, iters: int) -> dict:
    sync = synchronizer(device)
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync()
    wall, cpu = {k: [] for k in fns}, {k: [] for k in fns}
    for _ in range(iters):
        for k, fn in fns.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            sync()
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    return {k: (float(np.median(wall[k])), float(np.median(cpu[k]))) for k in fns}


def build_w18(device: str, dtype: torch.dtype, channels_last: bool):
    import json as _json

    from hrvision.tasks.face.official import model_from_official
    ref = os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'reference', 'face_wflw_w18_keys.json')
    if os.path.isfile(ref):
        cfg = {'MODEL': _json.load(open(ref))['model_config']}
    else:  # the official W18 structure
        st = lambda n, m, c: dict(NUM_MODULES=m, NUM_BRANCHES=n, NUM_BLOCKS=[4] * n, NUM_CHANNELS=c,  # noqa: E731
                                  BLOCK='BASIC', FUSE_METHOD='SUM')
        cfg = {'MODEL': dict(NAME='hrnet', NUM_JOINTS=98, EXTRA=dict(
            FINAL_CONV_KERNEL=1, STAGE2=st(2, 1, [18, 36]), STAGE3=st(3, 4, [18, 36, 72]),
            STAGE4=st(4, 3, [18, 36, 72, 144])))}
    model = model_from_official(cfg).to(device=device, dtype=dtype).eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--iters', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--channels-last', action='store_true')
    ap.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16', 'float16'])
    ap.add_argument('--threads', type=int, default=None)
    ap.add_argument('--no-timm', action='store_true')
    ap.add_argument('--json', default=None, help='also write the results here')
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    dev = args.device
    model = build_w18(dev, dtype, args.channels_last)
    x = torch.randn(args.batch, 3, 256, 256, device=dev, dtype=dtype)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    center = torch.tensor([[128.0, 128.0]] * args.batch, dtype=torch.float64)
    scale = torch.full((args.batch,), 1.28, dtype=torch.float64)

    @torch.no_grad()
    def full():
        hm = model(x)
        return model.codec.decode(hm.float(), center.to(hm.device), scale.to(hm.device))

    @torch.no_grad()
    def fwd():
        return model(x)

    fns = {'hrvision W18 forward+decode': full, 'hrvision W18 forward': fwd}
    if not args.no_timm:
        try:
            import timm
            tm = timm.create_model('hrnet_w18', features_only=True, feature_location='', pretrained=False)
            tm = tm.to(device=dev, dtype=dtype).eval()
            if args.channels_last:
                tm = tm.to(memory_format=torch.channels_last)
            fns['timm hrnet_w18 features_only (backbone)'] = torch.no_grad()(lambda: tm(x))
        except Exception as e:  # timm missing or offline weights: skip the reference row
            print(f'timm row skipped: {e}')
    times = median_times(fns, dev, args.warmup, args.iters)
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(ln.split(':', 1)[1].strip() for ln in open('/proc/cpuinfo') if ln.startswith('model name'))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(dev) if dev.startswith('cuda') else None
    head = (f'device={dev} ({gpu or cpu}, {os.cpu_count()} cores visible, {torch.get_num_threads()} threads) '
            f'torch {torch.__version__} batch={args.batch} 256x256 dtype={args.dtype} '
            f'{"channels_last" if args.channels_last else "NCHW"} eager')
    print(head)
    print(f'{"row":<44}{"wall s/batch":>14}{"images/s":>11}{"CPU s/batch":>13}{"images/CPU-s":>14}')
    rows = {}
    for k, (w, c) in times.items():
        rows[k] = dict(wall_s=w, images_per_s=args.batch / w, cpu_s=c, images_per_cpu_s=args.batch / c if c else None)
        cps = f'{args.batch / c:>14.2f}' if c else f'{"-":>14}'
        print(f'{k:<44}{w:>14.3f}{args.batch / w:>11.2f}{c:>13.3f}{cps}')
    out = dict(setup=head, rows=rows)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == '__main__':
    main()
