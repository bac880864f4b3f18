"""Every metric through ``BaseMetric.evaluate(size)``, the runner's path, with more instances than images.

mmengine keeps only the first ``size`` (= number of dataset items) results, so a metric that appends one result
per person or box silently drops instances. Each case: 6 images holding 8+ people/boxes, perfect predictions
score the perfect value, and a wrong prediction on the last instance of the last image lowers the score.
"""
import json

import numpy as np
import pytest
import torch

import hrvision.tasks.detection  # noqa: F401  (registration)
import hrvision.tasks.multitask  # noqa: F401
from hrvision.registry import EVALUATOR
from hrvision.structures import DataSample, InstanceData
from hrvision.tasks.detection.metric import CocoDetectionMetric
from hrvision.tasks.face.metric import FaceNMEMetric
from hrvision.tasks.pose.dataset import COCO_SIGMAS
from hrvision.tasks.pose.metric import CocoKeypointMetric
from hrvision.tasks.segmentation.metric import SegmentationMetric

PEOPLE_PER_IMAGE = (1, 1, 1, 1, 2, 2)  # 6 images, 8 people
N_IMG = len(PEOPLE_PER_IMAGE)
K = len(COCO_SIGMAS)
BOX_W, BOX_H = 40.0, 80.0


def _people():
    """(img_id, box xywh, (K, 2) joints) of each person; people of one image side by side."""
    rng = np.random.default_rng(0)
    out = []
    for i, n in enumerate(PEOPLE_PER_IMAGE):
        for p in range(n):
            x0, y0 = 10.0 + 100.0 * p, 10.0
            joints = np.stack([rng.uniform(x0 + 2, x0 + BOX_W - 2, K), rng.uniform(y0 + 2, y0 + BOX_H - 2, K)], 1)
            out.append((i + 1, [x0, y0, BOX_W, BOX_H], joints))
    return out


def _coco(path, people):
    images = [dict(id=i + 1, file_name=f'{i + 1:06d}.jpg', width=240, height=120) for i in range(N_IMG)]
    anns = [dict(id=j + 1, image_id=img, category_id=1, bbox=box, area=BOX_W * BOX_H, iscrowd=0, num_keypoints=K,
                 keypoints=np.concatenate([kp, np.full((K, 1), 2.0)], 1).reshape(-1).tolist())
            for j, (img, box, kp) in enumerate(people)]
    cats = [dict(id=1, name='person', keypoints=[str(k) for k in range(K)], skeleton=[])]
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
    return str(path)


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    people = _people()
    assert len(people) > N_IMG
    return _coco(tmp_path_factory.mktemp('metric_gt') / 'gt.json', people), people


def _wrong_last(people):
    """The last person of the last image, moved far away (joints and box)."""
    *rest, (img, box, kp) = people
    return rest + [(img, [box[0] + 60.0, box[1] + 30.0, box[2], box[3]], kp + np.array([60.0, 30.0]))]


def _xyxy(box):
    return [box[0], box[1], box[0] + box[2], box[1] + box[3]]


# --------------------------------------------------------------------------------------------- top-down pose
def _perfect(stats: dict, prefix: str) -> bool:
    """Every COCO stat of ``prefix`` is 1.0, or -1 (pycocotools: no ground truth of that size)."""
    values = {k: v for k, v in stats.items() if k.startswith(prefix + '/')}
    return bool(values) and all(v in (1.0, -1.0) for v in values.values()) and values[prefix + '/AP'] == 1.0


def _pose(ann_file, people, out_dir):
    """Top-down pose: one dataset item per person crop, so size = number of people."""
    metric = CocoKeypointMetric(ann_file, out_dir=str(out_dir))
    for img, _, kp in people:
        metric.process({}, [dict(img_id=img, pred_keypoints=kp, keypoint_scores=np.ones(K), area=BOX_W * BOX_H)])
    return metric.evaluate(len(people))


def test_pose_metric_counts_every_person(coco, tmp_path):
    ann, people = coco
    assert _perfect(_pose(ann, people, tmp_path), 'coco')
    assert _pose(ann, _wrong_last(people), tmp_path)['coco/AP'] < 0.95


# --------------------------------------------------------------------------------------------- detection
def _det_sample(img, boxes):
    s = DataSample(metainfo=dict(img_id=img))
    s.pred_instances = InstanceData(bboxes=torch.tensor([_xyxy(b) for b in boxes], dtype=torch.float32),
                                    labels=torch.zeros(len(boxes), dtype=torch.long), scores=torch.ones(len(boxes)))
    return s


def _by_image(people):
    out = {i + 1: [] for i in range(N_IMG)}
    for p in people:
        out[p[0]].append(p)
    return out


def _det(ann_file, people, out_dir):
    metric = CocoDetectionMetric(ann_file, out_dir=str(out_dir))
    metric.dataset_meta = dict(cat_ids=[1], classes=('person',))
    for img, ps in _by_image(people).items():
        metric.process({}, [_det_sample(img, [p[1] for p in ps])])
    return metric.evaluate(N_IMG)


def test_detection_metric_counts_every_box(coco, tmp_path):
    ann, people = coco
    assert _perfect(_det(ann, people, tmp_path), 'coco')
    assert _det(ann, _wrong_last(people), tmp_path)['coco/AP'] < 0.95


# --------------------------------------------------------------------------------------------- segmentation
def _seg_sample(i, wrong=False):
    gt = torch.zeros(8, 8, dtype=torch.long)
    gt[:, 4:] = 1
    gt[0, 0] = 255  # ignored pixel, predicted as anything
    pred = gt.clone()
    pred[0, 0] = 1
    if wrong:
        pred[:, 6:] = 0
    return dict(pred_sem_seg=pred, gt_sem_seg=gt, img_path=f'{i}.png')


def _seg(wrong_last):
    metric = SegmentationMetric(num_classes=2, class_names=('a', 'b'))
    for i in range(N_IMG):
        metric.process({}, [_seg_sample(i, wrong_last and i == N_IMG - 1)])
    return metric.evaluate(N_IMG)


def test_segmentation_metric_counts_every_image():
    perfect = _seg(False)
    assert all(v == 1.0 for v in perfect.values()), perfect
    assert _seg(True)['seg/mIoU'] < 0.99


def test_segmentation_metric_keeps_one_result_per_image_without_ground_truth():
    """An image without labels still takes its place: a labelled image after it is not cut off by ``size``."""
    metric = SegmentationMetric(num_classes=2, class_names=('a', 'b'))
    metric.process({}, [dict(pred_sem_seg=torch.zeros(8, 8, dtype=torch.long), img_path='x.png')])
    metric.process({}, [_seg_sample(1, wrong=True)])
    assert len(metric.results) == 2
    assert metric.evaluate(2)['seg/mIoU'] < 0.99


# --------------------------------------------------------------------------------------------- face
def _face_scores(wrong_last):
    rng = np.random.default_rng(1)
    metric = FaceNMEMetric()
    for i in range(N_IMG):
        gt = rng.uniform(0, 100, (98, 2))
        pred = gt + (5.0 if wrong_last and i == N_IMG - 1 else 0.0)
        s = DataSample(metainfo=dict(ori_keypoints=gt, img_id=i))
        s.pred_keypoints = torch.from_numpy(pred)
        metric.process({}, [s])
    return metric.evaluate(N_IMG)


def test_face_metric_counts_every_image():
    perfect = _face_scores(False)
    assert perfect['face/NME'] == 0.0 and perfect['face/FR@0.10'] == 0.0 and perfect['face/AUC@0.10'] == 1.0
    assert _face_scores(True)['face/NME'] > 0.0


# --------------------------------------------------------------------------------------------- multi-task
def _multitask_sample(img, ps):
    s = DataSample(metainfo=dict(img_id=img, tasks=('det', 'pose', 'seg')))
    kp = np.stack([p[2] for p in ps]).astype(np.float32) if ps else np.zeros((0, K, 2), np.float32)
    s.pred_pose = InstanceData(bboxes=torch.tensor([_xyxy(p[1]) for p in ps]).reshape(-1, 4),
                               scores=torch.ones(len(ps)), keypoints=torch.from_numpy(kp),
                               keypoint_scores=torch.ones(len(ps), K), areas=torch.full((len(ps),), BOX_W * BOX_H))
    s.pred_instances = _det_sample(img, [p[1] for p in ps]).pred_instances
    seg = _seg_sample(img)
    s.pred_sem_seg, s.gt_sem_seg = seg['pred_sem_seg'], seg['gt_sem_seg']
    return s


def _multitask(ann_file, people, out_dir):
    ev = EVALUATOR.build(dict(type='MultiTaskEvaluator', metrics=[
        dict(type='CocoDetectionMetric', ann_file=ann_file, prefix='det', out_dir=str(out_dir)),
        dict(type='MultiTaskKeypointMetric', ann_file=ann_file, prefix='pose', out_dir=str(out_dir), task='pose'),
        dict(type='SegmentationMetric', num_classes=2, class_names=('background', 'person'), prefix='seg')]))
    ev.dataset_meta = dict(cat_ids=[1], classes=('person',))
    items = list(_by_image(people).items())
    for i in range(0, N_IMG, 4):   # batches of 4: 4 + 2 images
        ev.process([_multitask_sample(img, ps) for img, ps in items[i:i + 4]])
    return ev.evaluate(N_IMG)


def test_multitask_metrics_count_every_person_box_and_mask(coco, tmp_path):
    ann, people = coco
    m = _multitask(ann, people, tmp_path)
    assert _perfect(m, 'pose') and _perfect(m, 'det'), m
    assert all(v == 1.0 for k, v in m.items() if k.startswith('seg/')), m
    wrong = _multitask(ann, _wrong_last(people), tmp_path)
    assert wrong['pose/AP'] < 0.95 and wrong['det/AP'] < 0.95, wrong


def test_task_filtered_metric_keeps_one_result_per_sample(coco, tmp_path):
    """A sample not labelled for a metric's task still takes one place in its results (ranks are interleaved by
    position when mmengine collects them), and is not scored."""
    ann, people = coco
    ev = EVALUATOR.build(dict(type='MultiTaskEvaluator', metrics=[
        dict(type='MultiTaskKeypointMetric', ann_file=ann, prefix='pose', out_dir=str(tmp_path), task='pose')]))
    other = DataSample(metainfo=dict(img_id=99, tasks=('seg',)))
    samples = [_multitask_sample(img, ps) for img, ps in _by_image(people).items()]
    ev.process([other] + samples[:3])
    ev.process(samples[3:])
    assert len(ev.metrics[0].results) == N_IMG + 1
    assert ev.evaluate(N_IMG + 1)['pose/AP'] == 1.0
