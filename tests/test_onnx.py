"""ONNX export (BN folded, dynamic batch/height/width) checked with onnxruntime, and the onnxruntime backend of
the Inferencer: equal to eager / the torch backend at the traced size and at an odd one; refusals."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from hrvision.export import ExportCheckError, export_model, load_exported
from hrvision.inference import Inferencer
from hrvision.inference.ort import OnnxRuntimeModule
from tests.test_infer import setups  # noqa: F401  (tiny configs + checkpoints per task)

pytest.importorskip('onnxruntime')
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
SHAPES = {'seg': (64, 96), 'pose': (96, 72), 'face': (96, 96), 'multitask': (64, 64), 'det': (64, 96)}


def _model(cfg, ckpt):
    import hrvision
    return hrvision.init_model(cfg, ckpt, 'cpu')


@pytest.mark.parametrize('task', ['seg', 'pose', 'face', 'multitask', 'det'])
def test_onnx_export_matches_eager_at_two_sizes(setups, tmp_path, task):  # noqa: F811
    cfg, ckpt, _ = setups[task]
    model = _model(cfg, ckpt)
    path = str(tmp_path / 'm.onnx')
    report = export_model(model, path, SHAPES[task], 'onnx', check_shape=(50, 67))
    assert os.path.isfile(path) and set(report.checks) == {SHAPES[task], (50, 67)}
    ort = load_exported(path)
    x = torch.randn(2, 3, 83, 61)   # a third size and batch, after the file is in place
    from hrvision.export import TensorForward, _flat
    ref = [t.detach() for t in _flat(TensorForward(model)(x))]
    got = _flat(ort(x))
    assert len(ref) == len(got) > 0
    for a, b in zip(ref, got):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-4 * max(1.0, float(a.abs().max())))
    # BN is folded in the exported graph
    import onnx
    assert not any(n.op_type == 'BatchNormalization' for n in onnx.load(path).graph.node)


def test_onnx_export_refuses_a_mismatch(setups, tmp_path, monkeypatch):  # noqa: F811
    cfg, ckpt, _ = setups['seg']
    model = _model(cfg, ckpt)
    import hrvision.export as ex
    real = ex._export_onnx

    def broken(folded, example, tmp):   # a wrong graph: the folded copy with one weight changed
        next(p for p in folded.parameters() if p.dim() == 4).data.mul_(1.5)
        real(folded, example, tmp)
    monkeypatch.setattr(ex, '_export_onnx', broken)
    with pytest.raises(ExportCheckError, match='export refused, nothing written'):
        export_model(model, str(tmp_path / 'm.onnx'), (64, 96), 'onnx')
    assert os.listdir(tmp_path) == []


def test_cli_export_onnx_then_infer_with_onnxruntime(setups, tmp_path):  # noqa: F811
    import json

    from hrvision.cli import main
    cfg, ckpt, root = setups['pose']
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'export', cfg, ckpt, '--shape', '96', '72', '--out',
                        str(tmp_path / 'p.onnx'), '--format', 'onnx'], capture_output=True, text=True, env=ENV,
                       timeout=600)
    assert r.returncode == 0 and 'max |eager - exported|' in r.stdout, r.stderr[-2000:]
    assert (tmp_path / 'p.onnx').is_file()
    img = str(sorted((root / 'val').iterdir())[0])
    for backend in ('torch', 'onnxruntime'):   # in-process: the same command line
        extra = ['--onnx', str(tmp_path / 'p.onnx')] if backend == 'onnxruntime' else []
        assert main(['infer', cfg, ckpt, img, '--out', str(tmp_path / backend), '--backend', backend, *extra]) == 0
    a, b = (json.loads((tmp_path / k / 'keypoints.json').read_text())[0] for k in ('torch', 'onnxruntime'))
    np.testing.assert_allclose(b['keypoints'], a['keypoints'], atol=1e-2)


@pytest.mark.parametrize('task', ['seg', 'pose', 'face'])
def test_onnxruntime_backend_equals_torch(setups, tmp_path, task):  # noqa: F811
    cfg, ckpt, root = setups[task]
    path = str(tmp_path / 'm.onnx')
    export_model(_model(cfg, ckpt), path, SHAPES[task], 'onnx')
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for h, w in ((64, 96), (75, 53))]
    torch_res = Inferencer(cfg, ckpt, device='cpu', seg_probs=True)(imgs)
    ort = Inferencer(cfg, None, device='cpu', backend='onnxruntime', onnx=path, seg_probs=True)  # weights: the file
    ort_res = ort(imgs)
    assert isinstance(getattr(ort.model, {'seg': 'logits', 'pose': 'heatmaps', 'face': 'head'}[task]),
                      OnnxRuntimeModule)
    for a, b in zip(torch_res, ort_res):
        if task == 'seg':   # labels agree except where two classes tie within float error
            assert (a['sem_seg'] == b['sem_seg']).mean() > 0.999
            assert np.abs(a['seg_probs'] - b['seg_probs']).max() < 1e-4
        else:
            np.testing.assert_allclose(b['keypoints'], a['keypoints'], atol=1e-2)   # pixels
            np.testing.assert_allclose(b['keypoint_scores'], a['keypoint_scores'], atol=1e-4)


def test_onnxruntime_backend_refusals(setups, tmp_path):  # noqa: F811
    from hrvision.errors import InputError
    cfg, ckpt, _ = setups['det']
    from hrvision.tasks.detection.inference import DetectionInference   # every task runs there now: a task without it
    with pytest.MonkeyPatch.context() as mp, pytest.raises(InputError, match='covers .*; a detection model runs with'):
        mp.setattr(DetectionInference, 'onnx', False)
        Inferencer(cfg, ckpt, device='cpu', backend='onnxruntime', onnx=str(tmp_path / 'x.onnx'))
    cfg, ckpt, _ = setups['seg']
    with pytest.raises(InputError, match='needs the exported network'):
        Inferencer(cfg, ckpt, device='cpu', backend='onnxruntime')
    (tmp_path / 'bad.onnx').write_bytes(b'not onnx')
    with pytest.raises(ValueError, match='onnxruntime cannot load it'):
        Inferencer(cfg, ckpt, device='cpu', backend='onnxruntime', onnx=str(tmp_path / 'bad.onnx'))
