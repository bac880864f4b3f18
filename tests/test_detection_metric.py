"""COCO box AP through the whole path: DataSamples -> Evaluator/metric -> JSON -> COCOeval; PNG overlays."""
import json

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator

import hrvision.tasks.detection  # noqa: F401  (registration)
from hrvision.structures import InstanceData
from hrvision.tasks.detection.dataset import CocoDetectionDataset
from hrvision.tasks.detection import synth as det_synth

PIPE = [dict(type='LoadDetectionImage'), dict(type='DetectionResize', scale=(96, 64)), dict(type='PackDetectionInputs')]


@pytest.fixture(scope='module')
def val_set(tmp_path_factory):
    from mmengine.registry import init_default_scope
    init_default_scope('hrvision')  # module fixtures run before conftest's per-test scope fixture
    out = tmp_path_factory.mktemp('synth_det_metric')
    det_synth.write_synthetic(str(out), n_train=1, n_val=6, seed=5)
    return CocoDetectionDataset(data_root=str(out), ann_file='annotations/instances_val2017.json',
                                data_prefix=dict(img='val2017/'), test_mode=True, pipeline=PIPE)


def _evaluate(ds, out_dir, perturb=None):
    ev = Evaluator(dict(type='CocoDetectionMetric', out_dir=str(out_dir), vis_max=2))
    ev.dataset_meta = ds.metainfo
    for i in range(0, len(ds), 4):
        batch = pseudo_collate([ds[j] for j in range(i, min(i + 4, len(ds)))])
        preds = []
        for s in batch['data_samples']:
            gt = s.gt_instances  # resized-input coordinates; predictions are in original coordinates
            sx, sy = s.scale_factor
            boxes = gt.bboxes / torch.tensor([sx, sy, sx, sy])
            if perturb is not None:
                boxes = perturb(boxes)
            s.pred_instances = InstanceData(bboxes=boxes, labels=gt.labels.clone(),
                                            scores=torch.ones(len(gt.labels)))
            preds.append(s)
        ev.process(preds, batch)
    return ev.evaluate(len(ds))


def test_perfect_predictions_give_ap_one(val_set, tmp_path):
    assert sum(len(val_set.get_data_info(i)['gt_labels']) for i in range(len(val_set))) > 5
    m = _evaluate(val_set, tmp_path)
    for k in ('AP', 'AP50', 'AP75'):
        assert m[f'coco/{k}'] == pytest.approx(1.0), m
    res = json.loads((tmp_path / 'bbox_results.json').read_text())
    assert {r['category_id'] for r in res} <= {1, 3, 4, 7}  # original (non-contiguous) COCO ids
    assert all(isinstance(r['bbox'], list) and len(r['bbox']) == 4 for r in res)
    pngs = sorted((tmp_path / 'vis').glob('*.png'))
    assert len(pngs) == 2


def test_shifted_predictions_score_lower(val_set, tmp_path):
    shifted = _evaluate(val_set, tmp_path, perturb=lambda b: b + torch.tensor([3.0, 3.0, 3.0, 3.0]))
    assert shifted['coco/AP'] < 0.9 and shifted['coco/AP50'] > shifted['coco/AP75']


def test_metric_rejects_labels_out_of_range(val_set, tmp_path):
    from hrvision.tasks.detection.metric import to_coco_results
    with pytest.raises(ValueError, match=r'\[0, 4\)'):
        to_coco_results(1, np.zeros((1, 4)), np.array([4]), np.array([0.5]), [1, 3, 4, 7])
