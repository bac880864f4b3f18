"""The deployment ladder's speed rows at the official sizes: hrvision end to end (image file -> decode -> test
pipeline -> network -> post-processing, ``hrvision.Inferencer``) at fp32 / int8 / bf16 on torch, onnxruntime and
OpenVINO, against timm's **bare** HRNet network of the same width (``timm.create_model(name, features_only=True,
feature_location='')``: the four stage-4 branches, no incre blocks of the classification head), eager NCHW and
channels_last, on a ready tensor of the network input (no decoding, no pre/post-processing).

Weights are random (speed only; the metric cost of each precision is ``hrvision bench deploy`` on trained
models, ``benchmarks/RESULTS.md``). int8 = what ``hrvision export --quantize int8`` writes (onnxruntime static
QDQ), calibrated on ``--calib`` synthetic photo-like images of the benchmark's size through the config's pipeline;
bf16 = OpenVINO's bf16 hint where the CPU has it (else the row says not measured). Batch 1 image (pose: 3 people
per image, flip test: one batch of 6 crops), ``--threads`` intra-op threads everywhere, every path once per round,
rounds interleaved, the median reported; with each row the conv multiply-adds per image (``hrvision.flops``) and
the rate reached, as a fraction of ``--peak-gmacs`` (the core's measured fp32 peak, ``benchmarks/fma_peak.c``).

    python benchmarks/deploy_speed.py --tasks face pose seg_w18s --rounds 5 --images 3 --threads 1 --peak-gmacs 57.8
    python benchmarks/deploy_speed.py --tasks seg_w48 --rounds 1 --images 1 --calib 2
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

from hrvision.timing import interleaved_medians

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = {   # name: (config, timm name, network input (H, W) or None = the image size)
    'seg_w18s': ('configs/segmentation/hrnetv2_w18_small_v1_cityscapes_512x1024.py', 'hrnet_w18_small', None),
    'seg_w48': ('configs/segmentation/hrnetv2_w48_cityscapes_512x1024.py', 'hrnet_w48', None),
    'pose': ('configs/pose/hrnet_w32_coco_256x192.py', 'hrnet_w32', (256, 192)),
    'face': ('configs/face/hrnetv2_w18_wflw.py', 'hrnet_w18', (256, 256)),
}


def timm_bare(name: str, channels_last: bool):
    """timm's HRNet as a bare feature network (``feature_location=''``: no incre blocks)."""
    import timm
    net = timm.create_model(name, pretrained=False, features_only=True, feature_location='').eval()
    return net.to(memory_format=torch.channels_last) if channels_last else net


def _images(folder: str, n: int, hw) -> list[str]:
    import cv2

    from hrvision.data.io import write_image
    rng = np.random.default_rng(0)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for k in range(n):
        paths.append(os.path.join(folder, f'{k}.jpg'))
        write_image(paths[-1], cv2.GaussianBlur(rng.integers(0, 255, (*hw, 3), dtype=np.uint8), (0, 0), 3))
    return paths


def _files(task: str, cfg: str, tmp: str, net_hw, calib: list[str], calib_n: int) -> tuple[dict, tuple]:
    """precision -> ONNX file (fp32 export, int8 quantized on ``calib`` images, bf16 where the CPU has it), and the
    network input size the config's test pipeline really builds from those images (recorded in calibration)."""
    from hrvision.apis import init_model
    from hrvision.export import export_model
    from hrvision.quantize import bf16_supported, calibrate, mark_bf16, quantize_int8
    files = {'fp32': os.path.join(tmp, f'{task}_fp32.onnx'), 'int8': os.path.join(tmp, f'{task}_int8.onnx')}
    export_model(init_model(cfg, None, 'cpu'), files['fp32'], net_hw, 'onnx')
    from mmengine.config import Config
    cal = calibrate(Config.fromfile(cfg), None, files['fp32'], calib_n, os.path.dirname(calib[0]))
    quantize_int8(files['fp32'], files['int8'], cal)
    if bf16_supported():
        files['bf16'] = os.path.join(tmp, f'{task}_bf16.onnx')
        mark_bf16(files['fp32'], files['bf16'])
    return files, tuple(cal.inputs[0].shape[-2:])


def run(task: str, args) -> dict:
    tmp = tempfile.mkdtemp(prefix='hrv_deploy_speed_')
    try:
        return _run(task, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)   # the ONNX files (W48: hundreds of MB)


def _run(task: str, args, tmp: str) -> dict:
    from hrvision.flops import count
    from hrvision.fuse import fuse_for_inference
    from hrvision.inference import Inferencer
    seg = task.startswith('seg')
    img_hw = tuple(args.seg_size) if seg else (480, 640)
    net_hw = img_hw if seg else TASKS[task][2]
    cfg = os.path.join(ROOT, TASKS[task][0])
    files_in = _images(os.path.join(tmp, 'timed'), args.images, img_hw)
    calib = _images(os.path.join(tmp, 'calib'), args.calib, img_hw)
    people = args.people if task == 'pose' else 1
    files, net_hw = _files(task, cfg, tmp, net_hw, calib, args.calib)   # seg: the size after the test pipeline
    paths = {'torch fp32': Inferencer(cfg, None, device='cpu', batch_size=people)}
    for backend in ('onnxruntime', 'openvino'):
        for prec in ('fp32', 'int8', 'bf16'):
            if prec in files and not (backend == 'onnxruntime' and prec == 'bf16'):
                paths[f'{backend} {prec}'] = Inferencer(cfg, None, device='cpu', backend=backend, onnx=files[prec],
                                                        batch_size=people)
    h, w = img_hw
    boxes = None
    if task == 'pose':   # N people per image, side by side
        bw = w / people
        boxes = [[[k * bw + 4, 20, (k + 1) * bw - 4, h - 20, 1.0] for k in range(people)]] * len(files_in)
    calls = {name: (lambda inf=inf: inf(files_in, boxes=boxes)) for name, inf in paths.items()}
    crops = people * (2 if task == 'pose' else 1)   # pose: crops x flip, one batch per image
    for name, cl in (('timm bare eager', False), ('timm bare channels_last', True)):
        net = timm_bare(TASKS[task][1], cl)
        x = torch.randn(crops, 3, *net_hw)
        x = x.contiguous(memory_format=torch.channels_last) if cl else x
        calls[name] = (lambda net=net, x=x: [net(x) for _ in files_in])
    with torch.inference_mode():   # (the warm-up call: OpenVINO compiles per input size)
        ips = {k: len(files_in) / v for k, v in interleaved_medians(calls, args.rounds).items()}
    ours = count(fuse_for_inference(copy.deepcopy(paths['torch fp32'].model).eval()), net_hw).macs * crops
    theirs = count(timm_bare(TASKS[task][1], False), net_hw).macs * crops
    gmacs = {k: (theirs if k.startswith('timm') else ours) * v / 1e9 for k, v in ips.items()}
    best = {p: max((k for k in paths if k.endswith(p)), key=ips.get, default=None) for p in ('fp32', 'int8', 'bf16')}
    out = dict(task=task, image=f'{h}x{w}', network_input=f'{net_hw[0]}x{net_hw[1]}', crops_per_image=crops,
               threads=args.threads, images_per_s={k: round(v, 3) for k, v in ips.items()},
               gmacs_per_image=dict(hrvision=round(ours / 1e9, 2), timm_bare=round(theirs / 1e9, 2)),
               gmacs_per_s={k: round(v, 1) for k, v in gmacs.items()}, best=best,
               file_mb={p: round(os.path.getsize(f) / 1e6, 2) for p, f in files.items()},
               load_average_end=[round(v, 2) for v in os.getloadavg()])
    for p, k in best.items():
        if k:
            out[f'{p}_best_vs_timm'] = round(ips[k] / ips['timm bare eager'], 2)
            out[f'{p}_best_vs_timm_cl'] = round(ips[k] / ips['timm bare channels_last'], 2)
    if args.peak_gmacs:
        out['fraction_of_peak'] = {k: round(v / args.peak_gmacs, 3) for k, v in gmacs.items()}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--tasks', nargs='+', choices=list(TASKS), default=list(TASKS))
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--images', type=int, default=3, help='files per round')
    p.add_argument('--calib', type=int, default=8, help='int8 calibration images (synthetic, the benchmark size)')
    p.add_argument('--people', type=int, default=3, help='pose: people (boxes) per image')
    p.add_argument('--seg-size', nargs=2, type=int, default=[1024, 2048], metavar=('H', 'W'))
    p.add_argument('--peak-gmacs', type=float, help='the core\'s peak fp32 G multiply-adds/s (fma_peak.c)')
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)   # onnxruntime and OpenVINO take torch's count
    os.chdir(ROOT)
    print(json.dumps(dict(torch=torch.__version__, threads=args.threads, load_average=os.getloadavg())), flush=True)
    for task in args.tasks:
        print(json.dumps(run(task, args)), flush=True)
    return 0


if __name__ == '__main__':
    sys.path.insert(0, ROOT)
    raise SystemExit(main())
