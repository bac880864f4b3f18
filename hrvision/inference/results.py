"""A predicted DataSample -> plain numpy results in original-image pixels (one dict per image)."""
from __future__ import annotations

import numpy as np


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, 'detach') else np.asarray(t)


def seg(sample, probs: bool = False) -> dict:
    out = {'sem_seg': _np(sample.pred_sem_seg).astype(np.int64)}
    if probs and 'seg_logits' in sample:
        import torch
        out['seg_probs'] = _np(torch.softmax(sample.seg_logits.float(), 0))
    return out


def det(sample) -> dict:
    p = sample.pred_instances
    return {'bboxes': _np(p.bboxes).astype(np.float32).reshape(-1, 4), 'scores': _np(p.scores).astype(np.float32),
            'labels': _np(p.labels).astype(np.int64)}


def people(samples, boxes, box_scores) -> dict:
    """Top-down crops of one image (pose or face): one row per box."""
    k = [_np(s.pred_keypoints).astype(np.float32) for s in samples]
    sc = [_np(s.keypoint_scores).astype(np.float32).reshape(len(k[0]), ) for s in samples] if samples else []
    kdim = k[0].shape[0] if k else 0
    return {'bboxes': np.asarray(boxes, np.float32).reshape(-1, 4), 'bbox_scores': np.asarray(box_scores, np.float32),
            'keypoints': np.stack(k) if k else np.zeros((0, kdim, 2), np.float32),
            'keypoint_scores': np.stack(sc) if sc else np.zeros((0, kdim), np.float32)}


def multitask(sample, model) -> dict:
    """Every head's output, keyed by head name."""
    out = {}
    for name, adapter in model.adapters.items():
        if adapter.kind == 'seg':
            out[name] = seg(sample)
        elif adapter.kind == 'det':
            out[name] = det(sample)
        elif adapter.kind == 'pose':
            p = sample.pred_pose
            out[name] = {'bboxes': _np(p.bboxes).astype(np.float32).reshape(-1, 4),
                         'bbox_scores': _np(p.scores).astype(np.float32),
                         'keypoints': _np(p.keypoints).astype(np.float32),
                         'keypoint_scores': _np(p.keypoint_scores).astype(np.float32)}
        elif adapter.kind == 'face':
            out[name] = {'keypoints': _np(sample.pred_keypoints).astype(np.float32)[None],
                         'keypoint_scores': _np(sample.keypoint_scores).astype(np.float32)[None]}
    return out
