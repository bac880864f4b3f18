"""Evaluation pieces for the multi-task model, one per task, used together in one ``Evaluator`` pass.

* bbox AP: :class:`~hrvision.tasks.detection.metric.CocoDetectionMetric` as it is (reads ``pred_instances``);
* mIoU: :class:`~hrvision.tasks.segmentation.metric.SegmentationMetric` as it is (``num_classes``/``class_names``
  of the mask, reads ``pred_sem_seg``/``gt_sem_seg``);
* keypoint AP: :class:`MultiTaskKeypointMetric`, the pose metric fed one result per image (all its people);
* :class:`MultiTaskOutputs`: writes per-image pictures (mask + boxes + skeletons) and predicted masks.

Give each a distinct ``prefix`` (det and pose both default to ``coco``).
"""
from __future__ import annotations

import os.path as osp
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.structures import BaseDataElement

from hrvision.engine.distributed import SKIPPED, without_skipped
from hrvision.registry import EVALUATOR, METRICS
from hrvision.metrics import default_out_dir, image_result, person
from hrvision.tasks.pose.metric import CocoKeypointMetric

from .model import sample_tasks
from .vis import _get, save_mask, save_multitask, to_numpy as _np


@METRICS.register_module()
class MultiTaskKeypointMetric(CocoKeypointMetric):
    """COCO keypoint AP of the whole-image people in ``pred_pose`` (box score, joints, crop area); ``ann_file``
    defaults to the dataset's ``kpt_file`` (a different file is refused, as in the pose metric)."""

    dataset_file_key = 'kpt_file'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            pose = _get(s, 'pred_pose')
            if pose is None:
                raise KeyError('MultiTaskKeypointMetric needs pred_pose in the data samples (a PoseHead)')
            kps, ks = _np(_get(pose, 'keypoints')), _np(_get(pose, 'keypoint_scores'))
            boxes_scores, areas = _np(_get(pose, 'scores')), _np(_get(pose, 'areas'))
            people = [person(kps[p], ks[p], areas[p], boxes_scores[p]) for p in range(len(kps))]
            self.results.append(image_result({'img_id': _get(s, 'img_id'), 'img_path': _get(s, 'img_path')},
                                             people))


@METRICS.register_module()
class MultiTaskOutputs(BaseMetric):
    """Writes ``out_dir/pictures/<img_id>.png`` (first ``max_pictures`` images) and ``out_dir/masks/<img_id>.png``.
    Reports ``images`` (how many were written)."""

    default_prefix = 'outputs'

    def __init__(self, out_dir: str | None = None, max_pictures: int = 16, score_thr: float = 0.3,
                 collect_device: str = 'cpu', prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.out_dir = out_dir
        self.max_pictures = max_pictures
        self.score_thr = score_thr
        self._n = 0

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        out = self.out_dir or default_out_dir()
        classes = (self.dataset_meta or {}).get('classes')
        for s in data_samples:
            img_id = int(_get(s, 'img_id'))
            if _get(s, 'pred_sem_seg') is not None:
                save_mask(_get(s, 'pred_sem_seg'), osp.join(out, 'masks', f'{img_id:012d}.png'))
            if self._n < self.max_pictures and _get(s, 'img_path'):
                save_multitask(s, osp.join(out, 'pictures', f'{img_id:012d}.png'), classes, self.score_thr,
                               skeleton=(self.dataset_meta or {}).get('skeleton'))
                self._n += 1
            self.results.append(img_id)

    def compute_metrics(self, results: list) -> dict[str, float]:
        self._n = 0
        return {'images': float(len(np.unique(results)))}


@EVALUATOR.register_module()
class MultiTaskEvaluator(Evaluator):
    """mmengine's ``Evaluator`` (one pass, a list of metrics) plus two things:

    * a metric config may name its head with ``task='seg'``: it then sees only the samples labelled for that
      head (``metainfo['tasks']``), which mixed-source evaluation needs (no Cityscapes image in keypoint AP,
      no COCO person mask in the Cityscapes mIoU); the samples it skips still take their place in its
      results (:data:`~hrvision.engine.distributed.SKIPPED`, dropped before scoring; not ``None``, which mmengine's
      gathering drops before it cuts the ranks' padding), so ``evaluate(size)`` and the interleaving stay aligned;
    * ``out_dir`` (``hrvision test --out DIR`` sets ``test_evaluator.out_dir``) is handed to every metric that
      writes files, except the Cityscapes metric (its label-id files are Cityscapes-specific;
      :class:`MultiTaskOutputs` writes the masks).
    """

    def __init__(self, metrics, out_dir: str | None = None) -> None:
        cfgs = metrics if isinstance(metrics, (list, tuple)) else [metrics]
        self.metric_tasks = [m.get('task') if isinstance(m, dict) else None for m in cfgs]
        super().__init__([{k: v for k, v in m.items() if k != 'task'} if isinstance(m, dict) else m for m in cfgs])
        if out_dir:
            for m in self.metrics:
                if hasattr(m, 'out_dir') and type(m).__name__ != 'SegmentationMetric':
                    m.out_dir = out_dir
        for m, task in zip(self.metrics, self.metric_tasks):
            if task is not None:
                m.compute_metrics = _without_placeholders(m.compute_metrics)

    def process(self, data_samples, data_batch=None) -> None:
        samples = [s.to_dict() if isinstance(s, BaseDataElement) else s for s in data_samples]
        for metric, task in zip(self.metrics, self.metric_tasks):
            if task is None:
                metric.process(data_batch, samples)
                continue
            for i, s in enumerate(samples):   # in order, one result per sample: `evaluate(size)` keeps `size` results
                if task in sample_tasks(s, i):
                    metric.process(data_batch, [s])
                else:
                    metric.results.append(dict(SKIPPED))


def _without_placeholders(compute_metrics):
    """``compute_metrics`` that skips the placeholders of samples a task-filtered metric did not see."""
    def wrapped(results: list) -> dict:
        return compute_metrics(without_skipped(results))
    return wrapped


__all__ = ['MultiTaskKeypointMetric', 'MultiTaskOutputs', 'MultiTaskEvaluator']
