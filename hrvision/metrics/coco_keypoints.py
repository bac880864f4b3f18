"""COCO keypoint results shared by the keypoint metrics (pose, multi-task) and PoseTrack: one predicted person,
one result per data sample, the results folder, and COCOeval with the dataset's OKS sigmas."""
from __future__ import annotations

import contextlib
import io
import os.path as osp
import tempfile
from typing import Iterable, Sequence

import numpy as np

from ..data.coco import keypoint_category
from .oks import check_sigmas


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


def default_out_dir(prefix: str = 'hrvision_pose_') -> str:
    """The Runner's work dir (the current logger writes ``<work_dir>/<timestamp>/<timestamp>.log``), else a new
    temporary folder (outside a Runner)."""
    from mmengine.logging import MMLogger
    try:
        log_file = MMLogger.get_current_instance().log_file
    except Exception:   # noqa: BLE001  (no logger yet: not inside a Runner)
        log_file = None
    if log_file:
        return osp.dirname(osp.dirname(osp.abspath(log_file)))
    return tempfile.mkdtemp(prefix=prefix)


def score_keypoints(gt, entries: list[dict], sigmas, img_ids: Iterable[int] | None = None,
                    category_id: int | None = None) -> tuple[np.ndarray, str]:
    """pycocotools ``COCOeval(iouType='keypoints')`` with ``params.kpt_oks_sigmas = sigmas`` (the dataset's), on
    ``img_ids`` (default: every image of ``gt``) and the keypoint category -> (its 10 stats, its printed summary)."""
    from pycocotools.cocoeval import COCOeval
    cat = keypoint_category(gt.dataset['categories']) if category_id is None else category_id
    num = len(entries[0]['keypoints']) // 3 if entries else None
    sigmas = check_sigmas(sigmas, num, 'keypoint metric')
    with contextlib.redirect_stdout(io.StringIO()) as buf:
        dt = gt.loadRes(entries)
        ev = COCOeval(gt, dt, 'keypoints')
        ev.params.useSegm = None
        ev.params.kpt_oks_sigmas = sigmas
        ev.params.catIds = [cat]
        if img_ids is not None:
            ev.params.imgIds = sorted({int(i) for i in img_ids})
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats, buf.getvalue()


__all__ = ['person', 'image_result', 'flatten', 'default_out_dir', 'score_keypoints']
