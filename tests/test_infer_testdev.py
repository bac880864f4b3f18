"""COCO test-dev style inputs: an image-info JSON (no ``annotations``) runs format-only for pose (with person
detections) and detection: predictions are written in the COCO results format, nothing is scored."""
import json

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from hrvision.registry import METRICS, MODELS
from tests.test_infer import setups  # noqa: F401  (tiny configs + checkpoints per task)


def _image_info(src, dst):
    """The annotation file without ``annotations``, as COCO's image_info_test-dev2017.json."""
    d = json.loads(src.read_text())
    del d['annotations']
    dst.write_text(json.dumps(d))
    return d


def _format_only(cfg_path, ckpt, dataset_opts, metric_cfg):
    from hrvision.engine.runner import prepare_config
    init_default_scope('hrvision')
    cfg = prepare_config(cfg_path)   # as hrvision test reads it (a pose crop's size follows from the model's codec)
    cfg.test_dataloader.dataset.update(dataset_opts)
    model = MODELS.build(cfg.model)
    model.load_state_dict(torch.load(ckpt, weights_only=True)['state_dict'])
    model.eval()
    metric = METRICS.build(metric_cfg)
    loader = Runner.build_dataloader(cfg.test_dataloader)
    metric.dataset_meta = loader.dataset.metainfo
    with torch.no_grad():
        for batch in loader:
            metric.process(batch, [s.to_dict() if hasattr(s, 'to_dict') else s for s in model.test_step(batch)])
    return metric.evaluate(len(loader.dataset))


@pytest.mark.parametrize('task', ['pose', 'det'])
def test_image_info_json_runs_format_only(setups, tmp_path, task):  # noqa: F811
    cfg, ckpt, root = setups[task]
    out = tmp_path / 'results'
    if task == 'pose':
        info = _image_info(root / 'annotations' / 'person_keypoints_val.json', tmp_path / 'test_info.json')
        metrics = _format_only(cfg, ckpt, dict(ann_file=str(tmp_path / 'test_info.json'), test_mode=True,
                                               bbox_file=str(root / 'annotations' / 'person_detections_val.json')),
                               dict(type='CocoKeypointMetric', ann_file=str(tmp_path / 'test_info.json'),
                                    out_dir=str(out), format_only=True))
        written = json.loads((out / 'keypoints_results.json').read_text())
        assert written and all(len(r['keypoints']) == 51 and r['category_id'] == 1 for r in written)
    else:
        info = _image_info(root / 'annotations' / 'instances_val2017.json', tmp_path / 'test_info.json')
        metrics = _format_only(cfg, ckpt, dict(ann_file=str(tmp_path / 'test_info.json')),
                               dict(type='CocoDetectionMetric', out_dir=str(out), vis_max=0, format_only=True))
        written = json.loads((out / 'bbox_results.json').read_text())
        assert written and all(len(r['bbox']) == 4 for r in written)
    assert metrics == {}
    assert {r['image_id'] for r in written} <= {im['id'] for im in info['images']}


def test_without_detections_or_outside_test_mode_annotations_stay_required(setups, tmp_path):  # noqa: F811
    """Only the format-only cases accept a file without annotations (training and GT-box pose still refuse it)."""
    from hrvision.errors import DataError
    from hrvision.tasks.detection.dataset import CocoDetectionDataset
    from hrvision.tasks.pose.dataset import CocoKeypointDataset
    _, _, root = setups['pose']
    _image_info(root / 'annotations' / 'person_keypoints_val.json', tmp_path / 'p.json')
    with pytest.raises(DataError, match='missing or non-list field "annotations"'):
        CocoKeypointDataset(ann_file=str(tmp_path / 'p.json'), test_mode=True)
    _, _, root = setups['det']
    _image_info(root / 'annotations' / 'instances_val2017.json', tmp_path / 'd.json')
    with pytest.raises(DataError, match='missing or non-list field "annotations"'):
        CocoDetectionDataset(ann_file=str(tmp_path / 'd.json'), check_images=False)
