"""Bare-network probes behind the notes of ``RESULTS.md`` (End-to-end inference), 1 thread, random weights.

    python benchmarks/openvino_probe.py shapes  --task face     # OpenVINO dynamic vs exact-shape compile, timm eager
    python benchmarks/openvino_probe.py layers  --task face     # OpenVINO per-layer time and rate, by HRNet branch
    python benchmarks/openvino_probe.py layers  --task seg_w48  # the same for seg W48 (two inferences of ~20 s)
    python benchmarks/openvino_probe.py bf16    --task pose     # OpenVINO f32 vs bf16: time, max relative difference
    python benchmarks/openvino_probe.py upsample                # seg post-processing: torch vs OpenVINO resize + exp
    python benchmarks/openvino_probe.py split   --task face     # end to end vs the network alone: what 85% needs

Tasks: face (W18, 1x3x256x256), pose (W32, 6x3x256x192: 3 people x flip), seg (W18-small-v1, 1x3x1024x2048),
seg_w48 (W48, 1x3x1024x2048). The network is the file ``hrvision export --format onnx`` writes
(``fuse_for_inference`` applied).
"""
from __future__ import annotations

import argparse
import collections
import functools
import os
import re
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETS = {'face': ('configs/face/hrnetv2_w18_wflw.py', 'hrnet_w18', (1, 3, 256, 256)),
        'pose': ('configs/pose/hrnet_w32_coco_256x192.py', 'hrnet_w32', (6, 3, 256, 192)),
        'seg': ('configs/segmentation/hrnetv2_w18_small_v1_cityscapes_512x1024.py', 'hrnet_w18_small',
                (1, 3, 1024, 2048)),
        'seg_w48': ('configs/segmentation/hrnetv2_w48_cityscapes_512x1024.py', 'hrnet_w48', (1, 3, 1024, 2048))}


def _config(precision: str = 'f32', profile: bool = False) -> dict:
    cfg = {'INFERENCE_NUM_THREADS': 1, 'INFERENCE_PRECISION_HINT': precision, 'PERFORMANCE_HINT': 'LATENCY',
           'NUM_STREAMS': 1}
    return dict(cfg, PERF_COUNT=True) if profile else cfg


def _model(task: str):
    from hrvision.inference import Inferencer
    return Inferencer(os.path.join(ROOT, NETS[task][0]), None, device='cpu').model


def _onnx(task: str, tmp: str) -> tuple[str, tuple]:
    from hrvision.export import export_model
    shape = NETS[task][2]
    path = os.path.join(tmp, f'{task}.onnx')
    export_model(_model(task), path, shape[2:], 'onnx')
    return path, shape


def _group(name: str) -> str | None:
    """The probe's group of a module or node name: ``branch <i>`` (``branches.<i>``), ``fuse layers``, else None."""
    m = re.search(r'branches\.(\d)', name)
    return f'branch {m.group(1)}' if m else ('fuse layers' if 'fuse_layers' in name else None)


def _branch_macs(task: str) -> collections.Counter:
    """Conv multiply-adds of one forward (the probe's batch) per group (:func:`_group`), and of all convs
    (``all``), counted on the network the export writes (``fuse_for_inference``: BN folded, the concat conv split)."""
    from hrvision.fuse import fuse_for_inference
    model, shape = fuse_for_inference(_model(task).eval()), NETS[task][2]
    macs: collections.Counter = collections.Counter()
    hooks = []
    def count(mod, _inputs, out, group):
        n = mod.weight.numel() * out[0, 0].numel()
        macs.update({group or 'other': n, 'all': n})
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Conv2d):
            hooks.append(mod.register_forward_hook(functools.partial(count, group=_group(name))))
    with torch.no_grad():
        model.tensor_forward(torch.zeros(1, *shape[1:]))
    for h in hooks:
        h.remove()
    return collections.Counter({k: v * shape[0] for k, v in macs.items()})


def _median_s(fn, n: int) -> float:
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def shapes(args, core, ov, tmp) -> None:
    import timm
    path, shape = _onnx(args.task, tmp)
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    dyn = core.compile_model(core.read_model(path), 'CPU', _config()).create_infer_request()
    model = core.read_model(path)
    model.reshape({model.inputs[0]: ov.PartialShape(list(shape))})
    static = core.compile_model(model, 'CPU', _config()).create_infer_request()
    net = timm.create_model(NETS[args.task][1], features_only=True).eval()
    xt = torch.from_numpy(x)
    with torch.inference_mode():
        for _ in range(args.rounds):
            print(f'{args.task}: openvino dynamic {_median_s(lambda: dyn.infer({0: x}), args.repeats):.4f} s, '
                  f'exact shape {_median_s(lambda: static.infer({0: x}), args.repeats):.4f} s, '
                  f'timm eager {_median_s(lambda: net(xt), args.repeats):.4f} s')


def layers(args, core, ov, tmp) -> None:
    path, shape = _onnx(args.task, tmp)
    req = core.compile_model(core.read_model(path), 'CPU', _config(profile=True)).create_infer_request()
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    req.infer({0: x})
    req.infer({0: x})
    ms = collections.Counter()
    by_type = collections.Counter()
    for p in req.get_profiling_info():
        group = _group(p.node_name) or re.sub(r'[./]\d.*', '', p.node_name.replace('/model/', ''))[:40]
        ms[(p.node_type, group)] += p.real_time.total_seconds() * 1e3
        by_type[p.node_type] += p.real_time.total_seconds() * 1e3
    macs = _branch_macs(args.task)
    for (kind, group), t in ms.most_common(25):
        rate = f'  {macs[group] / 1e9:.3f} G multiply-adds, {macs[group] / t / 1e6:.1f} G/s' \
            if kind == 'Convolution' and group in macs else ''
        print(f'{t:8.1f} ms  {kind:12s} {group}{rate}')
    total = sum(by_type.values())
    print(f'total {total:.1f} ms: ' + ', '.join(f'{k} {t:.1f} ms ({100 * t / total:.0f}%)'
                                               for k, t in by_type.most_common(8)))
    conv = sum(t for k, t in by_type.items() if k == 'Convolution')
    print(f'all convolutions: {macs["all"] / 1e9:.2f} G multiply-adds in {conv:.1f} ms = '
          f'{macs["all"] / conv / 1e6:.1f} G/s; the whole network {macs["all"] / total / 1e6:.1f} G/s')


def bf16(args, core, ov, tmp) -> None:
    path, shape = _onnx(args.task, tmp)
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    reqs = {p: core.compile_model(core.read_model(path), 'CPU', _config(p)).create_infer_request()
            for p in ('f32', 'bf16')}
    outs = {p: np.asarray(r.infer({0: x})[0]).copy() for p, r in reqs.items()}
    rel = float(np.abs(outs['bf16'] - outs['f32']).max() / np.abs(outs['f32']).max())
    times = {p: _median_s(lambda r=r: r.infer({0: x}), args.repeats) for p, r in reqs.items()}
    print(f'{args.task}: f32 {times["f32"]:.4f} s, bf16 {times["bf16"]:.4f} s, max relative difference {rel:.2e}')


def upsample(args, core, ov, tmp) -> None:
    import openvino.opset11 as ops
    import torch.nn.functional as F
    logits = torch.randn(1, 19, 256, 512) * 3
    size = np.array([1024, 2048], np.int64)
    p, s = ops.parameter([1, 19, -1, -1], np.float32), ops.parameter([2], np.int64)
    y = ops.interpolate(p, s, mode='linear', shape_calculation_mode='sizes', coordinate_transformation_mode='half_pixel',
                        axes=ops.constant(np.array([2, 3], np.int64)))
    req = core.compile_model(ov.Model([ops.exp(y)], [p, s]), 'CPU', _config()).create_infer_request()
    xa = logits.numpy()

    def with_torch():
        return F.interpolate(logits, size=(1024, 2048), mode='bilinear', align_corners=False).exp_()

    def with_openvino():
        return req.infer({0: xa, 1: size}, share_inputs=True)[0]
    a, b = with_torch().numpy(), np.asarray(with_openvino())
    print(f'19x256x512 -> 19x1024x2048 + exp: torch {_median_s(with_torch, args.repeats):.3f} s, openvino '
          f'{_median_s(with_openvino, args.repeats):.3f} s, max relative difference '
          f'{float(np.abs(a - b).max() / np.abs(a).max()):.1e}, labels equal {float((a.argmax(1) == b.argmax(1)).mean()):.6f}')


def split(args, core, ov, tmp) -> None:
    """The OpenVINO fp32 path end to end (``Inferencer`` on JPEG files, as ``deploy_speed.py`` times it) against
    the same compiled network alone on a ready tensor, and end to end with the network's outputs replayed (the time
    outside the network: decoding, pipeline, post-processing), rounds interleaved; then the network rate that the
    fp32 goal (``--goal`` of ``--peak-gmacs`` end to end) needs once the time outside the network is paid."""
    from deploy_speed import _images
    from hrvision.inference import Inferencer
    path, shape = _onnx(args.task, tmp)
    seg = args.task.startswith('seg')
    img_hw = tuple(shape[2:]) if seg else (480, 640)
    people = shape[0] // 2 if args.task == 'pose' else 1   # pose: 3 people x flip = one batch of 6 crops
    files = _images(os.path.join(tmp, 'img'), args.repeats, img_hw)
    boxes = None
    if people > 1:
        bw = img_hw[1] / people
        boxes = [[[k * bw + 4, 20, (k + 1) * bw - 4, img_hw[0] - 20, 1.0] for k in range(people)]] * len(files)
    inf = Inferencer(os.path.join(ROOT, NETS[args.task][0]), None, device='cpu', backend='openvino', onnx=path,
                     batch_size=people)
    stub = Inferencer(os.path.join(ROOT, NETS[args.task][0]), None, device='cpu', backend='openvino', onnx=path,
                      batch_size=people)
    from hrvision.inference.openvino import OpenVinoModule
    net = next(m for m in [*stub.model.modules(), *vars(stub.model).values()] if isinstance(m, OpenVinoModule))
    real = net.request
    stub(files[:1], boxes=boxes and boxes[:1])   # the network's outputs once, then replayed: no network time

    class Replay:
        outs = None

        def infer(self, inputs, share_inputs=False):
            Replay.outs = Replay.outs or real.infer(inputs, share_inputs=share_inputs)
            return Replay.outs
    net.request = Replay()
    req = core.compile_model(core.read_model(path), 'CPU', _config()).create_infer_request()
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    from hrvision.timing import interleaved_medians
    calls = {'end to end': lambda: inf(files, boxes=boxes), 'network': lambda: [req.infer({0: x}) for _ in files],
             'outside': lambda: stub(files, boxes=boxes)}
    s = {k: v / len(files) for k, v in interleaved_medians(calls, args.rounds).items()}
    macs = _branch_macs(args.task)['all']
    outside = s['outside']
    line = (f'{args.task}: {macs / 1e9:.2f} G multiply-adds per image; end to end {s["end to end"] * 1e3:.1f} ms, '
            f'network {s["network"] * 1e3:.1f} ms, outside the network (the network replayed) {outside * 1e3:.1f} ms')
    if args.peak_gmacs:
        budget = macs / (args.goal * args.peak_gmacs * 1e9)
        need = macs / (budget - outside) / 1e9 if budget > outside else float('inf')
        line += (f'; end to end {macs / s["end to end"] / 1e9 / args.peak_gmacs:.0%} of peak, network '
                 f'{macs / s["network"] / 1e9 / args.peak_gmacs:.0%}; {args.goal:.0%} end to end = {budget * 1e3:.1f} '
                 f'ms needs the network at {need:.1f} G/s = {need / args.peak_gmacs:.0%} of peak')
    print(line + f' (load average {os.getloadavg()[0]:.2f})')


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('probe', choices=['shapes', 'layers', 'bf16', 'upsample', 'split'])
    p.add_argument('--task', choices=list(NETS), default='face')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--rounds', type=int, default=2)
    p.add_argument('--peak-gmacs', type=float, help='split: the core\'s peak fp32 G multiply-adds/s (fma_peak.c)')
    p.add_argument('--goal', type=float, default=0.85, help='split: the end-to-end fraction of peak to reach')
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    os.chdir(ROOT)
    import openvino as ov
    with tempfile.TemporaryDirectory(prefix='hrv_ov_probe_') as tmp:
        globals()[args.probe](args, ov.Core(), ov, tmp)
    return 0


if __name__ == '__main__':
    sys.path.insert(0, ROOT)
    raise SystemExit(main())
