"""The onnxruntime backend for the detector (FCOS and Faster R-CNN) and the multi-task model: the exported network
in ONNX Runtime, torchvision's box decoding / NMS / RoI stage and the keypoint / mask steps in torch, equal to the
torch backend on synthetic images of two sizes; one ``hrvision infer --backend onnxruntime`` subprocess.

Tolerances: the exported graph has BatchNorm folded and ONNX Runtime's own kernels, so raw outputs differ from
eager by ~1e-6 relative (``export_model`` checks 1e-4). Boxes therefore agree in count and labels, coordinates
within 1e-2 px and scores within 1e-4; keypoints within 1e-2 px (their sub-pixel shift moves with the heatmap
values); masks equal except where two classes tie within float error (at most 0.1% of the pixels).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from hrvision.export import export_model
from hrvision.inference import Inferencer
from hrvision.inference.ort import OnnxRuntimeModule
from hrvision.registry import MODELS
from tests.test_infer import ROOT, _data, _overrides

pytest.importorskip('onnxruntime')
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
SIZES = ((64, 96), (75, 53))   # two image sizes (H, W); the detector's pipeline resizes, the multi-task pads
EXTRA = {'fcos': {}, 'faster_rcnn': {'model.detector.kind': 'faster_rcnn', 'model.detector.anchor_sizes': None,
                                     'model.detector.box_score_thresh': 0.0}}


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    """(config, checkpoint, exported ONNX file) for the FCOS and Faster R-CNN detectors and the multi-task model."""
    init_default_scope('hrvision')
    out = {}
    for name in ('fcos', 'faster_rcnn', 'multitask'):
        task = 'multitask' if name == 'multitask' else 'det'
        root = tmp_path_factory.mktemp(name)
        _data(task, root / 'data')
        base, opts = _overrides(task, root / 'data')
        cfg = Config.fromfile(str(ROOT / base))
        cfg.merge_from_dict(dict(opts, **EXTRA.get(name, {})))
        if name == 'faster_rcnn':   # torchvision's own Faster R-CNN keyword names
            cfg.model.detector.pop('score_thresh')
            cfg.model.detector.pop('topk_candidates')
            cfg.model.detector.pop('anchor_sizes')
        cfg.dump(str(root / 'cfg.py'))
        torch.manual_seed(0)
        model = MODELS.build(cfg.model).eval()
        for m in model.modules():   # non-trivial BN statistics: folding them must matter
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
        if name == 'faster_rcnn':   # spread objectness and class scores (torchvision's init makes them near-ties)
            d = model.head
            for layer in (d.rpn.head.cls_logits, d.rpn.head.bbox_pred, d.roi_heads.box_predictor.cls_score):
                layer.weight.data.normal_(0, 0.3)
        torch.save({'state_dict': model.state_dict()}, root / 'w.pth')
        export_model(model, str(root / 'm.onnx'), (64, 64), 'onnx')
        out[name] = (str(root / 'cfg.py'), str(root / 'w.pth'), str(root / 'm.onnx'), root / 'data')
    return out


def _images():
    rng = np.random.default_rng(1)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(2) for h, w in SIZES]   # batches mix sizes


def _same_boxes(a: dict, b: dict, score_key: str = 'scores') -> None:
    assert len(a['bboxes']) == len(b['bboxes']) > 0
    assert (a['labels'] == b['labels']).all()
    np.testing.assert_allclose(b['bboxes'], a['bboxes'], atol=1e-2)
    np.testing.assert_allclose(b[score_key], a[score_key], atol=1e-4)


@pytest.mark.parametrize('kind', ['fcos', 'faster_rcnn'])
def test_detector_onnxruntime_equals_torch(models, kind):
    cfg, ckpt, onnx, _ = models[kind]
    imgs = _images()
    ref = Inferencer(cfg, ckpt, device='cpu', batch_size=2)(imgs)
    # FCOS: every weight is in the file; Faster R-CNN's RoI box head runs in torch with the checkpoint's weights
    ort = Inferencer(cfg, ckpt if kind == 'faster_rcnn' else None, device='cpu', backend='onnxruntime', onnx=onnx,
                     batch_size=2)   # padded batches of two sizes, as the torch run's
    got = ort(imgs)
    assert isinstance(ort.model.backbone.run, OnnxRuntimeModule)
    assert not any(p.numel() for p in ort.model.backbone.parameters())   # no torch network left
    assert not any(p.numel() for p in ort.model.neck.parameters())
    for a, b in zip(ref, got):
        _same_boxes(a, b)


def test_multitask_onnxruntime_equals_torch(models):
    cfg, ckpt, onnx, _ = models['multitask']
    imgs = _images()
    ref = Inferencer(cfg, ckpt, device='cpu', batch_size=2)(imgs)
    got = Inferencer(cfg, None, device='cpu', backend='onnxruntime', onnx=onnx, batch_size=2)(imgs)
    for a, b in zip(ref, got):
        _same_boxes(a['det'], b['det'])
        assert (a['seg']['sem_seg'] == b['seg']['sem_seg']).mean() > 0.999
        assert len(a['pose']['keypoints']) == len(b['pose']['keypoints']) > 0
        np.testing.assert_allclose(b['pose']['keypoints'], a['pose']['keypoints'], atol=1e-2)
        np.testing.assert_allclose(b['pose']['keypoint_scores'], a['pose']['keypoint_scores'], atol=1e-4)


def test_refusals(models):
    from hrvision.errors import DataError, InputError
    cfg, _, _, _ = models['fcos']
    with pytest.raises(DataError, match='the fcos detector needs .*not exported from this model'):
        Inferencer(cfg, None, device='cpu', backend='onnxruntime', onnx=models['multitask'][2])
    cfg, _, onnx, _ = models['faster_rcnn']
    with pytest.raises(InputError, match='RoI box head in torch with the checkpoint'):
        Inferencer(cfg, None, device='cpu', backend='onnxruntime', onnx=onnx)



def test_unreadable_dataset_meta_in_the_file_is_named(models, tmp_path):
    import onnx as onnx_lib
    from hrvision.errors import DataError
    from hrvision.export import ONNX_DATASET_META
    cfg, _, path, _ = models['fcos']
    m = onnx_lib.load(path)
    entry = next((p for p in m.metadata_props if p.key == ONNX_DATASET_META), None) or m.metadata_props.add()
    entry.key, entry.value = ONNX_DATASET_META, '{"cat_ids": [1, 3,'
    bad = str(tmp_path / 'bad_meta.onnx')
    onnx_lib.save(m, bad)
    with pytest.raises(DataError, match=f'bad_meta.onnx: metadata {ONNX_DATASET_META} is not JSON'):
        Inferencer(cfg, None, device='cpu', backend='onnxruntime', onnx=bad)


def test_cli_detector_onnxruntime(models, tmp_path):
    cfg, ckpt, onnx, root = models['fcos']
    img = sorted((root / 'val2017').iterdir())[0]
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'infer', cfg, str(img), '--out', str(tmp_path / 'o'),
                        '--backend', 'onnxruntime', '--onnx', onnx], capture_output=True, text=True, env=ENV,
                       timeout=600)   # no checkpoint: the weights are the file
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads((tmp_path / 'o' / 'detections.json').read_text())
    ref = Inferencer(cfg, ckpt, device='cpu')(str(img))[0]
    assert len(got) == len(ref['bboxes']) > 0
    assert [d['label'] for d in got] == ref['labels'].tolist()
    np.testing.assert_allclose([[x, y, x + w, y + h] for x, y, w, h in (d['bbox'] for d in got)], ref['bboxes'],
                               atol=1e-2)
    np.testing.assert_allclose([d['score'] for d in got], ref['scores'], atol=1e-4)
