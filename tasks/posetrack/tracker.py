"""Identities across frames: greedy matching on pose similarity (OKS) and box IoU (Simple Baselines).

Each frame, every current person is compared with every person of the previous frame by
``w * OKS + (1 - w) * IoU``; the most similar pair above ``thr`` takes the previous person's id, then the next,
until none is left; people left unmatched get new ids. :func:`propagate_boxes` turns the previous frame's
poses into boxes for the current frame, so that a person the detector misses is still estimated (the Simple
Baselines protocol propagates boxes with optical flow; here the box moves with the person's last velocity).
"""
from __future__ import annotations

import numpy as np
import torch

from hrvision.checks import check_number
from hrvision.metrics import oks_iou

from .joints import SIGMAS


def pose_box(keypoints: np.ndarray, scores: np.ndarray, thr: float = 0.2, pad: float = 0.15) -> np.ndarray | None:
    """x1, y1, x2, y2 around the joints scoring above ``thr``, enlarged by ``pad`` of its size on each side."""
    kp = np.asarray(keypoints)[np.asarray(scores) > thr]
    if len(kp) < 2:
        return None
    lo, hi = kp.min(0), kp.max(0)
    d = (hi - lo) * pad + 2
    return np.concatenate([lo - d, hi + d])


class PoseTracker:
    """``step(keypoints (N, 17, 2), scores (N, 17), boxes (N, 4) x1y1x2y2) -> (N,) track ids``.

    Args:
        oks_weight: share of OKS in the similarity (the rest is box IoU).
        thr: similarity a pair needs to keep an id.
        vis_thr: joints scoring above it enter the OKS.
    """

    def __init__(self, oks_weight: float = 0.5, thr: float = 0.3, vis_thr: float = 0.2) -> None:
        self.w = check_number('PoseTracker oks_weight', oks_weight, 0.0, 1.0)
        self.thr = check_number('PoseTracker thr', thr, 0.0, 1.0)
        self.vis_thr = vis_thr
        self.next_id = 0
        self.prev: dict | None = None
        self.velocity: dict = {}

    def similarity(self, kp, sc, boxes) -> np.ndarray:
        """(N, M) ``w * OKS + (1 - w) * IoU`` against the previous frame."""
        p = self.prev
        n, m = len(kp), len(p['kp'])
        if not n or not m:
            return np.zeros((n, m))
        from torchvision.ops import box_iou   # (torchvision loads on the first match, not at start)
        iou = box_iou(torch.as_tensor(boxes, dtype=torch.float64),
                      torch.as_tensor(p['boxes'], dtype=torch.float64)).numpy()
        area = np.prod(np.maximum(boxes[:, 2:] - boxes[:, :2], 1), 1)
        area_p = np.prod(np.maximum(p['boxes'][:, 2:] - p['boxes'][:, :2], 1), 1)
        dets = np.concatenate([kp, sc[..., None]], -1)
        oks = np.stack([oks_iou(np.concatenate([p['kp'][j], p['sc'][j][:, None]], 1), dets, area_p[j], area,
                                SIGMAS, self.vis_thr) for j in range(m)], 1)
        return self.w * oks + (1 - self.w) * iou

    def step(self, keypoints, scores, boxes) -> np.ndarray:
        kp = np.asarray(keypoints, np.float64).reshape(-1, len(SIGMAS), 2)
        sc = np.asarray(scores, np.float64).reshape(len(kp), len(SIGMAS))
        boxes = np.asarray(boxes, np.float64).reshape(len(kp), 4)
        ids = np.full(len(kp), -1, np.int64)
        if self.prev is not None:
            sim = self.similarity(kp, sc, boxes)
            while sim.size and sim.max() > self.thr:
                i, j = np.unravel_index(np.argmax(sim), sim.shape)
                ids[i] = self.prev['ids'][j]
                sim[i, :], sim[:, j] = -1, -1
        for i in np.nonzero(ids < 0)[0]:
            ids[i] = self.next_id
            self.next_id += 1
        centers = (boxes[:, :2] + boxes[:, 2:]) / 2
        if self.prev is not None:
            old = {t: c for t, c in zip(self.prev['ids'], self.prev['centers'])}
            self.velocity = {int(t): c - old[t] for t, c in zip(ids, centers) if t in old}
        self.prev = dict(kp=kp, sc=sc, boxes=boxes, ids=ids, centers=centers)
        return ids

    def propagate_boxes(self, score_decay: float = 0.9) -> np.ndarray:
        """(M, 5) boxes x1, y1, x2, y2, score for the next frame from this frame's poses, moved by each
        track's last velocity (the score: the pose's mean joint score x ``score_decay``)."""
        if self.prev is None:
            return np.zeros((0, 5), np.float32)
        rows = []
        for kp, sc, t in zip(self.prev['kp'], self.prev['sc'], self.prev['ids']):
            b = pose_box(kp, sc, self.vis_thr)
            if b is None:
                continue
            v = self.velocity.get(int(t), np.zeros(2))
            rows.append(np.concatenate([b + np.tile(v, 2), [float(sc.mean()) * score_decay]]))
        return np.asarray(rows, np.float32).reshape(-1, 5)
