"""Engine glue: atomic checkpoint writes, weights_only loading, AMP selection, CPU DDP config."""
import pytest
import torch

from hrvision.engine.checkpoint import atomic_save_checkpoint, load_local
from mmengine.config import Config

from hrvision.engine.runner import apply_amp


class _Unpicklable:
    def __reduce__(self):
        raise RuntimeError('disk full (simulated)')


def test_atomic_save_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / 'iter_10.pth'
    atomic_save_checkpoint({'state_dict': {'w': torch.ones(3)}}, str(path))
    with pytest.raises(RuntimeError, match='disk full'):
        atomic_save_checkpoint({'state_dict': {'w': torch.zeros(3)}, 'bad': _Unpicklable()}, str(path))
    assert torch.equal(load_local(str(path))['state_dict']['w'], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ['iter_10.pth']   # no temp file left, empty or not


def test_load_local_refuses_pickled_objects(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'model': torch.nn.Linear(2, 2)}, path)
    with pytest.raises(RuntimeError, match='evil.pth holds pickled Python objects'):
        load_local(str(path))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_local(str(tmp_path / 'missing.pth'))


def test_amp_choice_per_device():
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD'))))
    apply_amp(cfg)
    assert cfg.optim_wrapper.type == ('AmpOptimWrapper' if torch.cuda.is_available() else 'CPUBf16OptimWrapper')
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='bfloat16'):
            apply_amp(Config(dict(optim_wrapper=dict(type='OptimWrapper'))), 'float16')
