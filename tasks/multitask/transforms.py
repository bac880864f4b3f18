"""Transforms that keep every label kind of an image consistent: boxes, person keypoints and the mask.

Boxes are continuous pixels (``x1' = W - x2`` under a flip, as masks flip); keypoints are pixel indices, mirrored as
in the pose task (``x' = W - 1 - x``, :func:`hrvision.data.keypoints.flip_keypoints`), left/right swapped by the
dataset's ``flip_indices``. Joints leaving the image under a crop become invisible (v = 0). The packer writes
``gt_instances`` (det), ``gt_pose`` (bboxes, keypoints, keypoints_visible) and ``gt_sem_seg`` and stamps
``metainfo['tasks']`` (the heads the image is labelled for).
"""
from __future__ import annotations

import warnings

import cv2
import numpy as np
import torch

from hrvision.data.io import read_image
from hrvision.data.keypoints import flip_keypoints
from hrvision.data.metainfo import flip_indices as pairs_to_indices
from hrvision.errors import ConfigError
from hrvision.registry import TRANSFORMS, register_alias
from hrvision.structures import DataSample, InstanceData
from hrvision.tasks.detection.transforms import rescale_size
from hrvision.tasks.segmentation.transforms import swap_flipped_labels

IGNORE = 255


def rasterize(polygons, h: int, w: int, person_label: int, mode: str) -> np.ndarray:
    """(H, W) uint8 semantic mask from ``[(label, COCO segmentation), ...]`` painted in order."""
    from pycocotools import mask as mask_utils
    out = np.zeros((h, w), np.uint8)
    for label, seg in polygons:
        rle = mask_utils.frPyObjects(seg, h, w) if isinstance(seg, list) else seg
        with warnings.catch_warnings():   # pycocotools 2.0 vs numpy 2 `__array__(copy=)` deprecation, harmless
            warnings.simplefilter('ignore', DeprecationWarning)
            m = mask_utils.decode(rle)
        m = m.max(-1) if m.ndim == 3 else m
        value = (1 if label == person_label else 0) if mode == 'person' else label + 1
        if mode == 'person' and value == 0:
            continue
        out[m > 0] = value
    return out


@TRANSFORMS.register_module()
class LoadMultiTaskInputs:
    """Read the RGB image and paint the semantic mask from the instance polygons."""

    def __call__(self, results: dict) -> dict:
        img = read_image(results['img_path'], (results.get('height'), results.get('width')))
        h, w = img.shape[:2]
        results.update(img=img, ori_shape=(h, w), img_shape=(h, w), scale_factor=(1.0, 1.0), flip=False)
        results['gt_sem_seg'] = rasterize(results.get('gt_polygons', []), h, w, results.get('person_label', 0),
                                          results.get('seg_mode', 'person'))
        return results


def _scale_points(results: dict, sx: float, sy: float) -> None:
    results['gt_bboxes'] = results['gt_bboxes'] * np.array([sx, sy, sx, sy], np.float32)
    results['gt_person_bboxes'] = results['gt_person_bboxes'] * np.array([sx, sy, sx, sy], np.float32)
    kp = results['gt_keypoints'].copy()
    kp[..., 0] *= sx
    kp[..., 1] *= sy
    results['gt_keypoints'] = kp


@TRANSFORMS.register_module()
class MultiTaskResize:
    """Aspect-keeping resize to fit ``scale`` = (long, short) (the detection rule); all labels follow."""

    def __init__(self, scale: tuple[int, int] = (1333, 800)) -> None:
        self.scale = tuple(scale)

    def __call__(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        nh, nw, _ = rescale_size(h, w, self.scale)
        if (nh, nw) == (h, w):
            return results
        results['img'] = cv2.resize(results['img'], (nw, nh), interpolation=cv2.INTER_AREA if nh < h
                                    else cv2.INTER_LINEAR)
        results['gt_sem_seg'] = cv2.resize(results['gt_sem_seg'], (nw, nh), interpolation=cv2.INTER_NEAREST)
        sx, sy = nw / w, nh / h
        _scale_points(results, sx, sy)
        px, py = results.get('scale_factor', (1.0, 1.0))
        results.update(img_shape=(nh, nw), scale_factor=(px * sx, py * sy))
        return results


@TRANSFORMS.register_module()
class MultiTaskRandomFlip:
    """Horizontal flip with probability ``prob``: image, mask, boxes (x1' = W - x2), joints (``x' = W - 1 - x``,
    left/right swapped by the dataset's ``results['flip_indices']``); classes named by side swap their box and mask
    labels (``flip_class_indices`` / ``flip_seg_class_indices``). ``flip_pairs`` / ``num_keypoints`` are
    deprecated: given, they must agree with the dataset's (refused otherwise)."""

    def __init__(self, prob: float = 0.5, flip_pairs=None, num_keypoints: int | None = None) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'MultiTaskRandomFlip prob must be in [0, 1], got {prob}')
        self.prob = prob
        self.flip_pairs = None if flip_pairs is None else [tuple(p) for p in flip_pairs]
        self.num_keypoints = num_keypoints

    def _indices(self, results: dict, num: int) -> list[int]:
        if self.num_keypoints is not None and num and self.num_keypoints != num:
            raise ConfigError(f'MultiTaskRandomFlip num_keypoints={self.num_keypoints} but the sample has {num} '
                              'keypoints; leave num_keypoints out, the dataset metadata states it')
        given = results.get('flip_indices')
        own = None if self.flip_pairs is None else pairs_to_indices(num, self.flip_pairs)
        if given is None:
            if own is None:
                raise ConfigError('MultiTaskRandomFlip: the sample has keypoints but no flip_indices (the dataset '
                                  'metadata puts them in each sample)')
            return own
        given = [int(i) for i in given]
        if own is not None and own != given:
            raise ConfigError(f'MultiTaskRandomFlip flip_pairs={self.flip_pairs} disagrees with the dataset\'s '
                              f'flip_indices {given}; leave flip_pairs out of the pipeline')
        return given

    def __call__(self, results: dict) -> dict:
        if not np.random.rand() < self.prob:
            return results
        w = results['img'].shape[1]
        results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
        # classes named by side swap labels (the dataset's flip_class_indices: a mirrored left hand is a right hand)
        results['gt_sem_seg'] = swap_flipped_labels(np.ascontiguousarray(results['gt_sem_seg'][:, ::-1]),
                                                    results.get('flip_seg_class_indices'))
        for key in ('gt_bboxes', 'gt_person_bboxes'):
            b = results[key].copy()
            b[:, 0], b[:, 2] = w - results[key][:, 2], w - results[key][:, 0]
            results[key] = b
        perm = results.get('flip_class_indices')
        if perm is not None and len(results['gt_labels']):
            results['gt_labels'] = np.asarray(perm, np.int64)[results['gt_labels']]
        kp = np.asarray(results['gt_keypoints'])
        if kp.size:   # the pose task's flip, person by person (x' = W - 1 - x; invisible joints become 0)
            perm = self._indices(results, kp.shape[1])
            out = kp.copy()
            for i, person in enumerate(kp):
                j, _ = flip_keypoints(person[:, :2], (person[:, 2] > 0).astype(np.float64), w, flip_indices=perm)
                out[i, :, :2], out[i, :, 2] = j, person[perm, 2]   # the COCO flag (0/1/2) follows its joint
            results['gt_keypoints'] = out
        results['flip'] = True
        return results


@TRANSFORMS.register_module()
class MultiTaskRandomCrop:
    """Random ``crop_size`` (H, W) window (the whole image when smaller). Boxes are clipped and dropped when
    empty; people whose box is dropped go too; joints outside the window become invisible."""

    def __init__(self, crop_size: tuple[int, int]) -> None:
        self.crop_size = tuple(int(v) for v in crop_size)

    def __call__(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        ch, cw = min(self.crop_size[0], h), min(self.crop_size[1], w)
        y0, x0 = np.random.randint(0, h - ch + 1), np.random.randint(0, w - cw + 1)
        results['img'] = results['img'][y0:y0 + ch, x0:x0 + cw]
        results['gt_sem_seg'] = results['gt_sem_seg'][y0:y0 + ch, x0:x0 + cw]
        shift = np.array([x0, y0, x0, y0], np.float32)
        lim = np.array([cw, ch, cw, ch], np.float32)
        for key, extra in (('gt_bboxes', 'gt_labels'), ('gt_person_bboxes', 'gt_keypoints')):
            b = np.clip(results[key] - shift, 0, lim)
            keep = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
            results[key], results[extra] = b[keep], results[extra][keep]
        kp = results['gt_keypoints'].copy()
        kp[..., 0] -= x0
        kp[..., 1] -= y0
        out = (kp[..., 0] < 0) | (kp[..., 0] >= cw) | (kp[..., 1] < 0) | (kp[..., 1] >= ch)
        kp[out] = 0
        results['gt_keypoints'] = kp
        results['img_shape'] = (ch, cw)
        return results


@TRANSFORMS.register_module()
class PackMultiTaskInputs:
    """-> ``{'inputs': CHW uint8, 'data_samples': DataSample}`` with the labels of every kind."""

    META_KEYS = ('img_path', 'img_id', 'ori_shape', 'img_shape', 'scale_factor', 'flip', 'tasks')

    def __call__(self, results: dict) -> dict:
        img = torch.from_numpy(np.ascontiguousarray(results['img'].transpose(2, 0, 1)))
        ds = DataSample(metainfo={k: results[k] for k in self.META_KEYS if k in results})
        ds.gt_instances = InstanceData(bboxes=torch.from_numpy(results['gt_bboxes']).float().reshape(-1, 4),
                                       labels=torch.from_numpy(results['gt_labels']).long().reshape(-1))
        kp = np.asarray(results['gt_keypoints'], np.float32)   # (people, K, 3): K is the dataset's keypoint count
        if kp.ndim != 3:
            kp = kp.reshape(len(kp), -1, 3) if kp.size else np.zeros((0, 0, 3), np.float32)
        kp = torch.from_numpy(np.ascontiguousarray(kp))
        ds.gt_pose = InstanceData(bboxes=torch.from_numpy(results['gt_person_bboxes']).float().reshape(-1, 4),
                                  keypoints=kp[..., :2], keypoints_visible=(kp[..., 2] > 0).float())
        ds.gt_sem_seg = torch.from_numpy(np.ascontiguousarray(results['gt_sem_seg'])).long()
        return {'inputs': img, 'data_samples': ds}


# Old names (one vocabulary per task, docs/ARCHITECTURE.md): configs and old checkpoints still build,
# with a warning once per name; the Python names stay importable.
register_alias(TRANSFORMS, 'MultiResize', MultiTaskResize)
register_alias(TRANSFORMS, 'MultiRandomFlip', MultiTaskRandomFlip)
register_alias(TRANSFORMS, 'MultiRandomCrop', MultiTaskRandomCrop)
MultiResize = MultiTaskResize
MultiRandomFlip = MultiTaskRandomFlip
MultiRandomCrop = MultiTaskRandomCrop

__all__ = ['LoadMultiTaskInputs', 'MultiTaskResize', 'MultiTaskRandomFlip', 'MultiTaskRandomCrop',
           'PackMultiTaskInputs', 'rasterize']
