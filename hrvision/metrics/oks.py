"""Object keypoint similarity (OKS) as the official HRNet / COCO code computes it, with the caller's sigmas.

Sigmas are a dataset's (``dataset_meta['sigmas']``, COCO's /10 values); there is deliberately no default, so a
12-keypoint dataset can never be scored with COCO's 17 values.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError


def check_sigmas(sigmas, num_keypoints: int | None = None, where: str = 'dataset_meta') -> np.ndarray:
    """``sigmas`` as a float array: one positive finite number per keypoint (``ConfigError`` naming ``where``)."""
    if sigmas is None:
        raise ConfigError(f'{where}: no "sigmas" (OKS needs one per keypoint; state them in the dataset metainfo)')
    s = np.asarray(sigmas, np.float64).reshape(-1)
    if not len(s) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ConfigError(f'{where}.sigmas must be positive numbers, got {list(sigmas)[:20]}')
    if num_keypoints is not None and len(s) != num_keypoints:
        raise ConfigError(f'{where}.sigmas has {len(s)} values but the keypoints have {num_keypoints}')
    return s


def oks_iou(g: np.ndarray, d: np.ndarray, area_g: float, area_d: np.ndarray, sigmas,
            vis_thr: float | None = None) -> np.ndarray:
    """Official ``oks_iou``: one person ``g`` (K*3 or (K, 3)) against ``d`` (M, K*3 or (M, K, 3))."""
    g = np.asarray(g, np.float64).reshape(-1, 3)
    d = np.asarray(d, np.float64).reshape(len(d), len(g), 3)
    sigmas = check_sigmas(sigmas, len(g), 'oks_iou')
    var = (sigmas * 2) ** 2
    e = ((d[..., 0] - g[:, 0]) ** 2 + (d[..., 1] - g[:, 1]) ** 2) / var / \
        ((area_g + np.asarray(area_d, np.float64)[:, None]) / 2 + np.spacing(1)) / 2
    if vis_thr is None:
        return np.exp(-e).mean(axis=1) if e.shape[1] else np.zeros(len(d))
    keep = d[..., 2] > vis_thr   # official: `list(vg > t) and list(vd > t)` evaluates to the second list
    n = keep.sum(1)
    return np.where(n > 0, (np.exp(-e) * keep).sum(1) / np.maximum(n, 1), 0.0)


def oks_nms(kpts: np.ndarray, scores: np.ndarray, areas: np.ndarray, thr: float, sigmas,
            vis_thr: float | None = None) -> list[int]:
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


__all__ = ['check_sigmas', 'oks_iou', 'oks_nms', 'rescore']
