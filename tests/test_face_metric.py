"""NME with the official normalisations (parity with face_pipeline.npz), FR, AUC, CED, BaseMetric."""
import numpy as np
import pytest
import torch

from hrvision.structures import DataSample
from hrvision.tasks.face.metric import FaceNMEMetric, auc, ced_curve, compute_nme, failure_rate, plot_ced, summarize
from tests.conftest import ref_path


@pytest.mark.parametrize('name', ['wflw', '300w', 'cofw', 'aflw'])
def test_nme_matches_official(name):
    ref = np.load(ref_path('face_pipeline.npz'))
    box = ref['nme_aflw_box_size'] if name == 'aflw' else None
    out = compute_nme(ref[f'nme_{name}_pred'], ref[f'nme_{name}_gt'], box)
    np.testing.assert_allclose(out, ref[f'nme_{name}_out'], rtol=1e-6)


def test_nme_normaliser_is_outer_eye_corners():
    gt = np.zeros((1, 98, 2))
    gt[0, 60] = [0, 0]
    gt[0, 72] = [10, 0]
    pred = gt.copy()
    pred[0, 5] += [0, 98 * 10 * 0.05]  # one point off by 0.05 * 98 * d -> NME 0.05
    assert compute_nme(pred, gt)[0] == pytest.approx(0.05)
    with pytest.raises(ValueError, match='no official NME normalisation for 5'):
        compute_nme(np.zeros((1, 5, 2)), np.ones((1, 5, 2)))
    with pytest.raises(ValueError, match='box_size'):
        compute_nme(np.zeros((1, 19, 2)), np.ones((1, 19, 2)))
    with pytest.raises(ValueError, match='zero normalising distance'):
        compute_nme(np.zeros((1, 98, 2)), np.zeros((1, 98, 2)))


def test_failure_rate_and_auc():
    nme = np.array([0.02, 0.05, 0.09, 0.12, 0.30])
    assert failure_rate(nme, 0.08) == pytest.approx(3 / 5)
    assert failure_rate(nme, 0.10) == pytest.approx(2 / 5)   # official: NME > 0.10
    assert failure_rate(np.array([0.10]), 0.10) == 0.0
    # exact area of the step CED, checked against a fine numerical integration
    e, ced = ced_curve(nme, 0.10, num=200001)
    numeric = np.trapezoid(ced, e) / 0.10
    assert auc(nme, 0.10) == pytest.approx(numeric, abs=1e-4)
    assert auc(nme, 0.10) == pytest.approx(np.mean([0.8, 0.5, 0.1, 0.0, 0.0]))
    assert auc(np.zeros(3), 0.08) == 1.0 and auc(np.full(3, 0.5), 0.08) == 0.0
    s = summarize(nme)
    assert s['NME'] == pytest.approx(nme.mean()) and s['count'] == 5
    assert set(s) == {'NME', 'count', 'FR@0.08', 'AUC@0.08', 'FR@0.10', 'AUC@0.10'}


def test_ced_png(tmp_path):
    path = plot_ced({'test': np.array([0.03, 0.05, 0.2]), 'pose': np.array([0.09])}, 0.10, str(tmp_path / 'c.png'))
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_base_metric_with_attributes(tmp_path):
    metric = FaceNMEMetric(out_dir=str(tmp_path))
    rng = np.random.default_rng(0)
    samples, expect = [], []
    for i in range(4):
        gt = rng.uniform(0, 100, (98, 2))
        pred = gt + rng.normal(0, 2, (98, 2))
        ds = DataSample(metainfo=dict(ori_keypoints=gt, img_id=f'im{i}', attributes=np.array([i % 2, 0, 0, 0, 0, 1])))
        ds.pred_keypoints = torch.from_numpy(pred)
        samples.append(ds)
        expect.append(compute_nme(pred[None], gt[None])[0])
    metric.process({}, samples)
    res = metric.evaluate(4)
    assert res['face/NME'] == pytest.approx(np.mean(expect))
    assert res['face/NME_pose'] == pytest.approx(np.mean(expect[1::2]))
    assert res['face/NME_blur'] == pytest.approx(np.mean(expect))
    assert 'face/NME_makeup' not in res  # no image carries that flag
    assert (tmp_path / 'ced.png').stat().st_size > 0 and (tmp_path / 'face_predictions.json').stat().st_size > 0
