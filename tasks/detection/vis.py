"""Box overlays as PNG: ground truth (green) | predictions above a score threshold (red)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from hrvision.data.io import read_image
from hrvision.visualization import draw_boxes, hstack, put_text, save_png



def _field(obj: Any, key: str):
    if isinstance(obj, dict):
        return obj.get(key)
    if key in getattr(obj, 'metainfo', {}):
        return obj.metainfo[key]
    return getattr(obj, key, None)


def to_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, 'detach') else np.asarray(x)


def captions(labels: np.ndarray, scores: np.ndarray | None, classes: Sequence[str] | None) -> list[str]:
    names = [classes[int(c)] if classes and 0 <= int(c) < len(classes) else str(int(c)) for c in labels]
    return names if scores is None else [f'{n} {s:.2f}' for n, s in zip(names, scores)]


def overlay(image: np.ndarray, pred: Any, gt: Any = None, classes: Sequence[str] | None = None,
            score_thr: float = 0.3, gt_scale: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Side-by-side GT / prediction panels on the original image (boxes in its coordinates).

    Small images are enlarged by an integer factor so that captions stay readable.
    """
    k = max(1, -(-256 // min(image.shape[:2])))
    image = np.repeat(np.repeat(image, k, 0), k, 1)
    panels = []
    if gt is not None:
        b = to_numpy(_field(gt, 'bboxes')).reshape(-1, 4) / np.array([*gt_scale, *gt_scale]) * k
        panels.append(put_text(draw_boxes(image, b, captions(to_numpy(_field(gt, 'labels')), None, classes),
                                          color=(0, 200, 0)), 'ground truth'))
    scores = to_numpy(_field(pred, 'scores')).reshape(-1)
    keep = scores >= score_thr
    b = to_numpy(_field(pred, 'bboxes')).reshape(-1, 4)[keep] * k
    caps = captions(to_numpy(_field(pred, 'labels')).reshape(-1)[keep], scores[keep], classes)
    panels.append(put_text(draw_boxes(image, b, caps, color=(255, 40, 40)), f'prediction (score >= {score_thr})'))
    return hstack(panels)


def save_overlay(sample: Any, path: str, classes: Sequence[str] | None = None, score_thr: float = 0.3) -> str:
    """PNG for one predicted data sample (DataSample or its dict form) read from its ``img_path``.

    Ground-truth boxes live in resized-input coordinates, so they are divided by ``scale_factor``
    (undoing a flip is not needed: test pipelines do not flip).
    """
    image = read_image(_field(sample, 'img_path'))
    gt = _field(sample, 'gt_instances')
    scale = tuple(_field(sample, 'scale_factor') or (1.0, 1.0))
    return save_png(path, overlay(image, _field(sample, 'pred_instances'), gt, classes, score_thr, scale))


__all__ = ['overlay', 'save_overlay']
