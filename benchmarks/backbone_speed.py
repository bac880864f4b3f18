"""Forward speed of hrvision's HRNet against timm's, same variant, same process, same inputs.

Both models get the same weights (timm's state dict loaded into ours), eval mode, fp32,
``torch.inference_mode``, eager (no torch.compile), checked to give the same outputs first. Rows compare like
with like: ``eager`` (neither folded) and, with ``--fold-bn``, ``BN folded`` (both folded with
:func:`hrvision.fuse.fuse_conv_bn`, which folds timm's HRNet as well). A third, separately labelled row,
``hrvision folded vs timm eager``, is what a user gets by default from each library; it reuses the timings of
the same run. All timed models run interleaved and the median of ``--repeats`` runs is reported, so
background load hits them alike.

    python benchmarks/backbone_speed.py --fold-bn             # CPU, 256x256, batch 1 and 8
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
from hrvision.timing import synchronizer


def _time(fn, sync) -> float:
    t = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t


def bench(name: str, batch: int, size: int, channels_last: bool, device: str, repeats: int, warmup: int,
          fold_bn: bool = False) -> list[dict]:
    import copy

    import timm
    timm_eager = timm.create_model(name, features_only=True, feature_location='', out_indices=(1, 2, 3, 4)).eval()
    ours_eager = hrvision.build_backbone(name).eval()
    hrvision.load_weights(ours_eager, timm_eager.state_dict(), strict=True)
    models = {'hrvision': ours_eager, 'timm': timm_eager}
    if fold_bn:
        models['hrvision_folded'] = fuse_conv_bn(copy.deepcopy(ours_eager))
        models['timm_folded'] = fuse_conv_bn(copy.deepcopy(timm_eager))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    models = {k: m.to(device, memory_format=fmt) for k, m in models.items()}
    x = torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=fmt)
    sync = synchronizer(device)
    times = {k: [] for k in models}
    with torch.inference_mode():
        ref = models['timm'](x)
        for k, m in models.items():   # same outputs, or the comparison means nothing
            tol = 1e-3 if 'folded' in k else 1e-5  # folding reorders float arithmetic
            for a, b in zip(ref, m(x)):
                torch.testing.assert_close(b, a, atol=tol * max(1.0, float(a.abs().max())), rtol=tol)
        for _ in range(warmup):
            for m in models.values():
                m(x)
        sync()
        for _ in range(repeats):
            for k, m in models.items():
                times[k].append(_time(lambda: m(x), sync))
    med = {k: statistics.median(v) for k, v in times.items()}
    pairs = [('eager', 'hrvision', 'timm')]
    if fold_bn:
        pairs += [('BN folded', 'hrvision_folded', 'timm_folded'),
                  ('hrvision folded vs timm eager (library defaults)', 'hrvision_folded', 'timm')]
    return [dict(model=name, compare=label, batch=batch, layout='channels_last' if channels_last else 'NCHW',
                 hrvision_ms=1e3 * med[a], timm_ms=1e3 * med[b], hrvision_img_s=batch / med[a],
                 timm_img_s=batch / med[b], ratio=med[b] / med[a]) for label, a, b in pairs]


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
    p.add_argument('--fold-bn', action='store_true', help='also time both models with BatchNorm folded into the convs')
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    machine = (torch.cuda.get_device_name(args.device) if torch.device(args.device).type == 'cuda'
               else f'{platform.processor() or platform.machine()}, {args.threads} threads')
    print(f'# backbone forward, {args.size}x{args.size}, fp32, eager, inference_mode; device: {args.device} ({machine}); '
          f'torch {torch.__version__}; median of {args.repeats} interleaved runs')
    print('| model | compare | batch | layout | hrvision ms | timm ms | hrvision img/s | timm img/s | '
          'speed ratio (timm/hrvision) |')
    print('|---|---|---|---|---|---|---|---|---|')
    rows = []
    for name in args.models:
        for batch in args.batches:
            for layout in args.layouts:
                for r in bench(name, batch, args.size, layout == 'channels_last', args.device, args.repeats,
                               args.warmup, args.fold_bn):
                    rows.append(r)
                    print(f"| {r['model']} | {r['compare']} | {r['batch']} | {r['layout']} | {r['hrvision_ms']:.1f} | "
                          f"{r['timm_ms']:.1f} | {r['hrvision_img_s']:.1f} | {r['timm_img_s']:.1f} | "
                          f"{r['ratio']:.2f}x |", flush=True)
    return rows


if __name__ == '__main__':
    main()
