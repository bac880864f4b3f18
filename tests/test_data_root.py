"""``--data-root DIR`` / ``--cfg-options data_root=DIR`` move a config's data (issue 21, "Paths from the command
line"): every dataset and every path built from the root (annotation files, image folders, box files, the
metrics' files) follow; a ``--cfg-options`` key that would change nothing (a variable the config file only used
while it was read, like ``input_size``) is refused with exit 2 naming the keys to set instead."""
import os
import shutil
import subprocess
import sys

import pytest
from mmengine.config import Config

from hrvision.configs_path import config_path
from hrvision.engine.runner import apply_data_root, prepare_config
from hrvision.errors import ConfigError

POSE = config_path('pose/demo_synthetic.py')


def run_cli(*args, cwd, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1')
    return subprocess.run([sys.executable, '-m', 'hrvision', *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


@pytest.fixture(scope='module')
def moved(tmp_path_factory):
    """Synthetic COCO keypoint data written to one folder and moved to another (the config's own data_root does
    not exist), plus an untrained checkpoint of the config's model."""
    import torch

    import hrvision
    from hrvision.tasks.pose.synth import write_synthetic
    root = tmp_path_factory.mktemp('data_root')
    write_synthetic(str(root / 'first'), n_train=2, n_val=2, size=(96, 96), seed=0)
    shutil.move(root / 'first', root / 'moved here')   # a space in the path, too
    torch.manual_seed(0)
    torch.save({'state_dict': hrvision.init_model(POSE, None, 'cpu').state_dict()}, root / 'model.pth')
    return root


@pytest.mark.parametrize('how', ['--data-root', '--cfg-options'])
def test_test_reads_the_moved_data_and_scores_it_there(moved, how, tmp_path):
    where = moved / 'moved here'
    opt = ['--data-root', where] if how == '--data-root' else ['--cfg-options', f'data_root={where}']
    r = run_cli('test', POSE, moved / 'model.pth', '--work-dir', tmp_path / 'wd', *opt, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert '"coco/AP"' in r.stdout      # dataset and metric read the moved files (the config's root is not there)
    assert not (tmp_path / 'work_dirs').exists()


def test_a_key_that_does_nothing_is_refused(moved, tmp_path):
    r = run_cli('test', POSE, moved / 'model.pth', '--cfg-options', 'max_iters=5', cwd=tmp_path)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    line = r.stderr.strip().splitlines()[-1]
    assert "'max_iters' is a variable of config" in line and 'changes nothing' in line
    assert 'train_cfg.max_iters' in line and 'default_hooks.checkpoint.interval' in line, line


def test_every_derived_path_follows():
    """Paths the config built from data_root at load time (an evaluator's ann_file, a box file) move too; paths
    relative to it stay relative; datasets in two folders are refused (moving one would mix data)."""
    cfg = Config.fromfile(POSE)
    cfg.val_dataloader.dataset.bbox_file = 'work_dirs/pose_demo/data/dets.json'
    cfg.val_evaluator.ann_file = 'work_dirs/pose_demo/data/annotations/person_keypoints_val.json'
    cfg.test_evaluator.ann_file = '/somewhere/else.json'
    cfg = prepare_config(cfg, data_root='/data/mine')
    assert cfg.train_dataloader.dataset.data_root == cfg.test_dataloader.dataset.data_root == '/data/mine'
    assert cfg.train_dataloader.dataset.ann_file == 'annotations/person_keypoints_train.json'
    assert cfg.val_dataloader.dataset.bbox_file == '/data/mine/dets.json'
    assert cfg.val_evaluator.ann_file == '/data/mine/annotations/person_keypoints_val.json'
    assert cfg.test_evaluator.ann_file == '/somewhere/else.json'
    two = Config.fromfile(POSE)
    two.test_dataloader.dataset.data_root = 'elsewhere/'
    with pytest.raises(ConfigError, match=r'several data roots \(elsewhere, work_dirs/pose_demo/data\)'):
        prepare_config(two, data_root='/data/mine')


def test_through_dataset_wrappers_and_refusals():
    mixed = Config.fromfile(config_path('multitask/demo_mixed_cityscapes_coco.py'))   # two roots, no data_root
    with pytest.raises(ConfigError, match=r'several data roots .*work_dirs/demo/data.*--cfg-options '
                                          r'train_dataloader\.dataset\.sources\.0\.dataset\.data_root='):
        apply_data_root(mixed, '/x')
    one = Config.fromfile(config_path('multitask/demo_synthetic.py'))
    changed = apply_data_root(one, '/x')
    assert changed == ['train_dataloader.dataset.data_root', 'val_dataloader.dataset.data_root',
                       'test_dataloader.dataset.data_root']
    with pytest.raises(ConfigError, match='disagree'):
        prepare_config(POSE, data_root='/a', cfg_options={'data_root': '/b'})
    with pytest.raises(ConfigError, match=r"'max_itres' is not a setting hrvision reads; did you mean 'max_iters'"):
        prepare_config(POSE, cfg_options={'max_itres': 3})
    with pytest.raises(ConfigError, match=r"'max_iters' is a variable of config .* train_cfg\.max_iters"):
        prepare_config(POSE, cfg_options={'max_iters': 3})
