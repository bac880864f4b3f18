"""Detection transforms: load, aspect-keeping resize, horizontal flip, pack.

``results`` keys: ``img`` (HxWx3 uint8 RGB), ``gt_bboxes`` (N, 4) float32 xyxy in pixels of the
current image, ``gt_labels`` (N,) int64, plus ``img_path``, ``img_id``, ``ori_shape``,
``img_shape``, ``scale_factor`` (w, h), ``flip``.
"""
from __future__ import annotations


import cv2
import numpy as np
import torch

from hrvision.data.io import read_image
from hrvision.registry import TRANSFORMS, register_alias
from hrvision.structures import DataSample, InstanceData


@TRANSFORMS.register_module()
class LoadDetectionImage:
    """``img_path`` -> ``img``, ``ori_shape``, ``img_shape``; boxes become float32 arrays."""

    def __call__(self, results: dict) -> dict:
        img = read_image(results['img_path'], (results.get('height'), results.get('width')))
        h, w = img.shape[:2]
        results['img'] = img
        results['ori_shape'] = (h, w)
        results['img_shape'] = (h, w)
        results.setdefault('scale_factor', (1.0, 1.0))
        results['gt_bboxes'] = np.asarray(results.get('gt_bboxes', np.zeros((0, 4))), np.float32).reshape(-1, 4)
        results['gt_labels'] = np.asarray(results.get('gt_labels', np.zeros(0)), np.int64).reshape(-1)
        return results


def rescale_size(h: int, w: int, scale: tuple[int, int]) -> tuple[int, int, float]:
    """Aspect-keeping target size for ``scale`` = (long edge max, short edge max), e.g. (1333, 800)."""
    long_max, short_max = max(scale), min(scale)
    r = min(long_max / max(h, w), short_max / min(h, w))
    return int(h * r + 0.5), int(w * r + 0.5), r


@TRANSFORMS.register_module()
class DetectionResize:
    """Resize keeping the aspect ratio so the image fits ``scale`` (long, short); boxes follow."""

    def __init__(self, scale: tuple[int, int] = (1333, 800)) -> None:
        self.scale = tuple(scale)

    def __call__(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        nh, nw, _ = rescale_size(h, w, self.scale)
        if (nh, nw) != (h, w):
            interp = cv2.INTER_AREA if nh < h else cv2.INTER_LINEAR
            img = cv2.resize(img, (nw, nh), interpolation=interp)
        sx, sy = nw / w, nh / h
        results['img'] = img
        results['img_shape'] = (nh, nw)
        px, py = results.get('scale_factor', (1.0, 1.0))
        results['scale_factor'] = (px * sx, py * sy)
        boxes = results['gt_bboxes'] * np.array([sx, sy, sx, sy], np.float32)
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, nw)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, nh)
        results['gt_bboxes'] = boxes
        return results


@TRANSFORMS.register_module()
class DetectionRandomFlip:
    """Horizontal flip with probability ``prob``: x1' = W - x2, x2' = W - x1 (continuous coordinates); classes named
    by side swap labels (the sample's ``flip_class_indices``, from the dataset: a mirrored left hand is a right hand)."""

    def __init__(self, prob: float = 0.5) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'DetectionRandomFlip prob must be in [0, 1], got {prob}')
        self.prob = prob

    def __call__(self, results: dict) -> dict:
        flip = bool(np.random.rand() < self.prob)
        results['flip'] = flip
        if flip:
            w = results['img'].shape[1]
            results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
            b = results['gt_bboxes'].copy()
            b[:, 0], b[:, 2] = w - results['gt_bboxes'][:, 2], w - results['gt_bboxes'][:, 0]
            results['gt_bboxes'] = b
            perm = results.get('flip_class_indices')
            if perm is not None and len(results.get('gt_labels', ())):
                results['gt_labels'] = np.asarray(perm, np.int64)[results['gt_labels']]
        return results


@TRANSFORMS.register_module()
class PackDetectionInputs:
    """-> ``{'inputs': CHW uint8 tensor, 'data_samples': DataSample(gt_instances, metainfo)}``."""

    META_KEYS = ('img_path', 'img_id', 'ori_shape', 'img_shape', 'scale_factor', 'flip')

    def __call__(self, results: dict) -> dict:
        img = torch.from_numpy(np.ascontiguousarray(results['img'].transpose(2, 0, 1)))
        ds = DataSample(metainfo={k: results[k] for k in self.META_KEYS if k in results})
        ds.gt_instances = InstanceData(bboxes=torch.from_numpy(results['gt_bboxes']).float().reshape(-1, 4),
                                       labels=torch.from_numpy(results['gt_labels']).long().reshape(-1))
        return {'inputs': img, 'data_samples': ds}


# Old names (one vocabulary per task, docs/ARCHITECTURE.md): configs and old checkpoints still build,
# with a warning once per name; the Python names stay importable.
register_alias(TRANSFORMS, 'LoadDetImage', LoadDetectionImage)
register_alias(TRANSFORMS, 'DetResize', DetectionResize)
register_alias(TRANSFORMS, 'DetRandomFlip', DetectionRandomFlip)
register_alias(TRANSFORMS, 'PackDetInputs', PackDetectionInputs)
LoadDetImage = LoadDetectionImage
DetResize = DetectionResize
DetRandomFlip = DetectionRandomFlip
PackDetInputs = PackDetectionInputs

__all__ = ['LoadDetectionImage', 'DetectionResize', 'DetectionRandomFlip', 'PackDetectionInputs', 'rescale_size']
