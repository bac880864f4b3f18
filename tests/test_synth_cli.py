"""Every ``hrvision data synth-*`` comes from one builder: --n-train/--n-val/--size/--seed, the older per-task
flags as aliases, bad values refused in one line; every task's writer is ``write_synthetic(out, *, n_train,
n_val, size, seed)``."""
import filecmp
import importlib
import inspect
import os
import subprocess
import sys

import pytest

from hrvision.data.io import read_image
from hrvision.registry import CLI_COMMANDS, load_tasks

ENV = dict(os.environ, OMP_NUM_THREADS='1')


def _hrvision(*args, cwd):
    return subprocess.run([sys.executable, '-m', 'hrvision', *args], cwd=cwd, env=ENV, capture_output=True, text=True)


def test_new_and_old_flags_write_the_same_files_and_bad_sizes_are_refused(tmp_path):
    new = _hrvision('data', 'synth-cityscapes', 'a', '--n-train', '1', '--n-val', '1', '--size', '64x128',
                    '--seed', '3', cwd=tmp_path)
    old = _hrvision('data', 'synth-cityscapes', 'b', '--train', '1', '--val', '1', '--size', '64x128', '--seed', '3',
                    cwd=tmp_path)
    assert new.returncode == old.returncode == 0, new.stderr + old.stderr
    cmp = filecmp.dircmp(tmp_path / 'a', tmp_path / 'b')
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only
    bad = _hrvision('data', 'synth-coco-pose', 'c', '--n', '2', '--size', '64x0', cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count('\n') == 1 and "--size: expected HxW" in bad.stderr, bad.stderr
    assert not (tmp_path / 'c').exists()


def test_every_task_writer_has_the_one_signature(tmp_path):
    load_tasks()
    assert {'synth-cityscapes', 'synth-coco-pose', 'synth-wflw', 'synth-coco-det', 'synth-coco-multi'} <= \
        {n for n, _, _ in CLI_COMMANDS.group('data')}
    for task in ('segmentation', 'pose', 'face', 'detection', 'multitask'):
        params = inspect.signature(importlib.import_module(f'hrvision.tasks.{task}.synth').write_synthetic).parameters
        assert list(params)[:5] == ['out', 'n_train', 'n_val', 'size', 'seed'], (task, list(params))
        assert all(params[k].kind is inspect.Parameter.KEYWORD_ONLY for k in list(params)[1:]), task
    from hrvision.tasks.pose import synth as pose_synth
    pose_synth.write_synthetic(str(tmp_path / 'p'), n_train=1, n_val=1, size=(96, 128))
    img = read_image(str(next((tmp_path / 'p' / 'train').iterdir())))
    assert img.shape[:2] == (96, 128)
    with pytest.raises(ValueError, match='n_train must be at least 1'):
        pose_synth.write_synthetic(str(tmp_path / 'q'), n_train=0)
