"""One strict way into a model: ``hrvision test`` / ``load_from`` go through ``load_weights``.

The same trained weights in hrvision, official and mmpose layout give the same metric to the last digit;
a checkpoint of another width, a torchvision ResNet and an incomplete checkpoint are refused (exit 2, a
one-line reason) instead of evaluating random weights.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from hrvision.engine.runner import build_runner, prepare_config
from hrvision.tasks.segmentation import synth as seg_synth
from hrvision.registry import MODELS
from hrvision.weights import WeightsMismatchError

CFG = str(Path(__file__).parent / 'configs' / 'seg_tiny.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(data root, cfg options, trained state dict): 4 iterations of the tiny seg config."""
    root = tmp_path_factory.mktemp('strict')
    seg_synth.write_synthetic(str(root / 'data'), n_train=4, n_val=2, size=(64, 128), seed=3)
    opts = {f'{k}.dataset.data_root': str(root / 'data') for k in ('train_dataloader', 'val_dataloader',
                                                                   'test_dataloader')}
    opts.update({'train_cfg.max_iters': 4, 'train_cfg.val_interval': 100})
    runner = build_runner(prepare_config(CFG, work_dir=str(root / 'work'), cfg_options=opts))
    runner.train()
    return root, opts, {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


def _test(ckpt, opts, work, *extra):
    argv = [f'{k}={v}' for k, v in opts.items()]
    return subprocess.run([sys.executable, '-m', 'hrvision', 'test', CFG, str(ckpt), '--work-dir', str(work),
                           *extra, '--cfg-options', *argv], capture_output=True, text=True, env=ENV, timeout=600)


def _metrics(stdout):
    start = stdout.rindex('\n{') + 1
    return json.loads(stdout[start:stdout.index('\n}', start) + 2])


def test_same_weights_in_three_formats_give_the_same_metric(trained, tmp_path):
    root, opts, sd = trained
    layouts = {
        'hrvision': {'state_dict': sd, 'meta': {}},
        'official': {k.split('.', 1)[1]: v for k, v in sd.items()},            # conv1.*, last_layer.*
        'mmpose': {'state_dict': {k.replace('head.', 'decode_head.', 1) if k.startswith('head.') else k: v
                                  for k, v in sd.items()}},
    }
    metrics = {}
    for name, obj in layouts.items():
        torch.save(obj, tmp_path / f'{name}.pth')
        r = _test(tmp_path / f'{name}.pth', opts, tmp_path / name)
        assert r.returncode == 0, r.stderr[-2000:]
        metrics[name] = _metrics(r.stdout)
    assert metrics['official'] == metrics['hrvision'] == metrics['mmpose'], metrics
    assert set(metrics['hrvision']) >= {'seg/mIoU', 'seg/pixel_acc'}


def _one_line_error(r):
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    return lines


def test_other_width_and_resnet_are_refused(trained, tmp_path):
    root, opts, sd = trained
    cfg = Config.fromfile(CFG)   # the same network at twice the branch widths (like w36 weights for w18)
    for stage in ('STAGE2', 'STAGE3', 'STAGE4'):
        cfg.model.backbone.extra[stage].NUM_CHANNELS = [2 * c for c in cfg.model.backbone.extra[stage].NUM_CHANNELS]
    cfg.model.neck.in_channels = [8, 16, 32, 64]
    cfg.model.head.in_channels = 120
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, tmp_path / 'wide.pth')
    lines = _one_line_error(_test(tmp_path / 'wide.pth', opts, tmp_path / 'w'))
    assert len(lines) == 1 and 'wide.pth does not fit' in lines[0] and 'shape mismatch' in lines[0], lines
    import torchvision
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / 'resnet18.pth')
    lines = _one_line_error(_test(tmp_path / 'resnet18.pth', opts, tmp_path / 'r'))
    assert len(lines) == 1 and 'resnet18.pth' in lines[0], lines
    assert 'shape mismatch' in lines[0] or 'shares no key' in lines[0], lines


def test_incomplete_checkpoint_refused_unless_allow_partial(trained, tmp_path):
    root, opts, sd = trained
    torch.save({'state_dict': {k: v for k, v in sd.items() if not k.startswith('head.')}}, tmp_path / 'bb.pth')
    r = _test(tmp_path / 'bb.pth', opts, tmp_path / 'a')
    lines = _one_line_error(r)
    assert 'leaves 8 of the model' in lines[0] and 'head.last_layer.0.weight' in r.stderr, r.stderr
    r = _test(tmp_path / 'bb.pth', opts, tmp_path / 'b', '--allow-partial')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'partial load' in r.stdout + r.stderr and 'task head not in the checkpoint' in r.stdout + r.stderr


def test_load_from_in_a_config_is_strict(trained, tmp_path):
    root, opts, sd = trained
    torch.save({'conv1.weight': torch.zeros(3)}, tmp_path / 'bad.pth')
    runner = build_runner(prepare_config(CFG, work_dir=str(tmp_path), cfg_options=dict(
        opts, load_from=str(tmp_path / 'bad.pth'))))
    with pytest.raises(ValueError, match='shape mismatch'):
        runner.load_or_resume()
    torch.save({'state_dict': dict(sd, extra=torch.zeros(1))}, tmp_path / 'extra.pth')
    runner = build_runner(prepare_config(CFG, work_dir=str(tmp_path), resume=str(tmp_path / 'extra.pth'),
                                         cfg_options=opts))
    with pytest.raises(WeightsMismatchError, match='strict'):   # resume: keys must match exactly
        runner.load_or_resume()


def test_deliberate_partial_load_from_is_explicit(trained, tmp_path):
    root, opts, sd = trained
    torch.save({k.split('.', 1)[1]: v for k, v in sd.items() if k.startswith('backbone.')}, tmp_path / 'bb.pth')
    opts = dict(opts, load_from=str(tmp_path / 'bb.pth'))
    with pytest.raises(WeightsMismatchError, match='allow_partial'):
        build_runner(prepare_config(CFG, work_dir=str(tmp_path / 'a'), cfg_options=dict(
            opts, experiment_name='refused'))).load_or_resume()
    # Distinct experiment names: two runners started within one second would otherwise share mmengine's
    # timestamp-named logger, and the second run's lines would land in the first run's log.
    runner = build_runner(prepare_config(CFG, work_dir=str(tmp_path / 'b'), cfg_options=dict(
        opts, allow_partial_load=True, experiment_name='partial')))
    runner.load_or_resume()
    got = runner.model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in sd.items() if k.startswith('backbone.'))
    log = next((tmp_path / 'b').rglob('*.log')).read_text()
    assert 'partial load' in log and 'task head not in the checkpoint' in log
