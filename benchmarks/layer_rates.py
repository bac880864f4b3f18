"""The rate each convolution shape of a network reaches on this core, and the network's rate estimated from them:
every convolution that keeps its shape (``c -> c`` channels, stride 1: HRNet's branch blocks, most of its
multiply-adds) timed as a chain of ``--depth`` copies of one layer at the network's own size and batch in
onnxruntime and OpenVINO (1 thread; a chain, so that the runtime keeps its blocked layout between layers), the faster
runtime per shape; every other convolution counted at the peak. It shows which layer shapes hold a network below
the peak (``--peak-gmacs``, ``fma_peak.c``). The estimate is **not a bound**: inside a whole network the runtimes
ran pose faster than its chained layers alone (``benchmarks/RESULTS.md``).

    OMP_NUM_THREADS=1 python benchmarks/layer_rates.py --tasks face pose seg_w18s --peak-gmacs 45.9
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sys
import tempfile

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conv_ceiling import runtime_calls  # noqa: E402
from deploy_speed import ROOT, TASKS  # noqa: E402

from hrvision.timing import interleaved_medians  # noqa: E402


def conv_shapes(task: str, seg_hw) -> tuple[collections.Counter, tuple]:
    """(shape -> how many convolutions have it) of the task's folded inference network at its deployment input."""
    from hrvision.apis import init_model
    from hrvision.fuse import fuse_for_inference
    seg = task.startswith('seg')
    net_hw = tuple(seg_hw) if seg else TASKS[task][2]
    batch = 6 if task == 'pose' else 1   # pose: 3 people x flip, one batch (deploy_speed.py)
    model = fuse_for_inference(init_model(os.path.join(ROOT, TASKS[task][0]), None, 'cpu')).eval()
    shapes: collections.Counter = collections.Counter()

    def hook(m: nn.Conv2d, inp, _out):
        x = inp[0]
        shapes[(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                m.bias is not None, tuple(x.shape))] += 1
    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.inference_mode():
        model(torch.zeros(batch, 3, *net_hw))
    for h in hooks:
        h.remove()
    return shapes, (batch, *net_hw)


def time_chain(shape, tmp: str, rounds: int, depth: int) -> dict:
    """Median seconds per layer of ``depth`` chained copies of a ``c -> c`` stride-1 convolution."""
    cin, cout, k, s, p, d, g, bias, xshape = shape
    chain = nn.Sequential(*[nn.Conv2d(cin, cout, k, s, p, d, g, bias=bias) for _ in range(depth)]).eval()
    x = torch.randn(*xshape)
    path = os.path.join(tmp, 'chain.onnx')
    torch.onnx.export(chain, x, path, input_names=['x'], output_names=['y'], dynamo=False)
    return {name: t / depth for name, t in interleaved_medians(runtime_calls(path, x), rounds).items()}


def run(task: str, args) -> dict:
    shapes, inp = conv_shapes(task, args.seg_size)
    peak = args.peak_gmacs * 1e9
    tmp = tempfile.mkdtemp(prefix='hrv_layer_rates_')
    rows, other_macs = [], 0
    try:
        for shape, count in shapes.items():
            cin, cout, k, s, pad, dil, g, _, xshape = shape
            ho = (xshape[2] + 2 * pad[0] - dil[0] * (k[0] - 1) - 1) // s[0] + 1
            wo = (xshape[3] + 2 * pad[1] - dil[1] * (k[1] - 1) - 1) // s[1] + 1
            macs = xshape[0] * cout * (cin // g) * k[0] * k[1] * ho * wo
            if cin != cout or s != (1, 1) or (ho, wo) != tuple(xshape[2:]):
                other_macs += macs * count
                continue
            t = time_chain(shape, tmp, args.rounds, args.depth)
            rows.append(dict(shape=f'{cin}->{cout} {k[0]}x{k[1]} at {xshape[2]}x{xshape[3]}', count=count,
                             macs=macs, seconds=t, best=min(t.values())))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    chained_macs = sum(r['macs'] * r['count'] for r in rows)
    seconds = sum(r['best'] * r['count'] for r in rows) + other_macs / peak
    total = chained_macs + other_macs
    rows.sort(key=lambda r: -(r['best'] - r['macs'] / peak) * r['count'])
    return dict(task=task, network_input='x'.join(str(v) for v in inp), conv_layers=sum(shapes.values()),
                gmacs=round(total / 1e9, 2), share_timed=round(chained_macs / total, 3),
                estimate_seconds=round(seconds, 4), estimate_gmacs_per_s=round(total / seconds / 1e9, 1),
                estimate_of_peak=round(total / seconds / peak, 3),
                shapes=[dict(shape=r['shape'], count=r['count'], of_peak=round(r['macs'] / r['best'] / peak, 2),
                             runtime=min(r['seconds'], key=r['seconds'].get),
                             ms_above_peak=round((r['best'] - r['macs'] / peak) * r['count'] * 1e3, 1))
                        for r in rows[:args.show]],
                load_average_end=[round(v, 2) for v in os.getloadavg()])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--tasks', nargs='+', default=['face', 'pose', 'seg_w18s'], choices=sorted(TASKS))
    p.add_argument('--seg-size', nargs=2, type=int, default=[1024, 2048])
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--depth', type=int, default=8, help='chained copies of each layer')
    p.add_argument('--show', type=int, default=6, help='shapes listed by the time they spend above the peak')
    p.add_argument('--peak-gmacs', type=float, required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print(json.dumps(dict(torch=torch.__version__, threads=1)))
    for task in args.tasks:
        print(json.dumps(run(task, args)), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
