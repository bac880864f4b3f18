"""Weight loading: format detection, prefixes, safetensors, reports, and bad checkpoints."""
import json
import subprocess
import sys

import pytest
import torch

import hrvision
from hrvision.backbones.hrnet import tiny_extra
from hrvision.weights import CheckpointError, WeightsMismatchError, detect_format, read_checkpoint
from tests.conftest import ref_path


@pytest.fixture(scope='module')
def tiny_sd():
    torch.manual_seed(0)
    return hrvision.HRNet(extra=tiny_extra(4)).state_dict()


def _fresh():
    return hrvision.HRNet(extra=tiny_extra(4))


def _assert_loaded(model, sd):
    for k, v in sd.items():
        torch.testing.assert_close(model.state_dict()[k], v)


@pytest.mark.parametrize('prefix, fmt', [('', 'official'), ('module.', 'official(wrapped)'), ('backbone.', 'mmpose'),
                                         ('model.', 'official(wrapped)')])
def test_prefixes_are_detected_and_stripped(tiny_sd, prefix, fmt):
    sd = {prefix + k: v for k, v in tiny_sd.items()}
    assert detect_format(sd) == fmt
    m = _fresh()
    report = hrvision.load_weights(m, {'state_dict': sd})
    assert report.missing_keys == [] and report.unexpected_keys == []
    _assert_loaded(m, tiny_sd)


def test_file_formats_pth_and_safetensors(tiny_sd, tmp_path):
    from safetensors.torch import save_file
    pth, st = tmp_path / 'w.pth', tmp_path / 'w.safetensors'
    torch.save({'state_dict': tiny_sd, 'meta': {'epoch': 3}}, pth)
    save_file({k: v.contiguous() for k, v in tiny_sd.items()}, str(st))
    for path in (pth, st):
        m = _fresh()
        report = hrvision.load_weights(m, path)
        assert report.missing_keys == [] and report.source == str(path)
        _assert_loaded(m, tiny_sd)


def test_report_explains_dropped_keys(tiny_sd):
    sd = dict(tiny_sd)
    sd['classifier.weight'] = torch.zeros(10, 4)
    sd['loss.criterion.weight'] = torch.ones(19)
    sd.pop('stage4.1.fuse_layers.1.0.0.0.weight')
    report = hrvision.load_weights(_fresh(), sd, allow_partial=True)
    why = report.explain()
    assert why['unexpected']['training-loss state saved by the official seg FullModel'] == ['loss.criterion.weight']
    assert any('classification head' in cause for cause in why['unexpected'])
    assert any('pose checkpoints' in cause for cause in why['missing'])
    assert 'missing 1' in str(report)


def test_shape_mismatch_names_key_and_shapes(tiny_sd):
    sd = dict(tiny_sd)
    sd['conv1.weight'] = torch.zeros(64, 3, 5, 5)
    with pytest.raises(ValueError, match=r"conv1.weight.*\(64, 3, 5, 5\).*\(64, 3, 3, 3\)"):
        hrvision.load_weights(_fresh(), sd)


def test_incomplete_load_is_refused_and_leaves_the_model_unchanged(tiny_sd):
    sd = dict(tiny_sd)
    sd.pop('conv1.weight')
    model = _fresh()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(WeightsMismatchError, match=r'leaves 1 of the model.s tensors unset(.|\n)*conv1.weight'):
        hrvision.load_weights(model, sd)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    report = hrvision.load_weights(model, sd, allow_partial=True)   # deliberate: reported, not refused
    assert report.missing_keys == ['conv1.weight']


def test_strict_also_refuses_unexpected_keys(tiny_sd):
    sd = dict(tiny_sd, **{'classifier.weight': torch.zeros(3, 3)})
    assert hrvision.load_weights(_fresh(), sd).unexpected_keys == ['classifier.weight']
    with pytest.raises(KeyError, match='strict'):
        hrvision.load_weights(_fresh(), sd, strict=True)


def test_no_shared_key_is_an_error_not_zero_tensors():
    with pytest.raises(WeightsMismatchError, match='shares no key with the HRNet model'):
        hrvision.load_weights(_fresh(), {'fc.weight': torch.zeros(2, 2), 'fc.bias': torch.zeros(2)})


def test_bad_checkpoints_name_the_file(tiny_sd, tmp_path):
    truncated = tmp_path / 'truncated.pth'
    torch.save(tiny_sd, truncated)
    truncated.write_bytes(truncated.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match='truncated.pth'):
        read_checkpoint(truncated)
    not_sd = tmp_path / 'list.pth'
    torch.save([1, 2, 3], not_sd)
    with pytest.raises(CheckpointError, match=r'list.pth is not a state dict'):
        read_checkpoint(not_sd)
    pickled = tmp_path / 'module.pth'
    torch.save(torch.nn.Linear(2, 2), pickled)  # a whole pickled module: refused under weights_only=True
    with pytest.raises(CheckpointError, match='module.pth.*weights_only'):
        read_checkpoint(pickled)
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        read_checkpoint(tmp_path / 'nope.pth')


@pytest.mark.parametrize('arch, seg, width', [('hrnet_w18_small_v1', 'seg_cityscapes_w18_small_v1', 240),
                                               ('hrnet_w18_small_v2', 'seg_cityscapes_w18_small_v2', 270)])
def test_flops_cli_json_matches_official(arch, seg, width):
    """The official Cityscapes model = backbone + ``last_layer`` (1x1 conv C->C with bias, BN, 1x1 conv C->19 with
    bias at stride 4, C = the concatenated widths); its official count (model_stats.json, made with the official
    ``get_model_summary`` at 1024x2048) minus that head must equal the CLI's backbone count. At 256x512 every map
    is exactly 1/16 of the official size (all divisible by 32), so the MACs are exactly 1/16."""
    official = json.loads(ref_path('model_stats.json').read_text())['models'][seg]
    assert official['input_hw'] == [1024, 2048]
    out = subprocess.run([sys.executable, '-m', 'hrvision', 'flops', arch, '--shape', '256', '512', '--json'],
                         capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    head_params = width * width + width + 2 * width + width * 19 + 19
    head_macs = 256 * 512 * (width * width + width * 19)
    assert d['name'] == arch and d['params'] + head_params == official['params']
    assert (16 * d['macs'] + head_macs) / 2 ** 30 == official['official_summary_GFLOPs_2pow30']
    assert d['gflops'] == d['macs'] / 2 ** 30


def test_cli_errors_are_clear():
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'flops', 'hrnet_w7'], capture_output=True, text=True)
    assert r.returncode == 2 and 'unknown HRNet variant' in r.stderr and 'hrnet_w18' in r.stderr
