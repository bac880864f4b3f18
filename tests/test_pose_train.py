"""A short CPU training run on synthetic COCO people raises keypoint AP clearly (runner, dataset, codec,
head, flip test, metric end to end); the numbers of the longer demo run are in benchmarks/RESULTS.md."""
import os.path as osp

import pytest
import torch

from hrvision.engine.runner import build_runner, prepare_config
from hrvision.tasks.pose import synth as pose_synth
from tests.conftest import REPO


@pytest.mark.slow
def test_short_training_raises_ap(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # a busy 2-core machine: one thread avoids OpenMP spin-waiting
    try:
        _train_and_check(tmp_path)
    finally:
        torch.set_num_threads(threads)


def _train_and_check(tmp_path):
    data = str(tmp_path / 'data')
    pose_synth.write_synthetic(data, n_train=48, n_val=8, seed=5)
    cfg = prepare_config(
        osp.join(REPO, 'configs', 'pose', 'demo_synthetic.py'), work_dir=str(tmp_path / 'work'),
        cfg_options={'train_dataloader.dataset.data_root': data, 'val_dataloader.dataset.data_root': data,
                     'test_dataloader.dataset.data_root': data,
                     'val_evaluator.ann_file': osp.join(data, 'annotations', 'person_keypoints_val.json'),
                     'val_evaluator.num_vis': 1,
                     'train_cfg.max_iters': 80, 'train_cfg.val_interval': 80,
                     'param_scheduler': [dict(type='LinearLR', start_factor=0.1, begin=0, end=10, by_epoch=False)],
                     'default_hooks.checkpoint.interval': 80, 'default_hooks.logger.interval': 40})
    runner = build_runner(cfg)
    before = runner.val()['coco/AP']
    runner.train()
    after = runner.val()['coco/AP']
    print(f'AP before {before:.3f} after {after:.3f}')
    assert after > before + 0.25, (before, after)
    assert osp.isfile(osp.join(cfg.work_dir, 'keypoints_results.json'))
    assert osp.isdir(osp.join(cfg.work_dir, 'vis'))
