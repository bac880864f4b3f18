"""Weight loading: format detection, prefixes, safetensors, reports, and bad checkpoints."""
import json
import subprocess
import sys

import pytest
import torch

import hrvision
from hrvision.backbones.hrnet import tiny_extra
from hrvision.weights import CheckpointError, detect_format, read_checkpoint


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
    report = hrvision.load_weights(_fresh(), sd)
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


def test_strict_raises_on_missing(tiny_sd):
    sd = dict(tiny_sd)
    sd.pop('conv1.weight')
    with pytest.raises(KeyError, match='strict'):
        hrvision.load_weights(_fresh(), sd, strict=True)


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


def test_flops_cli_json_matches_official():
    out = subprocess.run([sys.executable, '-m', 'hrvision', 'flops', 'hrnet_w18_small_v1', '--shape', '224', '224',
                          '--json'], capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    # the cls W18-Small-v1 backbone part: 1.49 official GFLOPs include the cls head; the backbone alone is less
    assert d['name'] == 'hrnet_w18_small_v1' and 0.3 < d['gflops'] < 1.49
    assert d['params'] == sum(p.numel() for p in hrvision.build_backbone('hrnet_w18_small_v1').parameters())


def test_cli_errors_are_clear():
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'flops', 'hrnet_w7'], capture_output=True, text=True)
    assert r.returncode == 2 and 'unknown HRNet variant' in r.stderr and 'hrnet_w18' in r.stderr
