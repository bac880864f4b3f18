"""Bad input to the API, configs and the CLI (issue 12): each case gets one clear error naming the
option / file / line / key and what was expected; from the CLI exit 2, one ``hrvision: error:`` line,
no traceback (``HRVISION_DEBUG=1`` shows it). Data readers are in ``test_bad_input_data.py``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

import hrvision
from hrvision.backbones.hrnet import tiny_extra
from hrvision.cli import main
from hrvision.engine.runner import prepare_config
from hrvision.errors import HRVisionError
from hrvision.necks import HRNetV2Concat, HRNetV2p
from hrvision.registry import MODELS

from .conftest import REPO

SEG_TINY = REPO / 'tests' / 'configs' / 'seg_tiny.py'
TINY = dict(extra=tiny_extra(4))


def _stage(n):
    return dict(NUM_MODULES=1, NUM_BLOCKS=[1] * n, NUM_CHANNELS=[4 * 2 ** i for i in range(n)])


def _extra(**stage_changes):
    extra = tiny_extra(4)
    for k, v in stage_changes.items():
        extra[k] = v
    return extra


# ---- API: backbone / neck options, names ------------------------------------------------------------------
# (call, exception type, words the message must contain)
API_CASES = {
    'unknown variant, did-you-mean': (lambda: hrvision.build_backbone('hrnet_w33'), KeyError,
                                      ["'hrnet_w33'", "did you mean 'hrnet_w32'", 'hrnet_w64']),
    'variant name not a string': (lambda: hrvision.build_backbone(32), TypeError, ['arch', 'hrnet_w18']),
    'frozen_stages too large': (lambda: hrvision.HRNet(frozen_stages=9, **TINY), ValueError,
                                ['frozen_stages', '[-1, 4]', '9']),
    'frozen_stages too small': (lambda: hrvision.HRNet(frozen_stages=-2, **TINY), ValueError, ['frozen_stages']),
    'frozen_stages a string': (lambda: hrvision.HRNet(frozen_stages='1', **TINY), TypeError,
                               ['frozen_stages', 'integer']),
    'norm_momentum negative': (lambda: hrvision.HRNet(norm_momentum=-1, **TINY), ValueError,
                               ['norm_momentum', '[0.0, 1.0]', '-1']),
    'norm_momentum NaN': (lambda: hrvision.HRNet(norm_momentum=float('nan'), **TINY), ValueError, ['norm_momentum']),
    'upsample_mode unknown': (lambda: hrvision.HRNet(upsample_mode='cubic', **TINY), ValueError,
                              ['upsample_mode', "'nearest'", "did you mean 'bicubic'"]),
    'in_channels zero': (lambda: hrvision.HRNet(in_channels=0, **TINY), ValueError, ['in_channels', '0']),
    'in_channels float': (lambda: hrvision.HRNet(in_channels=3.0, **TINY), TypeError, ['in_channels', 'integer']),
    'out_indices out of range': (lambda: hrvision.HRNet(out_indices=(4,), **TINY), ValueError,
                                 ['out_indices', '0..3']),
    'out_indices empty': (lambda: hrvision.HRNet(out_indices=(), **TINY), ValueError, ['out_indices']),
    'out_indices repeated': (lambda: hrvision.HRNet(out_indices=(0, 0), **TINY), ValueError, ['out_indices']),
    'out_indices an int': (lambda: hrvision.HRNet(out_indices=2, **TINY), TypeError, ['out_indices', 'list']),
    'out_indices beyond single-scale output': (
        lambda: hrvision.HRNet(multi_scale_output=False, out_indices=(0, 1), **TINY), ValueError,
        ['out_indices', '1 output']),
    'align_corners not a bool': (lambda: hrvision.HRNet(align_corners='yes', **TINY), TypeError, ['align_corners']),
    'with_cp not a bool': (lambda: hrvision.HRNet(with_cp=1, **TINY), TypeError, ['with_cp', 'True or False']),
    'extra lacks a stage': (lambda: hrvision.HRNet(extra={'STAGE2': _stage(2)}), KeyError, ['STAGE3', 'STAGE4']),
    'extra branch count wrong': (lambda: hrvision.HRNet(extra=_extra(STAGE3=_stage(2))), ValueError,
                                 ['STAGE3.NUM_BLOCKS', '3 entries']),
    'extra block misspelt': (lambda: hrvision.HRNet(extra=_extra(STAGE2={**_stage(2), 'BLOCK': 'BASC'})), ValueError,
                             ['STAGE2.BLOCK', "did you mean 'BASIC'"]),
    'extra channels zero': (lambda: hrvision.HRNet(extra=_extra(STAGE2={**_stage(2), 'NUM_CHANNELS': [4, 0]})),
                            ValueError, ['STAGE2.NUM_CHANNELS[1]']),
    'extra not a dict': (lambda: hrvision.HRNet(extra=[1, 2]), TypeError, ['extra', 'dict']),
    'neck pooling unknown': (lambda: HRNetV2p([4, 8], pooling='mean'), ValueError, ['pooling', "'avg'"]),
    'neck out_channels zero': (lambda: HRNetV2p([4, 8], out_channels=0), ValueError, ['out_channels']),
    'neck in_channels empty': (lambda: HRNetV2p([]), ValueError, ['in_channels', 'empty']),
    'neck num_outs zero': (lambda: HRNetV2p([4, 8], num_outs=0), ValueError, ['num_outs']),
    'concat mode unknown': (lambda: HRNetV2Concat([4, 8], mode='cubic'), ValueError, ['mode', 'bicubic']),
    'concat negative channels': (lambda: HRNetV2Concat([4, -8]), ValueError, ['in_channels[1]']),
    'registry type misspelt': (lambda: MODELS.build(dict(type='HRNetV2Concatt')), KeyError,
                               ["'HRNetV2Concatt'", "did you mean 'HRNetV2Concat'"]),
    'registry backbone name misspelt': (lambda: MODELS.build(dict(type='hrnet_w33')), KeyError, ["'hrnet_w32'"]),
}


@pytest.mark.parametrize('case', list(API_CASES))
def test_api_bad_options(case):
    call, exc, words = API_CASES[case]
    with pytest.raises(exc) as e:
        call()
    assert isinstance(e.value, HRVisionError), type(e.value)
    msg = str(e.value)
    assert '\n' not in msg and all(w in msg for w in words), msg


# ---- API: forward inputs and count() ----------------------------------------------------------------------
@pytest.fixture(scope='module')
def tiny_net():
    return hrvision.HRNet(**TINY).eval()


@pytest.fixture(scope='module')
def tiny_seg():
    return MODELS.build(dict(type='SegmentationModel', backbone=dict(type='HRNet', **TINY),
                             neck=dict(type='HRNetV2Concat', in_channels=[4, 8, 16, 32]),
                             head=dict(type='SegmentationHead', in_channels=60, num_classes=3))).eval()


FORWARD_CASES = {
    'numpy image': (np.zeros((1, 3, 32, 32), np.float32), ['torch.Tensor', 'ndarray', 'from_numpy']),
    'uint8 tensor': (torch.zeros(1, 3, 32, 32, dtype=torch.uint8), ['floating-point', 'torch.uint8', '.float()']),
    'float64 tensor': (torch.zeros(1, 3, 32, 32, dtype=torch.float64), ['torch.float32', 'torch.float64']),
    '3-D tensor': (torch.zeros(3, 32, 32), ['4-D', '(3, 32, 32)']),
    'wrong channels': (torch.zeros(1, 4, 32, 32), ['3 input channels', 'got 4']),
}


@pytest.mark.parametrize('case', list(FORWARD_CASES))
def test_forward_checks_input_at_the_entrance(case, tiny_net, tiny_seg):
    x, words = FORWARD_CASES[case]
    for model, name in ((tiny_net, 'HRNet'), (lambda t: tiny_seg(t, mode='tensor'), None)):
        with pytest.raises(ValueError) as e:
            model(x)
        msg = str(e.value)
        assert all(w in msg for w in words) and (name is None or name in msg), msg


def test_forward_accepts_what_it_should(tiny_net):
    """The checks refuse nothing legitimate: float32, a float64 model with float64 input, bf16 autocast."""
    x = torch.randn(1, 3, 32, 32)
    ref = tiny_net(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert len(tiny_net(x)) == 4
    m64 = hrvision.HRNet(**TINY).eval().double()
    assert m64(x.double())[0].dtype == torch.float64
    assert torch.equal(tiny_net(x)[0], ref[0])


COUNT_CASES = {
    'zero height': ((0, 64), ValueError, ['shape H', 'got 0']),
    'negative width': ((64, -1), ValueError, ['shape W', 'got -1']),
    'non-numeric': (('a', 64), TypeError, ['shape H', 'integer', "'a'"]),
    'float size': ((64.5, 64), TypeError, ['shape H', 'integer']),
    'one number': ((64,), ValueError, ['(H, W)']),
    'an int': (64, ValueError, ['(H, W)']),
}


@pytest.mark.parametrize('case', list(COUNT_CASES))
def test_count_bad_shape(case, tiny_net):
    hw, exc, words = COUNT_CASES[case]
    with pytest.raises(exc) as e:
        hrvision.count(tiny_net, hw)
    assert all(w in str(e.value) for w in words), str(e.value)


def test_count_not_a_module():
    with pytest.raises(ValueError, match='nn.Module'):
        hrvision.count('hrnet_w32', (64, 64))


def test_count_on_meta_device_equals_real():
    """The CLI counts on the meta device (any size instantly); the figures equal a real forward."""
    real = hrvision.count(hrvision.HRNet(**TINY), (50, 70))
    with torch.device('meta'):
        meta = hrvision.HRNet(**TINY)
    assert hrvision.count(meta, (50, 70)) == real


# ---- configs ----------------------------------------------------------------------------------------------
def _cfg(tmp_path: Path, body: str, name: str = 'cfg.py') -> str:
    p = tmp_path / name
    p.write_text(body)
    return str(p)


BASE = f"_base_ = ['{SEG_TINY}']\n"
# (file text or None for the plain tiny config, --cfg-options, exception type, words)
CONFIG_CASES = {
    'syntax error': ("a = 1\nmodel = dict(type='X'\n", None, ValueError, ['cfg.py', 'line 2', 'syntax error']),
    'syntax error in a _base_': (None, None, ValueError, ['broken_base.py', 'line 3']),
    'undefined name': ('a = 1\nb = 2\nx = undefined_name\n', None, ValueError, ['cfg.py', 'line 3', 'undefined_name']),
    'top-level typo': (BASE + 'trian_cfg = dict(max_iters=3)\n', None, KeyError,
                       ["'trian_cfg'", "did you mean 'train_cfg'", 'cfg.py']),
    'nested override typo': (BASE, {'train_cfg.max_iter': 5}, KeyError,
                             ['train_cfg.max_iter', "did you mean 'train_cfg.max_iters'"]),
    'nested override typo in model': (BASE, {'model.nek.in_channels': [1]}, KeyError, ["'model.neck'"]),
    'override through a number': (BASE, {'train_cfg.max_iters.x': 1}, KeyError, ['train_cfg.max_iters', 'not a dict']),
    'override list index': (BASE, {'train_dataloader.dataset.pipeline.9.type': 'X'}, KeyError,
                            ['pipeline', 'index 0..4', "'9'"]),
    'max_iters zero': (BASE, {'train_cfg.max_iters': 0}, ValueError, ['train_cfg.max_iters', 'got 0', 'cfg.py']),
    'max_iters negative in the file': (BASE + 'train_cfg = dict(max_iters=-5)\n', None, ValueError,
                                       ['train_cfg.max_iters', '-5']),
    'max_iters a string': (BASE, {'train_cfg.max_iters': '10'}, TypeError, ['train_cfg.max_iters', 'integer']),
    'max_epochs zero': (BASE + "train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=0)\n", None,
                        ValueError, ['train_cfg.max_epochs', 'got 0']),
    'val_interval zero': (BASE, {'train_cfg.val_interval': 0}, ValueError, ['train_cfg.val_interval']),
    'loop option misspelt': (BASE + 'train_cfg = dict(val_intervl=4)\n', None, KeyError,
                             ["'val_intervl'", "did you mean 'val_interval'"]),
    'loop type unknown': (BASE, {'train_cfg.type': 'IterBaseTrainLoop'}, KeyError, ["'IterBasedTrainLoop'"]),
    'train_cfg not a dict': (BASE + "train_cfg = 'iters'\n", None, ValueError, ['train_cfg must be a dict']),
    'batch_size zero': (BASE, {'train_dataloader.batch_size': 0}, ValueError, ['train_dataloader.batch_size']),
    'missing model': ('train_cfg = dict(max_iters=3)\n', None, KeyError, ['"model"', 'cfg.py']),
    'model not a dict': ('model = 5\n', None, ValueError, ['model must be a dict', '5']),
    'model without type': ('model = dict(backbone=dict())\n', None, KeyError, ['model has no "type"']),
    'model type misspelt': (BASE, {'model.type': 'SegmentationModle'}, KeyError, ["'SegmentationModel'"]),
    'backbone option misspelt': (BASE, {'model.backbone.frozen_stage': 1}, KeyError,
                                 ['model.backbone', "'frozen_stage'", "did you mean 'frozen_stages'"]),
    'model option misspelt': (BASE + "model = dict(test_cgf=dict())\n", None, KeyError, ["did you mean 'test_cfg'"]),
    'model lacks a required part': ("model = dict(type='SegmentationModel', backbone=dict(type='HRNet'))\n", None,
                                    KeyError, ["needs 'head', 'neck'"]),
    'dataset type misspelt': (BASE, {'train_dataloader.dataset.type': 'CityscapesDatset'}, KeyError,
                              ['train_dataloader.dataset.type', "did you mean 'CityscapesDataset'"]),
    'transform type misspelt': (BASE, {'train_dataloader.dataset.pipeline.0.type': 'LoadCityscape'}, KeyError,
                                ['pipeline[0].type', "did you mean 'LoadCityscapes'"]),
    'metric type misspelt': (BASE, {'val_evaluator.type': 'CityscapeMetric'}, KeyError,
                             ['val_evaluator.type', "did you mean 'SegmentationMetric'"]),
    'optimizer type wrong case': (BASE, {'optim_wrapper.optimizer.type': 'Adamw'}, KeyError, ["did you mean 'AdamW'"]),
    'hook type misspelt': (BASE, {'default_hooks.checkpoint.type': 'CheckpointHok'}, KeyError,
                           ['default_hooks.checkpoint.type', "did you mean 'CheckpointHook'"]),
    'not a config suffix': (None, None, ValueError, ['notes.txt', '.txt']),
    'a folder': (None, None, FileNotFoundError, ['is a folder']),
    'missing file': (None, None, FileNotFoundError, ['not found', 'nothing.py']),
    'yaml syntax': ('a: [1,\n', None, ValueError, ['cfg.yaml', 'line 2']),
    'json syntax': ('{"a": [1,\n}', None, ValueError, ['cfg.json', 'line 2']),
}


def _config_path(case: str, text: str | None, tmp_path: Path) -> str:
    if case == 'syntax error in a _base_':
        _cfg(tmp_path, 'a = 1\nb = 2\nc = (]\n', 'broken_base.py')
        return _cfg(tmp_path, "_base_ = ['broken_base.py']\nmodel = dict(type='X')\n")
    if case == 'not a config suffix':
        return _cfg(tmp_path, 'model = 1\n', 'notes.txt')
    if case == 'a folder':
        return str(tmp_path)
    if case == 'missing file':
        return str(tmp_path / 'nothing.py')
    suffix = {'yaml syntax': 'cfg.yaml', 'json syntax': 'cfg.json'}.get(case, 'cfg.py')
    return _cfg(tmp_path, text, suffix)


@pytest.mark.parametrize('case', list(CONFIG_CASES))
def test_config_errors(case, tmp_path):
    text, options, exc, words = CONFIG_CASES[case]
    path = _config_path(case, text, tmp_path)
    with pytest.raises(exc) as e:
        prepare_config(path, cfg_options=options)
    assert isinstance(e.value, HRVisionError), type(e.value)
    msg = str(e.value)
    assert '\n' not in msg and all(w in msg for w in words), msg


def test_valid_configs_still_pass():
    """The checks accept every shipped config (their _base_ helpers have no model and are skipped)."""
    configs = [p for p in sorted((REPO / 'configs').rglob('*.py'))
               if not p.name.startswith('_') and '_base_' not in p.parts]
    assert len(configs) > 10
    for p in configs:
        prepare_config(str(p))
    prepare_config(str(SEG_TINY), cfg_options={'train_cfg.max_iters': 2, 'test_evaluator.out_dir': 'x'})


# ---- CLI in-process (main() with capsys) --------------------------------------------------------------------
def _run(argv, capsys, monkeypatch):
    monkeypatch.delenv('HRVISION_DEBUG', raising=False)
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    return rc, err


def _cli_cases(tmp: Path) -> dict:
    cfg = _cfg(tmp, BASE, 'ok_cfg.py')
    syntax = _cfg(tmp, 'x = [1,\n', 'syntax_cfg.py')
    ckpt = tmp / 'weights.pth'
    ckpt.write_bytes(b'not a checkpoint')
    blocker = tmp / 'a_file'
    blocker.write_text('x')
    under_file = blocker / 'sub'    # unwritable: its parent is a file
    return {
        'flops unknown name': (['flops', 'hrnet_w33'], ["'hrnet_w33'", "did you mean 'hrnet_w32'"]),
        'flops zero shape': (['flops', 'hrnet_w32', '--shape', '0', '64'], ['--shape', "'0'", 'positive']),
        'flops negative shape': (['flops', 'hrnet_w32', '--shape', '64', '-3'], ['--shape', "'-3'"]),
        'flops non-numeric shape': (['flops', 'hrnet_w32', '--shape', 'a', '64'], ['--shape', "'a'"]),
        'flops missing name': (['flops'], ['name', 'required']),
        'unknown command': (['trian', 'x.py'], ["'trian'", 'train']),
        'train missing config': (['train', tmp / 'nope.py'], ['not found', 'nope.py']),
        'train folder as config': (['train', tmp], ['is a folder', str(tmp)]),
        'train non-config file': (['train', ckpt], ['weights.pth', '.pth']),
        'train config syntax error': (['train', syntax], ['syntax_cfg.py', 'line 1']),
        'train nested typo': (['train', cfg, '--cfg-options', 'train_cfg.max_iter=5'], ["'train_cfg.max_iters'"]),
        'train max_iters zero': (['train', cfg, '--cfg-options', 'train_cfg.max_iters=0'], ['train_cfg.max_iters']),
        'train override without =': (['train', cfg, '--cfg-options', 'max_iters'], ['--cfg-options', 'key=value']),
        'train --resume missing': (['train', cfg, '--resume', tmp / 'nope.pth'], ['--resume', 'nope.pth']),
        'test missing checkpoint': (['test', cfg, tmp / 'nope.pth'], ['checkpoint', 'nope.pth', 'not found']),
        'test folder as checkpoint': (['test', cfg, tmp], ['checkpoint', 'is a folder']),
        'test unwritable --out': (['test', cfg, ckpt, '--out', under_file], ['a_file']),
        'export missing checkpoint': (['export', cfg, tmp / 'nope.pth', '--shape', '64', '64', '--out', tmp / 'm.pt2'],
                                      ['nope.pth']),
        'export zero shape': (['export', cfg, '--shape', '0', '64', '--out', tmp / 'm.pt2'], ['--shape', "'0'"]),
        'export non-config file': (['export', ckpt, '--shape', '64', '64', '--out', tmp / 'm.pt2'], ['weights.pth']),
        'export unwritable --out': (['export', cfg, '--shape', '64', '64', '--out', under_file / 'm.pt2'], ['a_file']),
        'export missing --out': (['export', cfg, '--shape', '64', '64'], ['--out', 'required']),
        'demo zero iters': (['demo', '--iters', '0'], ['--iters', "'0'"]),
        'data negative count': (['data', 'synth-cityscapes', tmp / 'o', '--train', '-1'], ['--train', "'-1'"]),
        'data zero images': (['data', 'synth-coco-det', tmp / 'o', '--n', '0'], ['--n', "'0'"]),
        'data unwritable out': (['data', 'synth-cityscapes', under_file, '--train', '1', '--val', '1'], ['a_file']),
    }


with tempfile.TemporaryDirectory() as _tmp:
    CLI_NAMES = list(_cli_cases(Path(_tmp)))


@pytest.mark.parametrize('case', CLI_NAMES)
def test_cli_one_line_errors(case, tmp_path, capsys, monkeypatch):
    argv, words = _cli_cases(tmp_path)[case]
    try:
        rc, err = _run(argv, capsys, monkeypatch)
    except SystemExit as e:  # argparse usage errors leave through SystemExit(2)
        rc, err = e.code, capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, (rc, err)
    assert len(lines) == 1 and lines[0].startswith('hrvision: error: '), err
    assert 'Traceback' not in err and all(w in lines[0] for w in words), lines[0]


@pytest.mark.parametrize('exc, words', [
    (RuntimeError('CUDA out of memory'), ['hrvision train', 'cfg.py', 'RuntimeError: CUDA out of memory']),
    (OSError(28, 'No space left on device', '/work/iter_4.pth'), ['hrvision train', 'No space left on device',
                                                                   'iter_4.pth']),
    (IndexError('list index out of range'), ['hrvision train', 'cfg.py', 'IndexError']),
    (TypeError('bad\nmultiline'), ['TypeError: bad multiline']),
    (RuntimeError('Caught RuntimeError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n'
                  '  File "x.py", line 1\nRuntimeError: worker failed'), ['cfg.py', 'RuntimeError: worker failed']),
])
def test_cli_foreign_errors_name_the_input(exc, words, tmp_path, capsys, monkeypatch):
    """Errors not raised by hrvision itself still give one line, naming the command's input and the cause."""
    import hrvision.engine.runner as runner

    def boom(*a, **k):
        raise exc
    monkeypatch.setattr(runner, 'train', boom)
    rc, err = _run(['train', _cfg(tmp_path, BASE)], capsys, monkeypatch)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and all(w in lines[0] for w in words), err


# ---- CLI in a subprocess: the path users take -----------------------------------------------------------------
def _cli(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != 'HRVISION_DEBUG'}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, '-m', 'hrvision', *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120)


@pytest.mark.parametrize('args, words', [
    (['flops', 'hrnet_w33', '--shape', '64', '64'], ["did you mean 'hrnet_w32'"]),
    (['train', 'SYNTAX'], ['bad.py', 'line 2']),
    (['train', 'OK', '--cfg-options', 'train_cfg.max_iter=5'], ["did you mean 'train_cfg.max_iters'"]),
    (['test', 'OK', 'MISSING'], ['nope.pth']),
])
def test_cli_subprocess(args, words, tmp_path):
    files = {'SYNTAX': _cfg(tmp_path, 'a = 1\nb = dict(\n', 'bad.py'), 'OK': _cfg(tmp_path, BASE),
             'MISSING': tmp_path / 'nope.pth'}
    r = _cli(*[files.get(a, a) for a in args])
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith('hrvision: error: ') and 'Traceback' not in r.stderr, r.stderr
    assert all(w in lines[0] for w in words), lines[0]


def test_cli_debug_shows_the_traceback(tmp_path):
    r = _cli('train', _cfg(tmp_path, 'a = 1\nb = dict(\n', 'bad.py'), env_extra={'HRVISION_DEBUG': '1'})
    assert r.returncode != 0 and 'Traceback' in r.stderr and 'bad.py' in r.stderr, r.stderr[-2000:]
