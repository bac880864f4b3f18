"""An Inferencer result drawn on its image (masks, skeletons, landmarks, boxes) with hrvision's drawing helpers."""
from __future__ import annotations

import numpy as np

from ..visualization import blend, colorize, draw_boxes, draw_points


def _people(image: np.ndarray, r: dict, kind: str, kpt_thr: float) -> np.ndarray:
    out = draw_boxes(image, r['bboxes'], color=(255, 200, 0)) if len(r['bboxes']) else image
    if kind == 'face':
        for kp in r['keypoints']:
            out = draw_points(out, kp, (255, 40, 40), max(1, min(image.shape[:2]) // 200))
        return out
    from hrvision.tasks.pose.vis import draw_people
    kp = np.concatenate([r['keypoints'], r['keypoint_scores'][..., None]], -1) if len(r['keypoints']) else []
    return draw_people(out, list(kp), kpt_thr)


def draw(image: np.ndarray, r: dict, kind: str, classes=None, score_thr: float = 0.3, kpt_thr: float = 0.2,
         heads: dict | None = None) -> np.ndarray:
    """``kind``: seg / pose / face / det / multitask (``heads``: head name -> kind)."""
    if kind == 'seg':
        from hrvision.tasks.segmentation.labels import PALETTE
        return blend(image, colorize(r['sem_seg'] % len(PALETTE), PALETTE), 0.6)
    if kind in ('pose', 'face'):
        return _people(image, r, kind, kpt_thr)
    if kind == 'det':
        from hrvision.tasks.detection.vis import _captions
        keep = r['scores'] >= score_thr
        return draw_boxes(image, r['bboxes'][keep], _captions(r['labels'][keep], r['scores'][keep], classes),
                          color=(255, 40, 40))
    out = image
    for name, sub in (heads or {}).items():   # seg under boxes under skeletons
        out = draw(out, r[name], sub, classes, score_thr, kpt_thr) if sub == 'seg' else out
    for name, sub in (heads or {}).items():
        out = out if sub == 'seg' else draw(out, r[name], sub, classes, score_thr, kpt_thr)
    return out
