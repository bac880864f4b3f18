"""Segmentation transforms, as the official Cityscapes pipeline (SPEC §2.2).

Training: load -> random rescale of the long side to ``base_size * s`` (image bilinear, label
nearest) -> pad to the crop (image 0, label 255) -> random crop -> random flip -> pack.
Normalisation (ImageNet mean/std) happens in the data preprocessor, after cropping, as officially.
"""
from __future__ import annotations

import warnings

import cv2
import numpy as np
import torch

from hrvision.checks import check_hw
from hrvision.data.io import read_image, read_label
from hrvision.errors import DataError
from hrvision.registry import TRANSFORMS, register_alias
from hrvision.structures import DataSample

from .labels import IGNORE_INDEX, NUM_LABEL_IDS, VALID_LABEL_IDS, checked_train_ids, label_ids_to_train_ids, \
    values_outside

_warned_ids: set[str] = set()


def read_image_into(results: dict):
    """The loading step every segmentation loader shares: the RGB image into ``img`` / ``ori_shape``; returns it
    and the entry's ``seg_path`` (None: an image without a label)."""
    img = read_image(results['img_path'])
    results['img'] = img
    results['ori_shape'] = img.shape[:2]
    return img, results.get('seg_path')


def check_label_size(what: str, label: np.ndarray, seg_path: str, img: np.ndarray, img_path: str) -> None:
    """A label map must have its image's size: a ``DataError`` naming both files otherwise."""
    if label.shape != img.shape[:2]:
        raise DataError(f'{what} {seg_path} is {label.shape[1]}x{label.shape[0]} (WxH) but its image '
                        f'{img_path} is {img.shape[1]}x{img.shape[0]}')


@TRANSFORMS.register_module()
class LoadCityscapes:
    """Read the RGB image and the label map; labelIds are mapped to train ids.

    Label ids outside 0-33 are mapped to ignore with one warning per run; train ids outside 0-18 and
    255 (or a 16-bit value that would wrap) and a label whose size differs from its image are errors
    naming the file(s).
    """

    def __call__(self, results: dict) -> dict:
        img, seg_path = read_image_into(results)
        if seg_path is None:
            return results
        lab = read_label(seg_path)
        check_label_size('label', lab, seg_path, img, results['img_path'])
        if results.get('seg_is_train_ids'):
            seg = checked_train_ids(lab, seg_path)
        else:
            if lab.max() >= NUM_LABEL_IDS and 'ids' not in _warned_ids:
                _warned_ids.add('ids')
                bad = values_outside(lab, VALID_LABEL_IDS)
                warnings.warn(f'{seg_path}: label ids {bad} are outside 0-{NUM_LABEL_IDS - 1}; mapped to ignore '
                              f'({IGNORE_INDEX}). (warned once)')
            seg = label_ids_to_train_ids(lab)
        results['gt_seg'] = seg
        return results


def _resize_long_side(results: dict, long_side: int) -> None:
    h, w = results['img'].shape[:2]
    scale = long_side / max(h, w)
    nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
    if (nh, nw) == (h, w):
        return
    results['img'] = cv2.resize(results['img'], (nw, nh), interpolation=cv2.INTER_LINEAR)
    if 'gt_seg' in results:
        results['gt_seg'] = cv2.resize(results['gt_seg'], (nw, nh), interpolation=cv2.INTER_NEAREST)


@TRANSFORMS.register_module()
class RandomRescale:
    """Long side -> ``int(base_size * s + 0.5)``, s drawn from ``{lo, lo+step, ..., hi}``.

    The official recipe uses base 2048 and s in 0.5..2.1 in steps of 0.1 (SPEC §2.2).
    """

    def __init__(self, base_size: int = 2048, scale_range: tuple[float, float] = (0.5, 2.1), step: float = 0.1) -> None:
        self.base_size = base_size
        n = int(round((scale_range[1] - scale_range[0]) / step))
        self.scales = [scale_range[0] + i * step for i in range(n + 1)]

    def __call__(self, results: dict) -> dict:
        s = self.scales[np.random.randint(len(self.scales))]
        _resize_long_side(results, int(self.base_size * s + 0.5))
        return results


@TRANSFORMS.register_module()
class ResizeLongSide:
    """Deterministic long-side resize (test time); ``None`` keeps the image size."""

    def __init__(self, long_side: int | None = None) -> None:
        self.long_side = long_side

    def __call__(self, results: dict) -> dict:
        if self.long_side:
            _resize_long_side(results, self.long_side)
        return results


@TRANSFORMS.register_module()
class SegmentationResize:
    """Resize the image to ``size`` (H, W), ratio not kept (LIP's 473x473); the label too (nearest) unless
    ``keep_label`` (test: the prediction is upsampled to the label's own size, as the official LIP test)."""

    def __init__(self, size, keep_label: bool = False) -> None:
        self.size = check_hw('SegmentationResize size', size)
        self.keep_label = keep_label

    def __call__(self, results: dict) -> dict:
        h, w = self.size
        if results['img'].shape[:2] != (h, w):
            results['img'] = cv2.resize(results['img'], (w, h), interpolation=cv2.INTER_LINEAR)
            if 'gt_seg' in results and not self.keep_label:
                results['gt_seg'] = cv2.resize(results['gt_seg'], (w, h), interpolation=cv2.INTER_NEAREST)
        return results


@TRANSFORMS.register_module()
class PadRandomCrop:
    """Pad to ``crop_size`` (H, W) with image 0 / label 255, then take a random crop."""

    def __init__(self, crop_size: tuple[int, int]) -> None:
        self.crop_size = check_hw('PadRandomCrop crop_size', crop_size)

    def __call__(self, results: dict) -> dict:
        ch, cw = self.crop_size
        img, seg = results['img'], results['gt_seg']
        h, w = img.shape[:2]
        ph, pw = max(ch - h, 0), max(cw - w, 0)
        if ph or pw:
            img = cv2.copyMakeBorder(img, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            seg = cv2.copyMakeBorder(seg, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=IGNORE_INDEX)
            h, w = img.shape[:2]
        y = np.random.randint(0, h - ch + 1)
        x = np.random.randint(0, w - cw + 1)
        results['img'] = img[y:y + ch, x:x + cw]
        results['gt_seg'] = seg[y:y + ch, x:x + cw]
        return results


@TRANSFORMS.register_module()
class SegmentationRandomFlip:
    """Flip image and label together with probability ``prob``; the labels of left/right classes are swapped
    (the sample's ``flip_class_indices``, from the dataset metadata: LIP's left-arm becomes right-arm)."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def __call__(self, results: dict) -> dict:
        flip = bool(np.random.rand() < self.prob)
        results['flip'] = flip
        if flip:
            results['img'] = results['img'][:, ::-1]
            if 'gt_seg' in results:
                results['gt_seg'] = swap_flipped_labels(results['gt_seg'][:, ::-1], results.get('flip_class_indices'))
        return results


def swap_flipped_labels(seg: np.ndarray, perm) -> np.ndarray:
    """A mirrored label map with every class ``k`` replaced by ``perm[k]`` (``flip_class_indices``; None or the
    identity: unchanged); ignore (255) stays."""
    if perm is None or list(perm) == list(range(len(perm))):
        return seg
    lut = np.arange(256, dtype=np.uint8)
    lut[:len(perm)] = np.asarray(perm, np.int64)
    return lut[seg]


@TRANSFORMS.register_module()
class PackSegmentationInputs:
    """-> ``{'inputs': (3, H, W) uint8 RGB tensor, 'data_samples': DataSample}``."""

    META = ('img_path', 'seg_path', 'img_id', 'ori_shape', 'flip', 'flip_class_indices')

    def __call__(self, results: dict) -> dict:
        img = np.ascontiguousarray(results['img'].transpose(2, 0, 1))
        sample = DataSample(metainfo={k: results[k] for k in self.META if k in results})
        sample.set_metainfo(dict(img_shape=tuple(img.shape[1:])))
        if 'gt_seg' in results:
            sample.gt_sem_seg = torch.from_numpy(np.ascontiguousarray(results['gt_seg']).astype(np.int64))
        return {'inputs': torch.from_numpy(img), 'data_samples': sample}


# Old names (one vocabulary per task, docs/ARCHITECTURE.md): configs and old checkpoints still build,
# with a warning once per name; the Python names stay importable.
register_alias(TRANSFORMS, 'RandomHorizontalFlip', SegmentationRandomFlip)
register_alias(TRANSFORMS, 'SegRandomFlip', SegmentationRandomFlip)
register_alias(TRANSFORMS, 'PackSegInputs', PackSegmentationInputs)
RandomHorizontalFlip = SegRandomFlip = SegmentationRandomFlip
PackSegInputs = PackSegmentationInputs
