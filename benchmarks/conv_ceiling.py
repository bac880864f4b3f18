"""The practical fp32 ceiling of one core for convolution: a single large 3x3 convolution (256 -> 256 channels,
64x64, batch 1; the best case for any conv library: no small channel counts, no memory-bound layers) through torch
eager, onnxruntime and OpenVINO, in G multiply-adds/s and as a fraction of ``--peak-gmacs`` (``fma_peak.c``). An
end-to-end rate cannot exceed it; ``benchmarks/RESULTS.md`` sets the deployment rows against both.

    OMP_NUM_THREADS=1 python benchmarks/conv_ceiling.py --peak-gmacs 45.9
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

import torch


def runtime_calls(path: str, x: torch.Tensor) -> dict:
    """One-thread onnxruntime and OpenVINO (fp32) callables running the ONNX file ``path`` on ``x``."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
    xn = x.numpy()
    calls = {'onnxruntime': lambda: sess.run(None, {'x': xn})}
    try:
        import openvino as ov
        compiled = ov.Core().compile_model(path, 'CPU', {'INFERENCE_NUM_THREADS': 1, 'PERFORMANCE_HINT': 'LATENCY',
                                                         'INFERENCE_PRECISION_HINT': 'f32'})
        calls['openvino'] = lambda: compiled(xn)
    except ImportError:
        pass
    return calls


def main(argv=None) -> int:
    from hrvision.timing import interleaved_medians
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--channels', type=int, default=256)
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--rounds', type=int, default=7)
    p.add_argument('--peak-gmacs', type=float)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    c, s = args.channels, args.size
    conv = torch.nn.Conv2d(c, c, 3, padding=1).eval()
    x = torch.randn(1, c, s, s)
    macs = c * c * 9 * s * s
    tmp = tempfile.mkdtemp(prefix='hrv_conv_ceiling_')
    path = os.path.join(tmp, 'conv.onnx')
    torch.onnx.export(conv, x, path, input_names=['x'], output_names=['y'], dynamo=False)
    calls = {'torch eager': lambda: conv(x), **runtime_calls(path, x)}
    with torch.inference_mode():
        seconds = interleaved_medians(calls, args.rounds)
    shutil.rmtree(tmp, ignore_errors=True)
    rate = {k: round(macs / v / 1e9, 1) for k, v in seconds.items()}
    out = dict(conv=f'{c}->{c} 3x3 at {s}x{s}', gmacs=round(macs / 1e9, 3), gmacs_per_s=rate,
               load_average=[round(v, 2) for v in os.getloadavg()])
    if args.peak_gmacs:
        out['fraction_of_peak'] = {k: round(v / args.peak_gmacs, 3) for k, v in rate.items()}
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
