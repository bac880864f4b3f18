"""The OpenVINO backend (``backend='openvino'``, ``hrvision infer --backend openvino``): the file written by
``hrvision export --format onnx`` compiled by OpenVINO, swapped in by the task's ``use_onnx``; results equal the
torch backend's for seg, pose and face on two image sizes, and for the FCOS detector and the multi-task model
(tolerances as tests/test_onnx.py and tests/test_infer_ort_det_mt.py); fp32, torch's thread count; refusals."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from hrvision.errors import DataError, InputError, MissingFileError
from hrvision.export import export_model
from hrvision.inference import Inferencer
from tests.test_infer import setups  # noqa: F401  (tiny configs + checkpoints per task)
from tests.test_infer_ort_det_mt import models as det_mt_models  # noqa: F401  (FCOS, Faster R-CNN, multi-task + .onnx)
from tests.test_onnx import SHAPES, _model

pytest.importorskip('openvino')
from hrvision.inference.openvino import OpenVinoModule  # noqa: E402

ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
NET = {'seg': 'logits', 'pose': 'heatmaps', 'face': 'head'}


@pytest.fixture(scope='module')
def onnx_files(setups, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp('ov')
    files = {}
    for task in NET:
        cfg, ckpt, _ = setups[task]
        files[task] = str(out / f'{task}.onnx')
        export_model(_model(cfg, ckpt), files[task], SHAPES[task], 'onnx')
    return files


@pytest.mark.parametrize('task', list(NET))
def test_openvino_backend_equals_torch(setups, onnx_files, task):  # noqa: F811
    cfg, ckpt, _ = setups[task]
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for h, w in ((64, 96), (75, 53))]
    torch_res = Inferencer(cfg, ckpt, device='cpu', seg_probs=True)(imgs)
    ov = Inferencer(cfg, None, device='cpu', backend='openvino', onnx=onnx_files[task], seg_probs=True)  # weights: the file
    net = getattr(ov.model, NET[task])
    assert isinstance(net, OpenVinoModule)
    # same dtype and threads as the torch backend: no bf16 on CPUs that have it
    assert str(net.compiled.get_property('INFERENCE_PRECISION_HINT')) == "<Type: 'float32'>"
    assert int(net.compiled.get_property('INFERENCE_NUM_THREADS')) == torch.get_num_threads()
    ov_res = ov(imgs)
    assert len(ov_res) == len(torch_res) == 2
    for a, b in zip(torch_res, ov_res):
        if task == 'seg':   # labels agree except where two classes tie within float error
            assert a['sem_seg'].shape == b['sem_seg'].shape
            assert (a['sem_seg'] == b['sem_seg']).mean() > 0.999
            assert np.abs(a['seg_probs'] - b['seg_probs']).max() < 1e-4
        else:
            np.testing.assert_allclose(b['keypoints'], a['keypoints'], atol=1e-2)   # pixels
            np.testing.assert_allclose(b['keypoint_scores'], a['keypoint_scores'], atol=1e-4)


def test_cli_infer_with_openvino(setups, onnx_files, tmp_path):  # noqa: F811
    from hrvision.cli import main
    cfg, ckpt, root = setups['pose']
    img = str(sorted((root / 'val').iterdir())[0])
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'infer', cfg, img, '--out', str(tmp_path / 'ov'),
                        '--backend', 'openvino', '--onnx', onnx_files['pose']], capture_output=True, text=True,
                       env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert main(['infer', cfg, ckpt, img, '--out', str(tmp_path / 'torch')]) == 0
    a, b = (json.loads((tmp_path / k / 'keypoints.json').read_text())[0] for k in ('torch', 'ov'))
    np.testing.assert_allclose(b['keypoints'], a['keypoints'], atol=1e-2)
    np.testing.assert_allclose(b['score'], a['score'], atol=1e-4)


def test_openvino_refusals(setups, onnx_files, tmp_path, monkeypatch, capsys):  # noqa: F811
    cfg, ckpt, _ = setups['seg']
    with pytest.raises(InputError, match='openvino backend needs the exported network'):
        Inferencer(cfg, ckpt, device='cpu', backend='openvino')
    with pytest.raises(MissingFileError, match='missing.onnx: no such file'):
        Inferencer(cfg, ckpt, device='cpu', backend='openvino', onnx=str(tmp_path / 'missing.onnx'))
    (tmp_path / 'bad.onnx').write_bytes(b'not onnx')
    with pytest.raises(DataError, match='bad.onnx: openvino cannot load it'):
        Inferencer(cfg, ckpt, device='cpu', backend='openvino', onnx=str(tmp_path / 'bad.onnx'))
    with pytest.raises(InputError, match='runs on the CPU'):
        OpenVinoModule(onnx_files['seg'], device='cuda')
    monkeypatch.setitem(sys.modules, 'openvino', None)   # not installed
    with pytest.raises(InputError, match=r'pip install "hrvision\[openvino\]"'):
        Inferencer(cfg, ckpt, device='cpu', backend='openvino', onnx=onnx_files['seg'])
    monkeypatch.undo()
    from hrvision.cli import main   # the CLI: one line, exit 2
    capsys.readouterr()
    assert main(['infer', cfg, ckpt, str(tmp_path / 'bad.onnx'), '--out', str(tmp_path / 'o'),
                 '--backend', 'openvino']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and '--backend openvino needs --onnx FILE' in err[0], err


def test_openvino_detector_and_multitask_equal_torch(det_mt_models):
    """The detector and the multi-task model select their outputs by name (``select_outputs``) and read the
    dataset meta from the file (``metadata``): the same swap under OpenVINO."""
    from tests.test_infer_ort_det_mt import _images, _same_boxes
    imgs = _images()
    cfg, ckpt, onnx, _ = det_mt_models['fcos']
    ref = Inferencer(cfg, ckpt, device='cpu', batch_size=2)(imgs)   # padded batches of two sizes on both sides
    ov = Inferencer(cfg, None, device='cpu', backend='openvino', onnx=onnx, batch_size=2)
    assert isinstance(ov.model.backbone.run, OpenVinoModule)
    for a, b in zip(ref, ov(imgs)):
        _same_boxes(a, b)
    cfg, ckpt, onnx, _ = det_mt_models['multitask']
    ref = Inferencer(cfg, ckpt, device='cpu', batch_size=2)(imgs)
    for a, b in zip(ref, Inferencer(cfg, None, device='cpu', backend='openvino', onnx=onnx, batch_size=2)(imgs)):
        _same_boxes(a['det'], b['det'])
        assert (a['seg']['sem_seg'] == b['seg']['sem_seg']).mean() > 0.999
        np.testing.assert_allclose(b['pose']['keypoints'], a['pose']['keypoints'], atol=1e-2)
