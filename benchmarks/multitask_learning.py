"""Multi-task learning figures of benchmarks/RESULTS.md: three heads on one backbone against the same run with other
loss weights or with one head only, same data, schedule and length, every metric from one evaluation pass.

``--setup ci``: the CI test's short run (tests/test_multitask_train.py: tiny HRNet, 16 synthetic 96x96 images,
100 iterations, evaluated on the training images, keypoints in ground-truth boxes).
``--setup demo``: ``configs/multitask/demo_synthetic.py`` as shipped (data from
``hrvision data synth-coco-multi DATA --n 128``), evaluated on its validation split; keypoints in detected boxes,
then again in ground-truth boxes (``pose_gt_boxes``).

    OMP_NUM_THREADS=1 python benchmarks/multitask_learning.py --setup ci \
        --runs three uncertainty w1000 w100 det pose seg
    OMP_NUM_THREADS=1 python benchmarks/multitask_learning.py --setup demo --data work_dirs/multitask_demo/data \
        --runs three pose
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import sys
import tempfile
import time

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

HEADS = ('seg', 'pose', 'det')
RUNS = {  # name -> (heads, model overrides)
    'three': (HEADS, {}),
    'uncertainty': (HEADS, {'uncertainty': True}),
    'w1000': (HEADS, {'loss_weights': dict(seg=1.0, pose=1000.0, det=1.0)}),
    'w100': (HEADS, {'loss_weights': dict(seg=1.0, pose=100.0, det=2.0)}),
    'det': (('det',), {}), 'pose': (('pose',), {}), 'seg': (('seg',), {}),
}
KEYS = ('det/AP', 'det/AP50', 'pose/AP', 'pose/AP50', 'pose/AR', 'seg/mIoU', 'seg/IoU.person')


def config(setup: str, data: str, heads: tuple[str, ...], overrides: dict, work_dir: str):
    from hrvision.engine.runner import prepare_config
    path = osp.join(REPO, 'configs', 'multitask', 'demo_synthetic.py')
    if setup == 'ci':
        from tests.test_multitask_train import short_run_options
        options = short_run_options(data, 100, heads)
    else:
        root = data.rstrip('/') + '/'
        options = {f'{split}.dataset.data_root': root for split in ('train_dataloader', 'val_dataloader')}
    cfg = prepare_config(path, work_dir=work_dir, cfg_options=options)
    cfg.model.heads = {h: cfg.model.heads[h] for h in heads}
    cfg.model.loss_weights = {h: w for h, w in cfg.model.loss_weights.items() if h in heads}
    cfg.model.update(overrides)
    if setup == 'demo':
        ann = osp.join(root, 'annotations')
        metrics = {'det': dict(type='CocoDetectionMetric', ann_file=osp.join(ann, 'instances_val2017.json'), prefix='det'),
                   'pose': dict(type='MultiTaskKeypointMetric',
                                ann_file=osp.join(ann, 'person_keypoints_val2017.json'), prefix='pose'),
                   'seg': dict(type='SegmentationMetric', num_classes=2, class_names=('background', 'person'),
                               prefix='seg')}
        cfg.val_evaluator = dict(type='MultiTaskEvaluator', metrics=[metrics[h] for h in heads])
        for split in ('train_dataloader', 'val_dataloader'):
            cfg[split].dataset.tasks = {h: h for h in heads}
    return cfg


def run(setup: str, data: str, name: str, work_root: str) -> dict:
    from hrvision.engine.runner import build_runner
    heads, overrides = RUNS[name]
    cfg = config(setup, data, heads, overrides, osp.join(work_root, name))
    runner = build_runner(cfg)
    t0 = time.time()
    before = runner.val()
    runner.train()
    after = runner.val()
    out = dict(run=name, setup=setup, train_eval_s=round(time.time() - t0, 1),
               before={k: round(before[k], 3) for k in KEYS if k in before},
               after={k: round(after[k], 3) for k in KEYS if k in after})
    if setup == 'demo' and 'pose' in heads and 'det' in heads:   # same checkpoint, keypoints in the GT person boxes
        runner.model.adapters['pose'].cfg['boxes'] = 'gt'
        gt = runner.val()
        out['after_pose_gt_boxes'] = {k: round(gt[k], 3) for k in KEYS if k.startswith('pose/')}
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--setup', choices=('ci', 'demo'), default='ci')
    p.add_argument('--data', help='demo: the synth-coco-multi folder; ci: written here (default: a temp folder)')
    p.add_argument('--runs', nargs='+', choices=sorted(RUNS), default=list(RUNS))
    p.add_argument('--work-dir', help='checkpoints and logs (default: a temp folder)')
    p.add_argument('--threads', type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    work = args.work_dir or tempfile.mkdtemp(prefix='hrv_mt_learning_')
    data = args.data
    if args.setup == 'ci':
        from hrvision.tasks.multitask import synth as multi_synth
        data = data or osp.join(work, 'data')
        multi_synth.write_synthetic(data, n_train=16, n_val=4, seed=3, size=(96, 96))
    elif not data or not osp.isdir(data):
        p.error('--setup demo needs --data DIR made by `hrvision data synth-coco-multi DIR --n 128`')
    for name in args.runs:
        print(json.dumps(run(args.setup, data, name, work)), flush=True)


if __name__ == '__main__':
    main()
