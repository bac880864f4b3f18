"""COCO keypoint AP/AR with the official protocol (SPEC §4.1).

Per person: ``score = box_score * mean(joint maxima > 0.2)`` (0 when none passes); per image OKS-NMS at
0.9 (standard COCO sigmas, ``area = prod(scale * 200)``); results written as COCO results JSON in the work
dir; scored by pycocotools ``COCOeval(iouType='keypoints')`` with its prints silenced.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import os.path as osp
import tempfile
from collections import defaultdict
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hrvision.engine.metric_files import DatasetFileMetric, check_evaluated_images, metric_ann_file
from hrvision.registry import METRICS

from .dataset import COCO_SIGMAS, PERSON_CATEGORY, load_coco

STAT_NAMES = ('AP', 'AP50', 'AP75', 'APm', 'APl', 'AR', 'AR50', 'AR75', 'ARm', 'ARl')


def oks_iou(g: np.ndarray, d: np.ndarray, area_g: float, area_d: np.ndarray, sigmas: np.ndarray = COCO_SIGMAS,
            vis_thr: float | None = None) -> np.ndarray:
    """Official ``oks_iou``: one person ``g`` (K*3 or (K, 3)) against ``d`` (M, K*3 or (M, K, 3))."""
    g = np.asarray(g, np.float64).reshape(-1, 3)
    d = np.asarray(d, np.float64).reshape(len(d), len(g), 3)
    var = (np.asarray(sigmas) * 2) ** 2
    e = ((d[..., 0] - g[:, 0]) ** 2 + (d[..., 1] - g[:, 1]) ** 2) / var / \
        ((area_g + np.asarray(area_d, np.float64)[:, None]) / 2 + np.spacing(1)) / 2
    if vis_thr is None:
        return np.exp(-e).mean(axis=1) if e.shape[1] else np.zeros(len(d))
    keep = d[..., 2] > vis_thr   # official: `list(vg > t) and list(vd > t)` evaluates to the second list
    n = keep.sum(1)
    return np.where(n > 0, (np.exp(-e) * keep).sum(1) / np.maximum(n, 1), 0.0)


def oks_nms(kpts: np.ndarray, scores: np.ndarray, areas: np.ndarray, thr: float,
            sigmas: np.ndarray = COCO_SIGMAS, vis_thr: float | None = None) -> list[int]:
    """Official greedy ``oks_nms``: keep the best, drop those with OKS > ``thr`` against it, repeat."""
    kpts = np.asarray(kpts, np.float64).reshape(len(scores), -1)
    order = np.argsort(np.asarray(scores))[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        ovr = oks_iou(kpts[i], kpts[order[1:]], areas[i], np.asarray(areas)[order[1:]], sigmas, vis_thr)
        order = order[np.nonzero(ovr <= thr)[0] + 1]
    return keep


def rescore(box_score: float, joint_scores: np.ndarray, vis_thr: float = 0.2) -> float:
    """Official rescoring: box score x mean of the joint maxima above ``vis_thr`` (0 when none)."""
    s = np.asarray(joint_scores, np.float64)
    valid = s > vis_thr
    return float(box_score * (s[valid].mean() if valid.any() else 0.0))


def person(keypoints, keypoint_scores, area: float, box_score: float = 1.0) -> dict:
    """One predicted person: (K, 3) joints with their scores, crop area, box score."""
    kp, sc = np.asarray(keypoints, np.float64), np.asarray(keypoint_scores, np.float64)
    return dict(keypoints=np.concatenate([kp, sc[:, None]], 1), area=float(area), box_score=float(box_score))


def image_result(sample, people: list[dict]) -> dict:
    """The one result a data sample adds: mmengine's ``evaluate(size)`` keeps ``size`` results (one per dataset
    item), so the people of a sample travel together instead of one result each."""
    return dict(img_id=int(sample['img_id']), img_path=sample.get('img_path'), people=people)


def flatten(results: Sequence[dict]) -> list[dict]:
    """Per-sample results -> one dict per person, with its ``img_id`` and ``img_path``."""
    return [dict(p, img_id=r['img_id'], img_path=r['img_path']) for r in results for p in r['people']]


def _default_out_dir() -> str:
    """The Runner's work dir (the current logger writes ``<work_dir>/<timestamp>/<timestamp>.log``)."""
    try:
        log_file = MMLogger.get_current_instance().log_file
    except Exception:   # noqa: BLE001  (no logger yet: not inside a Runner)
        log_file = None
    if log_file:
        return osp.dirname(osp.dirname(osp.abspath(log_file)))
    return tempfile.mkdtemp(prefix='hrvision_pose_')


@METRICS.register_module()
class CocoKeypointMetric(DatasetFileMetric, BaseMetric):
    """Args:
        ann_file: the COCO keypoint ground truth of the evaluated split; default (None) the evaluated dataset's
            (``dataset_meta[dataset_file_key]``). Another file than the dataset's is refused, and so is an evaluated
            image the file does not hold (:mod:`hrvision.engine.metric_files`): scored against other ground truth,
            perfect predictions would lose AP silently.
        out_dir: where ``keypoints_results.json`` goes (default: the Runner's work dir).
        vis_thr: joint maxima above this count in the rescoring (official ``IN_VIS_THRE`` 0.2).
        oks_thr: OKS-NMS threshold (official 0.9); ``None`` disables NMS.
        num_vis: write skeleton overlays of this many images (PNG) into ``out_dir/vis``.
    """

    default_prefix = 'coco'

    def __init__(self, ann_file: str | None = None, out_dir: str | None = None, vis_thr: float = 0.2,
                 oks_thr: float | None = 0.9, num_vis: int = 0, collect_device: str = 'cpu', prefix: str | None = None,
                 format_only: bool = False) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ann_file = ann_file
        self.format_only = format_only   # write keypoints_results.json only (COCO test-dev: no annotations)
        self.out_dir = out_dir
        self.vis_thr = vis_thr
        self.oks_thr = oks_thr
        self.num_vis = num_vis

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            if 'pred_keypoints' not in s:
                raise KeyError('CocoKeypointMetric needs pred_keypoints in the data samples (model predict mode)')
            self.results.append(image_result(s, [person(s['pred_keypoints'], s['keypoint_scores'], s['area'],
                                                        s.get('bbox_score', 1.0))]))

    def results_to_coco(self, results: Sequence[dict]) -> list[dict]:
        """Rescoring + per-image OKS-NMS -> COCO results entries (plain Python lists)."""
        by_img: dict[int, list[dict]] = defaultdict(list)
        for r in flatten(results):
            by_img[r['img_id']].append(dict(r, score=rescore(r['box_score'], r['keypoints'][:, 2], self.vis_thr)))
        out = []
        for img_id in sorted(by_img):
            people = by_img[img_id]
            if self.oks_thr is not None and len(people) > 1:
                keep = oks_nms(np.stack([p['keypoints'] for p in people]), np.array([p['score'] for p in people]),
                               np.array([p['area'] for p in people]), self.oks_thr)
                people = [people[i] for i in keep] if keep else people
            out += [dict(image_id=int(img_id), category_id=PERSON_CATEGORY,
                         keypoints=[float(v) for v in p['keypoints'].reshape(-1)], score=float(p['score']))
                    for p in people]
        return out

    def compute_metrics(self, results: list) -> dict[str, float]:
        from pycocotools.cocoeval import COCOeval
        out_dir = self.out_dir or _default_out_dir()
        os.makedirs(out_dir, exist_ok=True)
        entries = self.results_to_coco(results)
        res_file = osp.join(out_dir, 'keypoints_results.json')
        with open(res_file, 'w', encoding='utf-8') as f:
            json.dump(entries, f)
        logger = MMLogger.get_current_instance()
        logger.info(f'keypoint results ({len(entries)} people) written to {res_file}')
        if self.format_only:
            return {}
        ann_file = metric_ann_file(type(self).__name__, self.ann_file, self.dataset_meta, self.dataset_file_key)
        gt = load_coco(ann_file)
        check_evaluated_images(ann_file, gt.imgs, [r['img_id'] for r in results])
        if not entries:
            return {name: 0.0 for name in STAT_NAMES}
        with contextlib.redirect_stdout(io.StringIO()) as buf:
            dt = gt.loadRes(entries)
            ev = COCOeval(gt, dt, 'keypoints')
            ev.params.useSegm = None
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        logger.info('\n' + buf.getvalue())
        if self.num_vis:
            from .vis import save_overlays
            save_overlays(flatten(results), gt, osp.join(out_dir, 'vis'), self.num_vis)
        return {name: float(v) for name, v in zip(STAT_NAMES, ev.stats)}
