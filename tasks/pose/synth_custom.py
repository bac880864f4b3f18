"""A COCO keypoint file with its *own* keypoint category (issue 21: "your own data"): 12 keypoints in a scrambled
order, an asymmetric skeleton, custom OKS sigmas and category id, over the synthetic stick figures of
:mod:`hrvision.tasks.pose.synth`. Nothing in the file is COCO's 17-keypoint layout, so training, the flip test, OKS
and the pictures can only be right when they follow the file's metadata.

``hrvision data synth-coco-pose OUT --keypoints custom12`` writes the same layout as the COCO variant
(``annotations/person_keypoints_{train,val}.json``, ``train/``, ``val/``, a detections file) plus
``annotations/metainfo.json`` (the sigmas, which COCO files have no field for).
"""
from __future__ import annotations

import json
import os.path as osp

import numpy as np

from hrvision.atomic import atomic_write_text

from .synth import write_synthetic

# name -> how it is read off the 17 COCO joints of a figure (an index, or the mean of two)
CUSTOM12 = (('head', 0), ('right_shoulder', 6), ('left_wrist', 9), ('neck', (5, 6)), ('left_shoulder', 5),
            ('right_elbow', 8), ('left_hip', 11), ('right_wrist', 10), ('left_elbow', 7), ('right_knee', 14),
            ('right_hip', 12), ('left_knee', 13))
CUSTOM12_NAMES = tuple(n for n, _ in CUSTOM12)
# 0-based; asymmetric on purpose (the left arm is linked to the neck, the right one is not)
CUSTOM12_SKELETON = ((0, 3), (3, 4), (4, 8), (8, 2), (1, 5), (5, 7), (3, 1), (6, 11), (10, 9), (6, 10))
CUSTOM12_SIGMAS = (.03, .07, .06, .05, .07, .07, .10, .06, .07, .09, .10, .09)
CUSTOM12_CATEGORY = 3
# the half-body augmentation's upper body: head, neck, shoulders, elbows, wrists
CUSTOM12_UPPER_BODY = (0, 1, 2, 3, 4, 5, 7, 8)


def _convert(kp17: np.ndarray) -> np.ndarray:
    """(17, 3) COCO-style joints -> (12, 3) custom: a mean joint is labelled when both parts are, with the lower flag."""
    out = np.zeros((12, 3))
    for i, (_, src) in enumerate(CUSTOM12):
        if isinstance(src, tuple):
            a, b = kp17[src[0]], kp17[src[1]]
            if a[2] > 0 and b[2] > 0:
                out[i] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, min(a[2], b[2])]
        else:
            out[i] = kp17[src]
    return out


def convert_file(path: str) -> dict:
    """Rewrite a synthetic COCO-17 keypoint file (``write_synthetic``'s) into the custom 12-keypoint category."""
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    for ann in data['annotations']:
        kp = _convert(np.asarray(ann['keypoints'], np.float64).reshape(17, 3))
        ann['keypoints'] = [round(float(v), 2) for v in kp.reshape(-1)]
        ann['num_keypoints'] = int((kp[:, 2] > 0).sum())
        ann['category_id'] = CUSTOM12_CATEGORY
    data['categories'] = [dict(id=CUSTOM12_CATEGORY, name='figure', supercategory='figure',
                               keypoints=list(CUSTOM12_NAMES), skeleton=[[a + 1, b + 1] for a, b in CUSTOM12_SKELETON])]
    data['info'] = dict(description='hrvision synthetic custom 12-keypoint category')
    atomic_write_text(path, json.dumps(data))
    return data


def write_custom_synthetic(out: str, *, n_train: int = 64, n_val: int | None = None,
                           size: tuple[int, int] = (160, 192), seed: int = 0) -> dict:
    """:func:`~hrvision.tasks.pose.synth.write_synthetic`, then every file in the custom 12-keypoint category;
    ``annotations/metainfo.json`` holds the sigmas (a config's ``metainfo=dict(from_file=...)``)."""
    summary = write_synthetic(out, n_train=n_train, n_val=n_val, size=size, seed=seed)
    ann = osp.join(out, 'annotations')
    for split in ('train', 'val'):
        convert_file(osp.join(ann, f'person_keypoints_{split}.json'))
    det_path = osp.join(ann, 'person_detections_val.json')
    with open(det_path, encoding='utf-8') as f:
        dets = json.load(f)
    for d in dets:
        d['category_id'] = CUSTOM12_CATEGORY
    atomic_write_text(det_path, json.dumps(dets))
    atomic_write_text(osp.join(ann, 'metainfo.json'), json.dumps(dict(
        sigmas=list(CUSTOM12_SIGMAS), upper_body_ids=list(CUSTOM12_UPPER_BODY)), indent=1))
    return dict(summary, keypoints=12, category_id=CUSTOM12_CATEGORY)


def write_pose_synthetic(out: str, *, keypoints: str = 'coco', **kwargs) -> dict:
    """``synth-coco-pose``'s writer: ``keypoints='coco'`` (17 COCO joints) or ``'custom12'`` (this module's)."""
    if keypoints == 'custom12':
        return write_custom_synthetic(out, **kwargs)
    return write_synthetic(out, **kwargs)
