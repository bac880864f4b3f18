"""End-to-end inference speed: images/s from files on disk (decode + test pipeline + network + post-processing)
through ``hrvision.Inferencer``, four hrvision paths against timm's bare HRNet of the same width, one run.

Paths, per task:
* ``torch``: the Inferencer as shipped (eager, NCHW);
* ``torch_folded_cl``: ``hrvision.fuse.fuse_for_inference`` (BatchNorm folded into the convolutions, the 1x1 conv
  after the HRNetV2 concat run per branch) and channels_last weights;
* ``onnxruntime``: the network exported by ``hrvision export --format onnx`` (the same rewrites) run by
  onnxruntime, same pre/post;
* ``openvino``: the same exported file compiled by OpenVINO's CPU plugin (fp32, latency hint), same pre/post
  (skipped with a line when openvino is not installed or the device is not the CPU);
* ``timm`` / ``timm_cl``: ``timm.create_model(<same width>, features_only=True, feature_location='')`` forward
  alone (the bare network: no incre blocks of the classification head), NCHW / channels_last, on a ready tensor of the network's input size (no decoding, no pre/post-processing).

Rounds are interleaved (every path once per round) so a shared, loaded machine slows all paths alike; the
median of the rounds is reported with the ratios best-hrvision / timm. Weights are random (speed only). Each
row also gives the conv multiply-adds per image of both networks and the rate each path reached (G multiply-adds
per second, end to end for hrvision), to set against the CPU's peak (``benchmarks/fma_peak.c``).

    python benchmarks/infer_speed.py --threads 1 --rounds 3                      # all tasks, official sizes
    python benchmarks/infer_speed.py --tasks seg_w18s pose face --seg-size 512 1024
    python benchmarks/infer_speed.py --device cuda                                # when a GPU is lent
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np
import torch

from hrvision.timing import interleaved_medians, synchronizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = {   # name: (config, timm name, network input (H, W))
    'seg_w18s': ('configs/segmentation/hrnetv2_w18_small_v1_cityscapes_512x1024.py', 'hrnet_w18_small', None),
    'seg_w48': ('configs/segmentation/hrnetv2_w48_cityscapes_512x1024.py', 'hrnet_w48', None),
    'pose': ('configs/pose/hrnet_w32_coco_256x192.py', 'hrnet_w32', (256, 192)),
    'face': ('configs/face/hrnetv2_w18_wflw.py', 'hrnet_w18', (256, 256)),
}


def _images(folder: str, n: int, hw: tuple[int, int]) -> list[str]:
    from hrvision.data.io import write_image
    rng = np.random.default_rng(0)
    paths = []
    for k in range(n):
        paths.append(os.path.join(folder, f'{k}.jpg'))
        write_image(paths[-1], cv_blur(rng.integers(0, 255, (*hw, 3), dtype=np.uint8)))
    return paths


def cv_blur(img: np.ndarray) -> np.ndarray:
    import cv2
    return cv2.GaussianBlur(img, (0, 0), 3)   # photo-like JPEG sizes, not noise


def _paths(task: str, device: str, tmp: str, net_hw, batch: int) -> dict:
    """name -> Inferencer (``batch``: crops per forward, pose: the people of one image)."""
    from hrvision.errors import InputError
    from hrvision.export import export_model
    from hrvision.fuse import fuse_for_inference
    from hrvision.inference import Inferencer
    cfg = os.path.join(ROOT, TASKS[task][0])
    out = {'torch': Inferencer(cfg, None, device=device, batch_size=batch)}
    folded = Inferencer(cfg, None, device=device, batch_size=batch)
    fuse_for_inference(folded.model)
    folded.model.to(memory_format=torch.channels_last)
    out['torch_folded_cl'] = folded
    onnx = os.path.join(tmp, f'{task}.onnx')
    export_model(out['torch'].model, onnx, net_hw, 'onnx')
    out['onnxruntime'] = Inferencer(cfg, None, device=device, backend='onnxruntime', onnx=onnx, batch_size=batch)
    try:
        out['openvino'] = Inferencer(cfg, None, device=device, backend='openvino', onnx=onnx, batch_size=batch)
    except InputError as e:   # not installed, or not the CPU
        print(f'openvino path skipped: {e}', file=sys.stderr)
    return out


def _timm(name: str, device: str, channels_last: bool):
    import timm
    net = timm.create_model(name, pretrained=False, features_only=True, feature_location='').eval().to(device)
    return net.to(memory_format=torch.channels_last) if channels_last else net


def _macs(task: str, model, net_hw, per_image: int) -> dict:
    """Conv multiply-adds per image of the network each side runs (hrvision: as exported, after
    ``fuse_for_inference``; timm: its ``features_only`` network), official counting (``hrvision.flops``)."""
    import copy

    from hrvision.flops import count
    from hrvision.fuse import fuse_for_inference
    crops = per_image if task == 'pose' else 1
    ours = count(fuse_for_inference(copy.deepcopy(model).cpu().eval()), net_hw).macs * crops
    return {'hrvision': ours, 'timm': count(_timm(TASKS[task][1], 'cpu', False), net_hw).macs * crops}


def run(task: str, args) -> dict:
    seg = task.startswith('seg')
    img_hw = tuple(args.seg_size) if seg else (480, 640)
    net_hw = img_hw if seg else TASKS[task][2]
    tmp = tempfile.mkdtemp(prefix='hrv_infer_speed_')
    files = _images(tmp, args.images, img_hw)
    paths = _paths(task, args.device, tmp, net_hw, args.people if task == 'pose' else 1)
    h, w = img_hw
    boxes = None
    if task == 'pose':   # N people per image, side by side
        bw = w / args.people
        boxes = [[[k * bw + 4, 20, (k + 1) * bw - 4, h - 20, 1.0] for k in range(args.people)]] * len(files)
    calls = {name: (lambda inf=inf: inf(files, boxes=boxes)) for name, inf in paths.items()}
    per_image = args.people * (2 if task == 'pose' else 1)   # pose: crops x flip, in one batch per image
    for name, cl in (('timm', False), ('timm_cl', True)):
        net = _timm(TASKS[task][1], args.device, cl)
        xb = torch.randn(per_image if task == 'pose' else 1, 3, *net_hw, device=args.device)
        xb = xb.contiguous(memory_format=torch.channels_last) if cl else xb
        calls[name] = (lambda net=net, xb=xb: [net(xb) for _ in files])
    with torch.inference_mode():
        seconds = interleaved_medians(calls, args.rounds, sync=synchronizer(args.device))   # the device timed
    ips = {k: len(files) / v for k, v in seconds.items()}
    best = max(paths, key=ips.get)   # the hrvision paths
    macs = _macs(task, paths['torch'].model, net_hw, per_image)
    return dict(task=task, image=f'{h}x{w}', network_input=f'{net_hw[0]}x{net_hw[1]}',
                people=args.people if task == 'pose' else None, images_per_s={k: round(v, 3) for k, v in ips.items()},
                best=best, best_vs_timm=round(ips[best] / ips['timm'], 2),
                best_vs_timm_cl=round(ips[best] / ips['timm_cl'], 2),
                gmacs_per_image={k: round(v / 1e9, 2) for k, v in macs.items()},
                gmacs_per_s={k: round(macs['timm' if k.startswith('timm') else 'hrvision'] * v / 1e9, 1)
                             for k, v in ips.items()},
                load_average_end=[round(v, 2) for v in os.getloadavg()])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--tasks', nargs='+', choices=list(TASKS), default=list(TASKS))
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--images', type=int, default=4, help='files per round')
    p.add_argument('--people', type=int, default=3, help='pose: people (boxes) per image')
    p.add_argument('--seg-size', nargs=2, type=int, default=[1024, 2048], metavar=('H', 'W'))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.chdir(ROOT)
    print(json.dumps(dict(torch=torch.__version__, threads=args.threads, device=args.device,
                          load_average=os.getloadavg())), flush=True)
    for task in args.tasks:
        print(json.dumps(run(task, args)), flush=True)
    return 0


if __name__ == '__main__':
    sys.path.insert(0, ROOT)
    raise SystemExit(main())
