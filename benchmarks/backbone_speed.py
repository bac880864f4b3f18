"""Forward speed of hrvision's HRNet against timm's, same variant, same process, same inputs.

Both models get the same weights (timm's state dict loaded into ours), eval mode, fp32,
``torch.inference_mode``, eager (no torch.compile). ``--fold-bn`` adds rows where hrvision's
BatchNorms are folded into the convs (:func:`hrvision.fuse.fuse_conv_bn`, same outputs to 1e-4). Runs of the two are interleaved and the median
of ``--repeats`` timed runs is reported, so background load hits both alike.

    python benchmarks/backbone_speed.py                       # CPU, 256x256, batch 1 and 8
    python benchmarks/backbone_speed.py --device cuda --batches 1 8 32 --models hrnet_w18 hrnet_w32 hrnet_w48
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

import hrvision
from hrvision.fuse import fuse_conv_bn


def _time(fn, sync) -> float:
    t = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t


def bench(name: str, batch: int, size: int, channels_last: bool, device: str, repeats: int, warmup: int,
          fold_bn: bool = False) -> dict:
    import timm
    ref = timm.create_model(name, features_only=True, feature_location='', out_indices=(1, 2, 3, 4)).eval()
    ours = hrvision.build_backbone(name).eval()
    hrvision.load_weights(ours, ref.state_dict(), strict=True)
    if fold_bn:
        fuse_conv_bn(ours)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    ref, ours = ref.to(device, memory_format=fmt), ours.to(device, memory_format=fmt)
    x = torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=fmt)
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    times = {'hrvision': [], 'timm': []}
    with torch.inference_mode():
        for a, b in zip(ref(x), ours(x)):  # same outputs, or the comparison means nothing
            tol = 1e-3 if fold_bn else 1e-5  # folding reorders float arithmetic
            torch.testing.assert_close(b, a, atol=tol * max(1.0, float(a.abs().max())), rtol=tol)
        for _ in range(warmup):
            ours(x), ref(x)
        sync()
        for _ in range(repeats):
            times['hrvision'].append(_time(lambda: ours(x), sync))
            times['timm'].append(_time(lambda: ref(x), sync))
    med = {k: statistics.median(v) for k, v in times.items()}
    return dict(model=name + (' (BN folded)' if fold_bn else ''), batch=batch,
                layout='channels_last' if channels_last else 'NCHW',
                hrvision_ms=1e3 * med['hrvision'], timm_ms=1e3 * med['timm'],
                hrvision_img_s=batch / med['hrvision'], timm_img_s=batch / med['timm'],
                ratio=med['timm'] / med['hrvision'])


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--models', nargs='+', default=['hrnet_w18_small', 'hrnet_w18', 'hrnet_w32'])
    p.add_argument('--batches', nargs='+', type=int, default=[1, 8])
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--layouts', nargs='+', default=['channels_last', 'NCHW'], choices=['channels_last', 'NCHW'])
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--repeats', type=int, default=7)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--fold-bn', action='store_true', help='also time hrvision with BatchNorm folded into the convs')
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    machine = (torch.cuda.get_device_name() if args.device == 'cuda'
               else f'{platform.processor() or platform.machine()}, {args.threads} threads')
    print(f'# backbone forward, {args.size}x{args.size}, fp32, eager, inference_mode; device: {args.device} ({machine}); '
          f'torch {torch.__version__}; median of {args.repeats} interleaved runs')
    print('| model | batch | layout | hrvision ms | timm ms | hrvision img/s | timm img/s | speed ratio (timm/hrvision) |')
    print('|---|---|---|---|---|---|---|---|')
    rows = []
    for name in args.models:
        for batch in args.batches:
            for layout, fold in [(lay, f) for lay in args.layouts for f in ([False, True] if args.fold_bn else [False])]:
                r = bench(name, batch, args.size, layout == 'channels_last', args.device, args.repeats, args.warmup, fold)
                rows.append(r)
                print(f"| {r['model']} | {r['batch']} | {r['layout']} | {r['hrvision_ms']:.1f} | {r['timm_ms']:.1f} | "
                      f"{r['hrvision_img_s']:.1f} | {r['timm_img_s']:.1f} | {r['ratio']:.2f}x |", flush=True)
    return rows


if __name__ == '__main__':
    main()
