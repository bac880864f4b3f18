"""Checkpoints are never half-true: digests catch flipped bytes, failed or interrupted writes leave no temp
file of any size, stale ones are cleaned, ``--resume`` falls back past an unreadable checkpoint, Ctrl-C
exits 130 without a traceback."""
import os
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch

from hrvision.engine import checkpoint as ckpt_mod
from hrvision.engine.checkpoint import atomic_save_checkpoint, clean_stale_temp_files, load_local
from hrvision.engine.runner import build_runner, prepare_config
from hrvision.tasks.segmentation import synth as seg_synth
from hrvision.weights import CheckpointError, read_checkpoint

CFG = str(Path(__file__).parent / 'configs' / 'seg_tiny.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def _flip_tensor_byte(path, entry_suffix='data/0', offset=5):
    """Flip one byte inside a tensor's data in a torch zip checkpoint (the zip CRC is not checked by torch)."""
    with zipfile.ZipFile(path) as z:
        info = next(i for i in z.infolist() if i.filename.endswith(entry_suffix))
    with open(path, 'r+b') as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack('<HH', f.read(4))
        pos = info.header_offset + 30 + name_len + extra_len + offset
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ 0x10]))


def _temp_files(folder):
    return [p.name for p in Path(folder).rglob('*') if '.tmp' in p.name]   # any size, 0 bytes included


def test_flipped_tensor_byte_is_found(tmp_path):
    path = tmp_path / 'iter_3.pth'
    atomic_save_checkpoint({'state_dict': {'w': torch.arange(100.)}, 'meta': {'iter': 3}}, str(path))
    assert torch.equal(load_local(str(path))['state_dict']['w'], torch.arange(100.))
    _flip_tensor_byte(path)
    assert not torch.equal(torch.load(path, weights_only=True)['state_dict']['w'], torch.arange(100.))  # torch: silent
    with pytest.raises(CheckpointError, match='iter_3.pth is corrupt'):
        load_local(str(path))
    with pytest.raises(CheckpointError, match='iter_3.pth is corrupt'):
        read_checkpoint(path)
    other = tmp_path / 'plain.pth'   # files without a recorded digest load as before
    torch.save({'w': torch.ones(2)}, other)
    assert torch.equal(read_checkpoint(other)['w'], torch.ones(2))


class _Unpicklable:
    def __reduce__(self):
        raise RuntimeError('disk full (simulated)')


@pytest.mark.parametrize('failure', ['error', 'ctrl-c', 'sigterm-exit'])
def test_failed_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch, failure):
    path = tmp_path / 'iter_10.pth'
    atomic_save_checkpoint({'state_dict': {'w': torch.ones(3)}}, str(path))
    real_save = torch.save

    def failing_save(obj, f, *a, **k):
        real_save({'partial': torch.zeros(1000)}, f)   # some bytes are already on disk
        raise {'error': OSError(28, 'No space left on device'), 'ctrl-c': KeyboardInterrupt(),
               'sigterm-exit': SystemExit(143)}[failure]

    monkeypatch.setattr(ckpt_mod.torch, 'save', failing_save)
    with pytest.raises((OSError, KeyboardInterrupt, SystemExit)):
        atomic_save_checkpoint({'state_dict': {'w': torch.zeros(3)}}, str(path))
    monkeypatch.setattr(ckpt_mod.torch, 'save', real_save)
    with pytest.raises(RuntimeError, match='disk full'):
        atomic_save_checkpoint({'state_dict': {'w': torch.zeros(3)}, 'bad': _Unpicklable()}, str(path))
    assert torch.equal(load_local(str(path))['state_dict']['w'], torch.ones(3))
    assert _temp_files(tmp_path) == []


def test_ctrl_c_during_a_save_finishes_the_file_first(tmp_path, monkeypatch):
    real_save = torch.save

    def save_then_ctrl_c(obj, f, *a, **k):
        os.kill(os.getpid(), signal.SIGINT)   # arrives mid-save
        real_save(obj, f, *a, **k)

    monkeypatch.setattr(ckpt_mod.torch, 'save', save_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        atomic_save_checkpoint({'state_dict': {'w': torch.ones(3)}}, str(tmp_path / 'iter_1.pth'))
    assert torch.equal(load_local(str(tmp_path / 'iter_1.pth'))['state_dict']['w'], torch.ones(3))
    assert _temp_files(tmp_path) == []


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    (tmp_path / f'iter_8.pth.tmp{dead.pid}').write_bytes(b'')
    (tmp_path / f'iter_9.pth.tmp{dead.pid}').write_bytes(b'x' * 100)
    (tmp_path / f'iter_9.pth.tmp{os.getppid()}').write_bytes(b'x')   # a live writer: kept
    removed = clean_stale_temp_files(str(tmp_path))
    assert sorted(Path(p).name for p in removed) == [f'iter_8.pth.tmp{dead.pid}', f'iter_9.pth.tmp{dead.pid}']
    assert _temp_files(tmp_path) == [f'iter_9.pth.tmp{os.getppid()}']


@pytest.fixture(scope='module')
def opts(tmp_path_factory):
    root = tmp_path_factory.mktemp('faults')
    seg_synth.write_synthetic(str(root), n_train=4, n_val=2, size=(64, 128), seed=5)
    o = {f'{k}.dataset.data_root': str(root) for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    o['train_cfg.val_interval'] = 100
    return o


def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_killed_save_then_resume_falls_back_and_matches_uninterrupted(opts, tmp_path):
    full = build_runner(prepare_config(CFG, work_dir=str(tmp_path / 'full'), cfg_options=opts))
    full.train()
    ref = _params(full.model)
    part = tmp_path / 'part'
    build_runner(prepare_config(CFG, work_dir=str(part), cfg_options=dict(opts, **{'train_cfg.max_iters': 4}))).train()
    # what a kill -9 during the next save leaves: a temp file of the dead writer, and (worse case) a
    # last_checkpoint naming a truncated file
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    (part / f'iter_8.pth.tmp{dead.pid}').write_bytes((part / 'iter_4.pth').read_bytes()[:3000])
    (part / 'iter_6.pth').write_bytes((part / 'iter_4.pth').read_bytes()[:3000])
    (part / 'last_checkpoint').write_text(str(part / 'iter_6.pth'))
    resumed = build_runner(prepare_config(CFG, work_dir=str(part), resume=True, cfg_options=opts))
    resumed.train()
    assert resumed.iter == 8
    got = _params(resumed.model)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], atol=0, rtol=0, msg=k)
    assert _temp_files(part) == []
    log = ''.join(p.read_text() for p in part.rglob('*.log'))   # the first run's log and the resumed run's
    assert f'resumed from {part / "iter_4.pth"}' in log and 'iter_6.pth' in log


def test_resume_with_empty_last_checkpoint_uses_newest(opts, tmp_path):
    build_runner(prepare_config(CFG, work_dir=str(tmp_path), cfg_options=dict(opts, **{'train_cfg.max_iters': 4}))
                 ).train()
    (tmp_path / 'last_checkpoint').write_text('')
    runner = build_runner(prepare_config(CFG, work_dir=str(tmp_path), resume=True, cfg_options=opts))
    runner.load_or_resume()
    assert runner.iter == 4


def test_ctrl_c_in_training_exits_130_without_traceback(opts, tmp_path):
    argv = [f'{k}={v}' for k, v in dict(opts, **{'train_cfg.max_iters': 100000,
                                                 'default_hooks.checkpoint.interval': 2}).items()]
    p = subprocess.Popen([sys.executable, '-m', 'hrvision', 'train', CFG, '--work-dir', str(tmp_path),
                          '--cfg-options', *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 300
    while not (tmp_path / 'iter_4.pth').exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.2)
    assert p.poll() is None, p.communicate()[1][-2000:]
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, err[-3000:]
    assert 'Traceback' not in err and 'interrupted at iteration' in err, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert 'last checkpoint: ' in last and '--resume' in last, last
    named = last.split('last checkpoint: ')[1].split(' (')[0]
    assert Path(named).is_file() and load_local(named)['meta']['iter'] >= 4
    assert (tmp_path / 'last_checkpoint').read_text().strip() == named
    assert _temp_files(tmp_path) == []


def test_cli_test_on_truncated_or_corrupt_checkpoint_is_one_line_exit_2(opts, tmp_path):
    from mmengine.config import Config

    from hrvision.registry import MODELS
    sd = MODELS.build(Config.fromfile(CFG).model).state_dict()
    good = tmp_path / 'iter_4.pth'
    atomic_save_checkpoint({'state_dict': sd, 'meta': {'iter': 4}}, str(good))
    (tmp_path / 'truncated.pth').write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    _flip_tensor_byte(good, 'data/3')
    argv = [f'{k}={v}' for k, v in opts.items()]
    for name, text in (('truncated.pth', 'truncated, corrupt or not a PyTorch file'), ('iter_4.pth', 'is corrupt')):
        r = subprocess.run([sys.executable, '-m', 'hrvision', 'test', CFG, str(tmp_path / name), '--work-dir',
                            str(tmp_path / 'w'), '--cfg-options', *argv], capture_output=True, text=True, env=ENV,
                           timeout=600)
        lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
        assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-2000:]
        assert len(lines) == 1 and name in lines[0] and text in lines[0], lines


_KILL_DURING_SAVE = '''
import os, signal, sys, torch
save, calls = torch.save, []
def killed_mid_write(obj, f, *args, **kwargs):  # the 3rd checkpoint: half its bytes, then SIGKILL
    calls.append(1)
    if len(calls) == 3:
        f.write(b'half-written checkpoint' * 4096)
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return save(obj, f, *args, **kwargs)
torch.save = killed_mid_write
from hrvision.cli import main
sys.exit(main(sys.argv[1:]))
'''


def test_sigkill_during_a_save_then_resume_matches_uninterrupted(opts, tmp_path):
    """A real kill -9 in the middle of writing iter_6.pth; ``--resume`` then ends with the same weights."""
    argv = ['--cfg-options', *[f'{k}={v}' for k, v in opts.items()], 'default_hooks.checkpoint.interval=2']
    full, part = tmp_path / 'full', tmp_path / 'part'
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'train', CFG, '--work-dir', str(full), *argv],
                       capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([sys.executable, '-c', _KILL_DURING_SAVE, 'train', CFG, '--work-dir', str(part), *argv],
                       capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    assert sorted(p.name for p in part.glob('iter_*.pth')) == ['iter_2.pth', 'iter_4.pth']
    assert len(_temp_files(part)) == 1   # what the killed writer left
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'train', CFG, '--work-dir', str(part), '--resume', *argv],
                       capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _temp_files(part) == []
    final = sorted(full.glob('iter_*.pth'))[-1].name
    want, got = load_local(str(full / final))['state_dict'], load_local(str(part / final))['state_dict']
    assert want.keys() == got.keys()
    for k in want:
        torch.testing.assert_close(got[k], want[k], atol=0, rtol=0, msg=k)


def _sigint_inside_config_formatting(monkeypatch, when):
    """Ctrl-C arriving while mmengine formats the config (``pretty_text``, which catches everything and raises
    ``SyntaxError``) at the moments ``when(stack)`` picks."""
    import mmengine.config.config as config_mod
    original = config_mod.FormatCode

    def formatting(*args, **kwargs):
        names, frame = set(), sys._getframe(1)
        while frame is not None:
            names.add(frame.f_code.co_name)
            frame = frame.f_back
        if when(names):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)   # the handler runs here, inside the formatter's try
        return original(*args, **kwargs)
    monkeypatch.setattr(config_mod, 'FormatCode', formatting)


def test_ctrl_c_while_a_checkpoint_is_assembled_finishes_it_then_stops(opts, tmp_path, monkeypatch):
    from hrvision.engine.runner import TrainingInterrupted, train
    _sigint_inside_config_formatting(monkeypatch, lambda names: 'save_checkpoint' in names)
    with pytest.raises(TrainingInterrupted) as e:
        train(CFG, work_dir=str(tmp_path), cfg_options=dict(opts, **{'train_cfg.max_iters': 100,
                                                                     'default_hooks.checkpoint.interval': 2}))
    assert 'interrupted at iteration 2' in str(e.value) and 'iter_2.pth' in str(e.value), str(e.value)
    assert load_local(str(tmp_path / 'iter_2.pth'))['meta']['iter'] == 2   # complete, digest checked
    assert (tmp_path / 'last_checkpoint').read_text().strip() == str(tmp_path / 'iter_2.pth')
    assert _temp_files(tmp_path) == []


def test_ctrl_c_that_a_library_rethrows_exits_130_not_2(opts, tmp_path, monkeypatch, capsys):
    from hrvision.cli import main
    _sigint_inside_config_formatting(monkeypatch, lambda names: 'save_checkpoint' not in names)  # at start-up
    argv = [f'{k}={v}' for k, v in opts.items()]
    assert main(['train', CFG, '--work-dir', str(tmp_path), '--cfg-options', *argv]) == 130
    err = capsys.readouterr().err
    assert 'interrupted' in err and 'SyntaxError' not in err and 'error' not in err, err
