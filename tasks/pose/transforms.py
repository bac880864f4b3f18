"""Top-down pose transforms, as the official ``JointsDataset.__getitem__`` (SPEC §2.1).

Training order: load -> half-body (p 0.3 when > 8 joints visible) -> scale ``clip(randn*0.35+1, .65, 1.35)``
-> rotation (p 0.6, ``clip(randn*45, -90, 90)``) -> flip (p 0.5, the dataset's ``flip_indices``, ``x' = W-1-x``) -> affine crop
(``cv2.warpAffine``, bilinear, border 0) -> heatmap targets (the codec) -> pack.
Evaluation: load -> affine crop -> pack (no targets needed).

Each sample dict carries ``img_path``, ``center`` (2,), ``scale`` (2,), ``keypoints`` (K, 2),
``keypoints_visible`` (K,), the dataset metadata's ``flip_indices`` (K,) and bookkeeping (``img_id``,
``bbox_score``, ``area``, ``id``).
Randomness uses ``np.random`` (the official code mixes in Python's ``random`` for the rotation/flip coins;
the distributions are the same).
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
import torch

from hrvision.codecs import BaseHeatmapCodec, build_codec
from hrvision.data.io import read_image
from hrvision.data.keypoints import PIXEL_STD, affine_points, flip_keypoints, get_affine_transform
from hrvision.data.metainfo import resolve_flip_indices
from hrvision.errors import ConfigError
from hrvision.registry import TRANSFORMS, register_alias
from hrvision.structures import DataSample

COCO_UPPER_BODY_IDS = tuple(range(11))


def half_body_center_scale(joints: np.ndarray, visible: np.ndarray, aspect_ratio: float,
                           upper_body_ids: Sequence[int] = COCO_UPPER_BODY_IDS, padding: float = 1.5
                           ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Official ``half_body_transform``: the upper body when ``np.random.randn() < 0.5`` (p ~0.69) and it
    has > 2 visible joints, else the lower body (if > 2, else the upper); box of the joints, aspect-fixed,
    x1.5. ``(None, None)`` when fewer than 2 joints are selected. Draws exactly one ``randn``."""
    vis = np.asarray(visible).reshape(len(joints), -1)[:, 0] > 0
    is_upper = np.isin(np.arange(len(joints)), upper_body_ids)
    upper = joints[vis & is_upper, :2]
    lower = joints[vis & ~is_upper, :2]
    if np.random.randn() < 0.5 and len(upper) > 2:
        sel = upper
    else:
        sel = lower if len(lower) > 2 else upper
    if len(sel) < 2:
        return None, None
    sel = np.asarray(sel, np.float32)
    center = sel.mean(axis=0)[:2]
    w, h = sel.max(0) - sel.min(0)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return center, np.array([w / PIXEL_STD, h / PIXEL_STD], np.float32) * padding


@TRANSFORMS.register_module()
class LoadPoseImage:
    """Read ``img_path`` as RGB uint8 (errors name the file); sets ``ori_shape``."""

    def __call__(self, results: dict) -> dict:
        img = read_image(results['img_path'])
        results['img'] = img
        results['ori_shape'] = img.shape[:2]
        return results


def _half_body_refusal(where: str) -> ConfigError:
    return ConfigError(f'{where}: TopDownHalfBody needs the upper body of these keypoints: state '
                       'metainfo.upper_body_ids (0-based indices; COCO: 0..10) or drop the transform (or prob=0)')


def check_half_body(pipeline, meta: dict, where: str) -> None:
    """Refuse, before any sample is drawn, a half-body transform (prob > 0) whose dataset states no
    ``upper_body_ids`` (COCO's 0..10 would take a custom set's hips or knees as upper body)."""
    for t in getattr(pipeline, 'transforms', None) or ():
        if isinstance(t, TopDownHalfBody) and t.prob > 0 and t.upper_body_ids is None \
                and meta.get('upper_body_ids') is None:
            raise _half_body_refusal(where)


@TRANSFORMS.register_module()
class TopDownHalfBody:
    """With ``prob``, when more than ``min_visible`` joints are visible, crop to the upper or lower body.

    The upper body is the dataset's ``metainfo.upper_body_ids`` (each sample's ``upper_body_ids``); the
    ``upper_body_ids`` argument overrides it (a pipeline run without a dataset)."""

    def __init__(self, input_size: Sequence[int] = (192, 256), prob: float = 0.3, min_visible: int = 8,
                 upper_body_ids: Sequence[int] | None = None) -> None:
        self.aspect_ratio = input_size[0] / input_size[1]
        self.prob = prob
        self.min_visible = min_visible
        self.upper_body_ids = None if upper_body_ids is None else tuple(int(i) for i in upper_body_ids)

    def __call__(self, results: dict) -> dict:
        vis = np.asarray(results['keypoints_visible'])
        upper = self.upper_body_ids if self.upper_body_ids is not None else results.get('upper_body_ids')
        if upper is None and self.prob > 0:
            raise _half_body_refusal('TopDownHalfBody')
        if vis.sum() > self.min_visible and np.random.rand() < self.prob:
            c, s = half_body_center_scale(np.asarray(results['keypoints']), vis, self.aspect_ratio, upper)
            if c is not None:
                results['center'], results['scale'] = c, s
        return results


@TRANSFORMS.register_module()
class TopDownRandomScaleRotation:
    """``scale *= clip(randn*sf + 1, 1-sf, 1+sf)``; with ``rot_prob`` a rotation ``clip(randn*rf, -2rf, 2rf)``."""

    def __init__(self, scale_factor: float = 0.35, rot_factor: float = 45.0, rot_prob: float = 0.6) -> None:
        self.sf, self.rf, self.rot_prob = scale_factor, rot_factor, rot_prob

    def __call__(self, results: dict) -> dict:
        sf, rf = self.sf, self.rf
        results['scale'] = np.asarray(results['scale'], np.float32) * np.clip(np.random.randn() * sf + 1, 1 - sf,
                                                                              1 + sf)
        rot = np.clip(np.random.randn() * rf, -rf * 2, rf * 2) if np.random.rand() <= self.rot_prob else 0.0
        results['rotation'] = float(rot)
        return results


@TRANSFORMS.register_module()
class PoseRandomFlip:
    """With ``prob``: mirror the image, the joints (``x' = W - 1 - x``, left/right swapped by the dataset's
    ``results['flip_indices']``) and the center. ``flip_pairs`` is deprecated: given, it must agree with the
    dataset's (refused otherwise), and serves a pipeline run without a dataset."""

    def __init__(self, prob: float = 0.5, flip_pairs: Sequence[Sequence[int]] | None = None) -> None:
        self.prob = prob
        self.flip_pairs = None if flip_pairs is None else [tuple(p) for p in flip_pairs]

    def _indices(self, results: dict, num: int) -> list[int]:
        return resolve_flip_indices(results.get('flip_indices'), self.flip_pairs, num, 'PoseRandomFlip')

    def __call__(self, results: dict) -> dict:
        results.setdefault('flip', False)
        if np.random.rand() > self.prob:
            return results
        img = results['img'][:, ::-1]
        width = img.shape[1]
        results['img'] = np.ascontiguousarray(img)
        if 'keypoints' in results:
            perm = self._indices(results, len(results['keypoints']))
            j, v = flip_keypoints(results['keypoints'], results['keypoints_visible'], width, flip_indices=perm)
            results['keypoints'], results['keypoints_visible'] = j, v
        c = np.array(results['center'], np.float32, copy=True)
        c[0] = width - c[0] - 1
        results['center'] = c
        results['flip'] = True
        return results


@TRANSFORMS.register_module()
class TopDownAffine:
    """Crop ``input_size`` (W, H) around center/scale/rotation with ``cv2.warpAffine`` (bilinear, border 0);
    visible joints follow the same affine (into ``keypoints`` in input-crop pixels). No default size: a config's
    pipeline leaves it out and ``prepare_config`` fills the model codec's (``tasks/pose/config.py``); a default
    would crop a pipeline built without it at a size the network does not read."""

    def __init__(self, input_size: Sequence[int] | None = None) -> None:
        if input_size is None:
            raise ConfigError('TopDownAffine input_size is not set: give (W, H), or leave it out of a config\'s '
                              'pipeline, where prepare_config fills it from model.codec.input_size')
        self.input_size = (int(input_size[0]), int(input_size[1]))

    def __call__(self, results: dict) -> dict:
        rot = float(results.get('rotation', 0.0))
        trans = get_affine_transform(results['center'], results['scale'], rot, self.input_size)
        results['img'] = cv2.warpAffine(results['img'], trans, self.input_size, flags=cv2.INTER_LINEAR)
        results['img_shape'] = (self.input_size[1], self.input_size[0])
        if 'keypoints' in results:
            kp = np.array(results['keypoints'], np.float64, copy=True)
            vis = np.asarray(results['keypoints_visible']).reshape(len(kp), -1)[:, 0] > 0
            kp[vis, :2] = affine_points(kp[vis, :2], trans)
            results['keypoints'] = kp
        return results


@TRANSFORMS.register_module()
class PoseHeatmapTargets:
    """Codec targets: ``heatmaps`` (K, h, w) and ``target_weight`` (K,) from the crop keypoints."""

    def __init__(self, codec: dict | BaseHeatmapCodec) -> None:
        self.codec = build_codec(codec)

    def __call__(self, results: dict) -> dict:
        enc = self.codec.encode(results['keypoints'], results['keypoints_visible'])
        results['heatmaps'] = enc['heatmaps']
        results['target_weight'] = enc['keypoint_weights']
        return results


META_KEYS = ('img_path', 'img_id', 'id', 'ori_shape', 'img_shape', 'center', 'scale', 'rotation', 'flip',
             'bbox_score', 'area', 'bbox', 'flip_indices')


@TRANSFORMS.register_module()
class PackPoseInputs:
    """-> ``{'inputs': (3, H, W) uint8 RGB tensor, 'data_samples': DataSample}`` (fields: structures.py)."""

    def __call__(self, results: dict) -> dict:
        img = np.ascontiguousarray(results['img'].transpose(2, 0, 1))
        sample = DataSample(metainfo={k: results[k] for k in META_KEYS if k in results})
        if 'keypoints' in results:
            sample.gt_keypoints = torch.as_tensor(np.asarray(results['keypoints'])[:, :2], dtype=torch.float32)
            vis = np.asarray(results['keypoints_visible'], np.float32).reshape(len(sample.gt_keypoints), -1)[:, 0]
            sample.keypoints_visible = torch.from_numpy(vis)
        if 'heatmaps' in results:
            sample.gt_heatmaps = torch.from_numpy(results['heatmaps'])
            sample.target_weight = torch.from_numpy(np.asarray(results['target_weight'], np.float32))
        return {'inputs': torch.from_numpy(img), 'data_samples': sample}


# Old names (one vocabulary per task, docs/ARCHITECTURE.md): configs and old checkpoints still build,
# with a warning once per name; the Python names stay importable.
register_alias(TRANSFORMS, 'TopDownRandomFlip', PoseRandomFlip)
register_alias(TRANSFORMS, 'GenerateHeatmapTarget', PoseHeatmapTargets)
TopDownRandomFlip = PoseRandomFlip
GenerateHeatmapTarget = PoseHeatmapTargets
