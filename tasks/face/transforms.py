"""Face transforms as the official WFLW pipeline (SPEC §2.3, §3.2).

Pipeline: ``LoadFaceImage`` -> [``FaceRandomAugment``] -> ``FaceCrop`` -> ``FaceHeatmapTargets``
-> ``PackFaceInputs``. Normalisation (ImageNet mean/std) happens in the data preprocessor.

The official crop is not an affine warp: an *integer* box from ``transform_pixel`` of the output
corners, copied with zero padding, rotated (PIL bilinear, about the padded box centre), and
resized to 256x256 (PIL bilinear). The official code goes through ``scipy.misc.imresize`` /
``imrotate``, which byte-scale every float crop to its own min-max range (a per-crop contrast
stretch, SPEC §8.11). ``FaceCrop(bytescale=True)`` (the default) reproduces that, so official
checkpoints see what they were trained on; ``bytescale=False`` keeps the pixel values.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from hrvision.codecs import BaseHeatmapCodec, build_codec
from hrvision.data.io import read_image
from hrvision.data.keypoints import flip_keypoints, transform_pixel
from hrvision.registry import TRANSFORMS
from hrvision.structures import DataSample

# The 44 left/right pairs of the 98 WFLW points (official MATCHED_PARTS['WFLW'], 0-based). Kept for the parity tests
# and old imports; the code reads the pairs from the data's metadata (the WFLW preset, configs/_base_/datasets/wflw.py).
WFLW_FLIP_PAIRS = (
    (0, 32), (1, 31), (2, 30), (3, 29), (4, 28), (5, 27), (6, 26), (7, 25), (8, 24), (9, 23), (10, 22), (11, 21),
    (12, 20), (13, 19), (14, 18), (15, 17), (33, 46), (34, 45), (35, 44), (36, 43), (37, 42), (38, 50), (39, 49),
    (40, 48), (41, 47), (60, 72), (61, 71), (62, 70), (63, 69), (64, 68), (65, 75), (66, 74), (67, 73), (55, 59),
    (56, 58), (76, 82), (77, 81), (78, 80), (87, 83), (86, 84), (88, 92), (89, 91), (95, 93), (96, 97))


def mirror_face_points(points: np.ndarray, width: int, flip_indices=None) -> np.ndarray:
    """The face pipeline's horizontal mirror of (K, 2) points (or a (2,) centre), pairs swapped by ``flip_indices``.

    Face coordinates live in the *corner* frame (pixel ``i`` spans ``[i, i + 1)``: the official crop maps the box
    ``center +- 100 * scale`` onto ``[0, res]`` and its targets truncate), where the mirror of ``img[:, ::-1]`` is
    ``x' = W - x`` (official ``fliplr_joints`` for faces). That is the code base's one convention, ``x' = W - 1 - x``
    in pixel-index coordinates (``u = x - 0.5``), in another frame: so the points go to pixel-index coordinates,
    through :func:`~hrvision.data.keypoints.flip_keypoints`, and back (docs/ARCHITECTURE.md, Codecs)."""
    p = np.asarray(points, np.float64)
    flat = p.reshape(-1, 2)
    mirrored, _ = flip_keypoints(flat - 0.5, np.ones(len(flat)), width, flip_indices=flip_indices)
    return (mirrored + 0.5).reshape(p.shape)


def _flip_indices_from(results: dict, override, where: str) -> list[int]:
    """The sample's ``flip_indices`` (from the dataset metadata); a transform's own ``flip_pairs`` must agree."""
    from hrvision.data.metainfo import resolve_flip_indices
    return resolve_flip_indices(results.get('flip_indices'), override, len(results['keypoints']), where, 'landmarks')


# ---- the official crop ----------------------------------------------------------------------

def to_uint8(img: np.ndarray, stretch: bool) -> np.ndarray:
    """Float crop -> uint8. ``stretch``: SciPy's ``bytescale`` (min-max to 0-255, +0.5, truncate);
    else clip and round. uint8 input is returned unchanged (as ``bytescale`` does)."""
    if img.dtype == np.uint8:
        return img
    if not stretch:
        return np.clip(np.rint(img), 0, 255).astype(np.uint8)
    lo, hi = img.min(), img.max()
    span = hi - lo
    if span == 0:
        span = 1
    scaled = (img - lo) * (255.0 / span)
    return (scaled.clip(0, 255) + 0.5).astype(np.uint8)


def pil_resize(img: np.ndarray, size_hw: tuple[int, int], stretch: bool) -> np.ndarray:
    """``scipy.misc.imresize(img, size)`` with bilinear PIL resampling (``stretch`` = byte-scaling)."""
    im = Image.fromarray(to_uint8(img, stretch))
    return np.asarray(im.resize((int(size_hw[1]), int(size_hw[0])), resample=Image.BILINEAR))


def pil_rotate(img: np.ndarray, angle: float, stretch: bool) -> np.ndarray:
    """``scipy.misc.imrotate(img, angle)``: counter-clockwise degrees about the centre, bilinear."""
    im = Image.fromarray(to_uint8(img, stretch))
    return np.asarray(im.rotate(angle, resample=Image.BILINEAR))


def face_crop(img: np.ndarray, center, scale: float, output_size=(256, 256), rot: float = 0.0,
              bytescale: bool = True) -> np.ndarray:
    """Official ``crop``: (H, W, 3) image -> (out_h, out_w, 3) uint8 crop of the box (center, scale).

    Differences from the official function, only where it crashes: a box wholly outside the image
    gives a zero crop (official: shape error), and a rotation whose pad rounds to 0 keeps the crop
    (official: an empty slice).
    """
    out_h, out_w = int(output_size[0]), int(output_size[1])
    img = np.asarray(img, np.float32)
    ch = img.shape[2] if img.ndim == 3 else None
    center = np.asarray(center, np.float64).copy()
    scale = float(scale)
    ht, wd = img.shape[:2]
    sf = scale * 200.0 / out_h
    if sf >= 2:  # large box: downscale the whole image first (also byte-scaled officially)
        new_size = int(np.floor(max(ht, wd) / sf))
        new_ht, new_wd = int(np.floor(ht / sf)), int(np.floor(wd / sf))
        if new_size < 2 or new_ht < 1 or new_wd < 1:
            return np.zeros((out_h, out_w) + ((ch,) if ch else ()), np.uint8)
        img = pil_resize(img, (new_ht, new_wd), bytescale).astype(np.float32)
        center = center / sf
        scale = scale / sf
        ht, wd = img.shape[:2]
    ul = transform_pixel([0, 0], center, scale, (out_h, out_w), invert=True)
    br = transform_pixel([out_w, out_h], center, scale, (out_h, out_w), invert=True)
    pad = int(np.linalg.norm(br - ul) / 2 - float(br[1] - ul[1]) / 2)
    if rot != 0:
        ul = ul - pad
        br = br + pad
    box_h, box_w = int(br[1] - ul[1]), int(br[0] - ul[0])
    if box_h < 1 or box_w < 1:
        return np.zeros((out_h, out_w) + ((ch,) if ch else ()), np.uint8)
    new_img = np.zeros((box_h, box_w) + ((ch,) if ch else ()), np.float32)
    # intersection of the box with the image, in image and in box coordinates
    x0, x1 = max(0, ul[0]), min(wd, br[0])
    y0, y1 = max(0, ul[1]), min(ht, br[1])
    if x1 > x0 and y1 > y0:
        new_img[y0 - ul[1]:y1 - ul[1], x0 - ul[0]:x1 - ul[0]] = img[y0:y1, x0:x1]
    if rot != 0:
        new_img = pil_rotate(new_img, rot, bytescale)
        if pad > 0:
            new_img = new_img[pad:-pad, pad:-pad]
    return pil_resize(new_img, (out_h, out_w), bytescale)


# ---- transforms -----------------------------------------------------------------------------

@TRANSFORMS.register_module()
class LoadFaceImage:
    """Read ``img_path`` as RGB uint8 (or take ``img`` when the annotation holds the image, COFW's .mat);
    ``keypoints``/``center`` become float64 working copies.

    Images are decoded with OpenCV (``hrvision.data.io.read_image``); the official loader uses PIL.
    PNGs decode identically; JPEG decoders of different libjpeg builds may differ by a grey level."""

    def __call__(self, results: dict) -> dict:
        # an image the annotation file holds itself (COFW .mat) is used as it is; else the file at img_path
        img = results['img'] if results.get('img') is not None else read_image(results['img_path'])
        results['img'] = img
        results['ori_shape'] = img.shape[:2]
        results['keypoints'] = np.asarray(results['keypoints'], np.float64).copy()
        results['ori_keypoints'] = results['keypoints'].copy()
        results['center'] = np.asarray(results['center'], np.float64).copy()
        results['scale'] = float(results['scale'])
        results.setdefault('rotation', 0.0)
        results.setdefault('flip', False)
        return results


@TRANSFORMS.register_module()
class FaceRandomAugment:
    """Official train augmentation, in the official order of draws:
    ``scale *= U(1-sf, 1+sf)``; with p=``rot_prob`` ``rot = U(-rf, rf)`` else 0; flip with p=``flip_prob``
    (:func:`mirror_face_points`: ``x' = width - x`` in the face frame, pairs swapped, the centre mirrored alike).

    The left/right landmarks come from the sample's ``flip_indices`` (the dataset's metadata, any landmark count);
    ``flip_pairs`` is a deprecated override that must agree with them (refused otherwise)."""

    def __init__(self, scale_factor: float = 0.25, rot_factor: float = 30.0, rot_prob: float = 0.6,
                 flip_prob: float = 0.5, flip_pairs=None) -> None:
        self.scale_factor = scale_factor
        self.rot_factor = rot_factor
        self.rot_prob = rot_prob
        self.flip_prob = flip_prob
        self.flip_pairs = None if flip_pairs is None else [tuple(p) for p in flip_pairs]

    def sample(self) -> tuple[float, float, bool]:
        s = np.random.uniform(1 - self.scale_factor, 1 + self.scale_factor)
        r = np.random.uniform(-self.rot_factor, self.rot_factor) if np.random.rand() <= self.rot_prob else 0.0
        return float(s), float(r), bool(np.random.rand() <= self.flip_prob)

    def apply(self, results: dict, scale_mult: float, rot: float, flip: bool) -> dict:
        results['scale'] = results['scale'] * scale_mult
        results['rotation'] = rot
        if flip:
            img = results['img']
            width = img.shape[1]
            results['img'] = np.ascontiguousarray(img[:, ::-1])
            perm = _flip_indices_from(results, self.flip_pairs, 'FaceRandomAugment')
            results['keypoints'] = mirror_face_points(results['keypoints'], width, perm)
            results['center'] = mirror_face_points(results['center'], width)
            results['flip'] = not results.get('flip', False)
        return results

    def __call__(self, results: dict) -> dict:
        return self.apply(results, *self.sample())


@TRANSFORMS.register_module()
class FaceCrop:
    """The official crop of the box (center, scale[, rotation]) to ``input_size`` (W, H).

    Args:
        input_size: output (W, H), 256x256 officially.
        bytescale: reproduce SciPy's per-crop min-max byte-scaling (official; default True).
    """

    def __init__(self, input_size=(256, 256), bytescale: bool = True) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.bytescale = bytescale

    def __call__(self, results: dict) -> dict:
        w, h = self.input_size
        results['img'] = face_crop(results['img'], results['center'], results['scale'], (h, w),
                                   results.get('rotation', 0.0), self.bytescale)
        results['img_shape'] = (h, w)
        return results


@TRANSFORMS.register_module()
class FaceHeatmapTargets:
    """Targets through the face codec (:class:`~hrvision.codecs.FaceHeatmapCodec` by default): ``gt_heatmaps`` (K, 64, 64) and
    ``heatmap_keypoints`` (the official ``tpts``: integer heatmap coordinates, 1-based, for y > 0)."""

    def __init__(self, codec: dict | BaseHeatmapCodec | None = None) -> None:
        self.codec = build_codec(codec, default='FaceHeatmapCodec')

    def __call__(self, results: dict) -> dict:
        enc = self.codec.encode(results['keypoints'], center=results['center'], scale=results['scale'],
                                rot=results.get('rotation', 0.0))
        results['gt_heatmaps'] = enc['heatmaps']
        results['heatmap_keypoints'] = enc['heatmap_keypoints']
        return results


META_KEYS = ('img_path', 'img_id', 'sample_idx', 'ori_shape', 'img_shape', 'center', 'scale', 'rotation', 'flip',
             'ori_keypoints', 'attributes', 'box_size', 'flip_indices', 'subsets')


@TRANSFORMS.register_module()
class PackFaceInputs:
    """-> ``{'inputs': (3, H, W) uint8 RGB tensor, 'data_samples': DataSample}``.

    Fields: ``gt_heatmaps`` (K, h, w), ``heatmap_keypoints`` (K, 2); metainfo: :data:`META_KEYS`
    (``ori_keypoints`` are the ground-truth landmarks in original-image pixels, used by the metric;
    ``flip_indices``, the dataset metadata's left/right permutation, is read by the flip test)."""

    def __call__(self, results: dict) -> dict:
        img = results['img']
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        ds = DataSample()
        if 'gt_heatmaps' in results:
            ds.gt_heatmaps = torch.from_numpy(np.asarray(results['gt_heatmaps'], np.float32))
            ds.heatmap_keypoints = torch.from_numpy(np.asarray(results['heatmap_keypoints'], np.float32))
        meta = {k: results[k] for k in META_KEYS if k in results}
        if 'center' in meta:
            meta['center'] = np.asarray(meta['center'], np.float64)
        ds.set_metainfo(meta)
        return {'inputs': inputs, 'data_samples': ds}
