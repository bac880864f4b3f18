"""COCO box AP with pycocotools (``COCOeval(iouType='bbox')``).

Predictions become a COCO results JSON (``bbox`` as plain ``[x, y, w, h]`` lists, original
category ids; numpy-2 pycocotools rejects arrays), written next to the run's log (or to
``out_dir``), then scored against the annotation file on the evaluated image ids only.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import os.path as osp
import tempfile
from typing import Any, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from hrvision.data.coco import load_coco
from hrvision.engine.metric_files import DatasetFileMetric, check_evaluated_images, metric_ann_file
from hrvision.registry import METRICS, register_alias

from .dataset import category_mapping

STAT_NAMES = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl')


def _get(obj: Any, key: str, default=None):
    """Field of a DataSample or of its ``to_dict()`` form (mmengine's Evaluator converts them)."""
    if isinstance(obj, dict):
        return obj.get(key, default)
    if key in getattr(obj, 'metainfo', {}):
        return obj.metainfo[key]
    return getattr(obj, key, default)


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, 'detach') else np.asarray(x)


def to_coco_results(img_id: int, bboxes, labels, scores, cat_ids: Sequence[int]) -> list[dict]:
    """xyxy boxes + 0-based labels -> COCO result dicts with plain Python numbers."""
    b, lab, s = _np(bboxes).reshape(-1, 4).astype(np.float64), _np(labels).reshape(-1), _np(scores).reshape(-1)
    if len(lab) and (lab.min() < 0 or lab.max() >= len(cat_ids)):
        raise ValueError(f'predicted labels must be in [0, {len(cat_ids)}), got {lab.min()}..{lab.max()}')
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    return [{'image_id': int(img_id), 'category_id': int(cat_ids[int(c)]), 'bbox': [float(v) for v in box],
             'score': float(sc)} for box, c, sc in zip(xywh, lab, s)]


def coco_bbox_eval(coco_gt, results: list[dict], img_ids: Sequence[int]) -> dict[str, float]:
    """Run COCOeval(bbox) on ``img_ids`` silently; an empty result list scores 0 (-1: no GT of that size)."""
    from pycocotools.cocoeval import COCOeval
    if not results:
        return {k: 0.0 for k in STAT_NAMES}
    with contextlib.redirect_stdout(io.StringIO()):
        dt = coco_gt.loadRes(results)
        ev = COCOeval(coco_gt, dt, iouType='bbox')
        ev.params.imgIds = sorted(set(int(i) for i in img_ids))
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    # pycocotools reports -1 where no ground truth falls in a size range; kept as -1 (as mmdet does)
    return {k: float(v) for k, v in zip(STAT_NAMES, ev.stats[:6])}


@METRICS.register_module()
class CocoDetectionMetric(DatasetFileMetric, BaseMetric):
    """COCO bbox AP/AP50/AP75/APs/APm/APl.

    Args:
        ann_file: COCO instances JSON (default: the dataset's, via ``dataset_meta['ann_file']``; another file than
            the dataset's is refused, see :mod:`hrvision.engine.metric_files`).
        out_dir: where ``bbox_results.json`` and overlay PNGs go (default: the run's log folder).
        vis_max: how many images get a PNG overlay when ``out_dir`` is given.
        vis_score_thr: predictions drawn above this score.
        format_only: write ``bbox_results.json`` and score nothing (COCO test-dev: no annotations).
    """

    default_prefix = 'coco'

    def __init__(self, ann_file: str | None = None, out_dir: str | None = None, vis_max: int = 16,
                 vis_score_thr: float = 0.3, collect_device: str = 'cpu', prefix: str | None = None,
                 format_only: bool = False) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ann_file = ann_file
        self.format_only = format_only
        self.out_dir = out_dir
        self.vis_max = vis_max
        self.vis_score_thr = vis_score_thr
        self._n_vis = 0
        self._cids: list[int] | None = None  # label -> category id, read once per evaluation

    def _cat_ids(self) -> list[int]:
        meta = self.dataset_meta or {}
        if meta.get('cat_ids'):
            return list(meta['cat_ids'])
        return category_mapping(load_coco(self._ann_file(), boxes=True), self._ann_file())[0]

    def _ann_file(self) -> str:
        return metric_ann_file(type(self).__name__, self.ann_file, self.dataset_meta)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        if self._cids is None:
            self._cids = self._cat_ids()
        cat_ids = self._cids
        for ds in data_samples:
            pred = _get(ds, 'pred_instances')
            img_id = _get(ds, 'img_id')
            if pred is None or img_id is None:
                raise KeyError('CocoDetectionMetric needs data samples with pred_instances and metainfo img_id')
            self.results.append({'img_id': int(img_id),
                                 'dets': to_coco_results(img_id, _get(pred, 'bboxes'), _get(pred, 'labels'),
                                                         _get(pred, 'scores'), cat_ids)})
            if self.out_dir and self._n_vis < self.vis_max and _get(ds, 'img_path'):
                from .vis import save_overlay
                save_overlay(ds, osp.join(self.out_dir, 'vis', f'{int(img_id):012d}.png'),
                             classes=(self.dataset_meta or {}).get('classes'), score_thr=self.vis_score_thr)
                self._n_vis += 1

    def _results_dir(self) -> str:
        if self.out_dir:
            return self.out_dir
        from mmengine.logging import MMLogger
        log_file = getattr(MMLogger.get_current_instance(), 'log_file', None)
        return osp.dirname(log_file) if log_file else tempfile.mkdtemp(prefix='hrvision_det_')

    def compute_metrics(self, results: list) -> dict[str, float]:
        self._n_vis, self._cids = 0, None
        ann_file = self._ann_file()
        coco_gt = load_coco(ann_file, boxes=True, image_info=self.format_only)
        dets = [d for r in results for d in r['dets']]
        img_ids = [r['img_id'] for r in results]
        check_evaluated_images(ann_file, coco_gt.imgs, img_ids)
        out = self._results_dir()
        os.makedirs(out, exist_ok=True)
        path = osp.join(out, 'bbox_results.json')
        with open(path, 'w') as f:
            json.dump(dets, f)
        from mmengine.logging import print_log
        print_log(f'COCO bbox results ({len(dets)} boxes, {len(set(img_ids))} images) -> {path}', logger='current')
        if self.format_only:
            return {}
        return coco_bbox_eval(coco_gt, dets, img_ids)


# Old names (one vocabulary per task, docs/ARCHITECTURE.md): configs and old checkpoints still build,
# with a warning once per name; the Python names stay importable.
register_alias(METRICS, 'CocoDetMetric', CocoDetectionMetric)
CocoDetMetric = CocoDetectionMetric

__all__ = ['CocoDetectionMetric', 'coco_bbox_eval', 'to_coco_results', 'STAT_NAMES']

# what the INT8 / BF16 export compares (hrvision.quantize): box AP on a 0-1 scale, 0.5 point by default
from hrvision.quantize import register_deploy_metric  # noqa: E402
register_deploy_metric('AP', higher_better=True, max_drop=0.005)
