"""Export (torch.export .pt2 with dynamic sizes, TorchScript) gives the eager outputs at any size."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import hrvision
from hrvision.backbones.hrnet import tiny_extra
from hrvision.export import export_model, load_exported

from .conftest import load_ref, ref_path


def test_pt2_dynamic_sizes_equal_eager(tmp_path):
    torch.manual_seed(0)
    model = hrvision.HRNet(extra=tiny_extra(4), upsample_mode='bilinear', align_corners=False)
    report = export_model(model, str(tmp_path / 'hrnet.pt2'), (64, 96), check_shape=(77, 101))
    assert set(report.checks) == {(64, 96), (77, 101)} and max(report.checks.values()) <= 1e-5
    exported = load_exported(str(tmp_path / 'hrnet.pt2'))
    x = torch.randn(1, 3, 50, 130)
    with torch.no_grad():
        for a, b in zip(model(x), exported(x)):
            torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)


def test_cli_exports_official_seg_model_torchscript(tmp_path):
    out = tmp_path / 'seg.ts'
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'export', str(ref_path('seg_tiny_config.json')),
                        str(ref_path('seg_tiny_state.pt')), '--shape', '128', '256', '--out', str(out),
                        '--format', 'torchscript'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'max |eager - exported|' in r.stdout
    io = load_ref('seg_tiny_io.pt')
    with torch.no_grad():
        torch.testing.assert_close(load_exported(str(out))(io['input']), io['output'], atol=1e-4, rtol=1e-4)


def test_unknown_format():
    with pytest.raises(ValueError, match='pt2'):
        export_model(hrvision.HRNet(extra=tiny_extra(4)), 'x.tflite', (32, 32), fmt='tflite')


@pytest.mark.parametrize('fmt', ['torchscript', 'pt2'])
def test_cli_refuses_an_export_that_differs_and_writes_nothing(tmp_path, fmt):
    out = tmp_path / f'model.{fmt}'
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'export', 'tests/configs/export_branch.py', '--shape', '32',
                        '32', '--out', str(out), '--format', fmt], capture_output=True, text=True,
                       cwd=str(Path(__file__).resolve().parents[1]))
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert len(lines) == 1 and 'export refused, nothing written' in lines[0] and '69x53' in lines[0], lines
    if fmt == 'torchscript':   # the numeric check: names the worst difference
        assert 'differs from eager by up to' in lines[0], lines
    assert list(tmp_path.iterdir()) == [], 'no file at --out and no temporary file'
