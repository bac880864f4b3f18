"""Perfect predictions score AP 1.0 through dataset -> crop -> codec targets -> batch decode -> JSON -> COCOeval;
shifted predictions score clearly less (the path can fail)."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from hrvision.codecs import PoseHeatmapCodec
from hrvision.tasks.pose.dataset import CocoKeypointDataset
from hrvision.tasks.pose.metric import CocoKeypointMetric
from hrvision.tasks.pose import synth as pose_synth


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('pose_synth'))
    pose_synth.write_synthetic(root, n_train=2, n_val=6, seed=3)
    return root


def _predict_from_targets(root, shift=0.0):
    codec = PoseHeatmapCodec(heatmap_size=(48, 64))
    pipeline = [dict(type='LoadPoseImage'), dict(type='TopDownAffine', input_size=(192, 256)),
                dict(type='PackPoseInputs')]
    ds = CocoKeypointDataset('annotations/person_keypoints_val.json', data_root=root, data_prefix=dict(img='val/'),
                             pipeline=pipeline, test_mode=True)
    samples = [ds[i]['data_samples'] for i in range(len(ds))]
    heatmaps = torch.stack([torch.from_numpy(codec.encode(s.gt_keypoints, s.keypoints_visible)['heatmaps'])
                            for s in samples])
    center = np.stack([s.metainfo['center'] for s in samples])
    scale = np.stack([s.metainfo['scale'] for s in samples])
    kp, scores = codec.decode(heatmaps, center, scale)
    for s, k, sc in zip(samples, kp, scores):
        s.pred_keypoints = k + shift
        s.keypoint_scores = sc
    return [s.to_dict() for s in samples]


def _evaluate(root, preds, out_dir, **kw):
    """The runner's path: process, then ``evaluate(size)`` with one dataset item per prediction (a person crop)."""
    metric = CocoKeypointMetric(osp.join(root, 'annotations', 'person_keypoints_val.json'), out_dir=out_dir, **kw)
    metric.process({}, preds)
    return {k.split('/', 1)[1]: v for k, v in metric.evaluate(len(preds)).items()}


def test_perfect_predictions_give_ap_1(synth, tmp_path):
    preds = _predict_from_targets(synth)
    stats = _evaluate(synth, preds, str(tmp_path), num_vis=2)
    assert stats['AP'] == pytest.approx(1.0) and stats['AR'] == pytest.approx(1.0)
    res = json.loads((tmp_path / 'keypoints_results.json').read_text())
    assert len(res) == len(preds) and len(res[0]['keypoints']) == 51 and res[0]['category_id'] == 1
    assert len(list((tmp_path / 'vis').glob('*.png'))) == 2


def test_shifted_predictions_score_less(synth, tmp_path):
    stats = _evaluate(synth, _predict_from_targets(synth, shift=6.0), str(tmp_path))
    assert stats['AP'] < 0.6


def test_duplicates_removed_by_oks_nms(synth, tmp_path):
    preds = _predict_from_targets(synth)
    dup = [dict(p, keypoint_scores=p['keypoint_scores'] * 0.9, pred_keypoints=p['pred_keypoints'] + 0.5)
           for p in preds]
    stats = _evaluate(synth, preds + dup, str(tmp_path))
    assert stats['AP'] == pytest.approx(1.0)
    res = json.loads((tmp_path / 'keypoints_results.json').read_text())
    assert len(res) == len(preds)
    _evaluate(synth, preds + dup, str(tmp_path), oks_thr=None)
    assert len(json.loads((tmp_path / 'keypoints_results.json').read_text())) == 2 * len(preds)
