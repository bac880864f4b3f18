"""``hrvision demo``: synthetic Cityscapes -> train a small HRNetV2 -> evaluate -> pictures.

Uses the GPU when one is present (mmengine picks the device), the CPU otherwise.
"""
from __future__ import annotations

import os
import os.path as osp

from hrvision.configs_path import config_path


def run_demo(work_dir: str = 'work_dirs/demo', iters: int | None = None, quick: bool = False) -> float:
    """Run the main job; returns and prints the synthetic-val mIoU (official 19-class mean)."""
    from hrvision.engine.runner import build_runner, prepare_config

    from .synth import write_synthetic

    work_dir = osp.abspath(work_dir)
    data_root = osp.join(work_dir, 'data')
    n_train, n_val = (8, 4) if quick else (40, 10)
    if not osp.isdir(osp.join(data_root, 'leftImg8bit', 'train')):
        print(f'[demo] writing synthetic Cityscapes ({n_train} train / {n_val} val, 128x256) to {data_root}')
        write_synthetic(data_root, n_train=n_train, n_val=n_val, size=(128, 256), seed=0)
    cfg = prepare_config(config_path('segmentation/demo_synthetic.py'), work_dir=work_dir)
    max_iters = iters or (20 if quick else cfg.max_iters)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    cfg.train_cfg.max_iters = max_iters
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None  # evaluate once, in the test pass below
    warmup = min(cfg.param_scheduler[0].end, max(1, max_iters // 5)) if max_iters > 1 else 0
    if warmup:
        cfg.param_scheduler[0].end = warmup
    else:  # one iteration: no room for a warm-up (its scheduler would need end > begin)
        cfg.param_scheduler = cfg.param_scheduler[-1:]
    cfg.param_scheduler[-1].begin, cfg.param_scheduler[-1].end = warmup, max_iters
    cfg.default_hooks.checkpoint.interval = max_iters
    pred_dir = osp.join(work_dir, 'predictions')
    cfg.test_evaluator.out_dir = pred_dir
    runner = build_runner(cfg)
    print(f'[demo] training {max_iters} iterations on {next(runner.model.parameters()).device}')
    runner.train()
    metrics = runner.test()
    miou = float(metrics['seg/mIoU'])
    panels = sorted(os.listdir(osp.join(pred_dir, 'panels')))
    print(f'[demo] image | ground truth | prediction pictures: {osp.join(pred_dir, "panels")} ({len(panels)} PNGs)')
    print(f'demo mIoU: {miou:.4f}')
    return miou
