"""Geometry of keypoint crops, shared by pose and face (the official conventions, SPEC §3).

Pose (deep-high-resolution-net) crops with a *similarity* affine built from ``center``/``scale``
(scale in units of 200 px, only ``scale[0]`` sets the zoom); face (HRNet-Facial-Landmark-Detection)
maps points with an integer ``transform_pixel``. Both flip points with a list of left/right pairs,
pose with ``x' = W - 1 - x`` and face with ``x' = W - x`` (``offset`` below).

* :func:`get_affine_transform` -- numpy (2, 3), the official three-point cv2 construction (exact).
* :func:`affine_matrices` -- the same similarity in closed form, batched, numpy or torch.
* :func:`affine_points` -- apply (.., 2, 3) matrices to (.., K, 2) points.
* :func:`flip_keypoints` -- horizontal flip with pairs (train-time flip).
* :func:`box_to_center_scale` -- COCO ``[x, y, w, h]`` -> (center, scale) with the aspect fix and 1.25 padding.
* :func:`face_transform` / :func:`transform_pixel` -- the face code's 3x3 crop transform and its integer point map.
"""
from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np
import torch

from hrvision.data.metainfo import flip_indices as _metainfo_flip_indices

PIXEL_STD = 200.0


def _as_scale2(scale) -> np.ndarray:
    s = np.asarray(scale)
    if s.dtype.kind != 'f':
        s = s.astype(np.float64)
    return np.array([s, s]) if s.ndim == 0 else s[:2]


def _third(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    return b + np.array([-d[1], d[0]], np.float32)


def get_affine_transform(center: Sequence[float], scale, rot: float, output_size: Sequence[int],
                         shift: Sequence[float] = (0.0, 0.0), inv: bool = False) -> np.ndarray:
    """(2, 3) float64 matrix mapping the box ``center``/``scale`` (rotated by ``rot`` degrees) onto an
    ``output_size`` = (W, H) crop; ``inv`` maps crop -> image. Built from three float32 point pairs
    with ``cv2.getAffineTransform`` as the official code (inputs keep their dtype, so float32 centers
    and scales round exactly as there)."""
    c = np.asarray(center)
    if c.dtype.kind != 'f':
        c = c.astype(np.float64)
    s = _as_scale2(scale) * PIXEL_STD
    w_src = s[0]
    w_dst, h_dst = float(output_size[0]), float(output_size[1])
    shift = np.asarray(shift, np.float32)
    rad = np.pi * rot / 180
    sn, cs = np.sin(rad), np.cos(rad)
    half = w_src * -0.5
    src_dir = np.array([-half * sn, half * cs])     # (0, -w/2) rotated by rot
    dst_dir = np.array([0, w_dst * -0.5], np.float32)
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = c + s * shift
    src[1] = c + src_dir + s * shift
    dst[0] = [w_dst * 0.5, h_dst * 0.5]
    dst[1] = np.array([w_dst * 0.5, h_dst * 0.5]) + dst_dir
    src[2] = _third(src[0], src[1])
    dst[2] = _third(dst[0], dst[1])
    return cv2.getAffineTransform(dst, src) if inv else cv2.getAffineTransform(src, dst)


def affine_matrices(center, scale, output_size: Sequence[int], rot=0.0, inv: bool = False):
    """Closed-form, batched :func:`get_affine_transform` (no shift): center (N, 2), scale (N, 2) or
    (N,), rot (N,) or scalar degrees -> (N, 2, 3). Works on numpy arrays or torch tensors (float64
    inside); agrees with the cv2 construction to float32 rounding of its inputs."""
    is_t = isinstance(center, torch.Tensor)
    xp_c = center.double() if is_t else torch.as_tensor(np.asarray(center, np.float64))
    dev = xp_c.device
    sc = torch.as_tensor(scale, dtype=torch.float64, device=dev) if not isinstance(scale, torch.Tensor) \
        else scale.to(dev, torch.float64)
    sx = sc[..., 0] if sc.dim() == xp_c.dim() else sc
    r = torch.as_tensor(rot, dtype=torch.float64, device=dev) * (math.pi / 180)
    r = r.expand(xp_c.shape[:-1])
    w, h = float(output_size[0]), float(output_size[1])
    k = w / (sx * PIXEL_STD)                       # output pixels per image pixel
    cs, sn = torch.cos(r), torch.sin(r)
    mats = torch.zeros(*xp_c.shape[:-1], 2, 3, dtype=torch.float64, device=dev)
    if inv:   # crop -> image: p = c + R(rot) (q - o) / k
        a, b, cc, d = cs / k, -sn / k, sn / k, cs / k
        mats[..., 0, 0], mats[..., 0, 1], mats[..., 1, 0], mats[..., 1, 1] = a, b, cc, d
        mats[..., 0, 2] = xp_c[..., 0] - a * w / 2 - b * h / 2
        mats[..., 1, 2] = xp_c[..., 1] - cc * w / 2 - d * h / 2
    else:     # image -> crop: q = k R(-rot) (p - c) + o
        a, b, cc, d = k * cs, k * sn, -k * sn, k * cs
        mats[..., 0, 0], mats[..., 0, 1], mats[..., 1, 0], mats[..., 1, 1] = a, b, cc, d
        mats[..., 0, 2] = w / 2 - a * xp_c[..., 0] - b * xp_c[..., 1]
        mats[..., 1, 2] = h / 2 - cc * xp_c[..., 0] - d * xp_c[..., 1]
    return mats if is_t else mats.numpy()


def affine_points(points, mats):
    """Apply (.., 2, 3) matrices to (.., K, 2) points (numpy or torch, broadcast over leading dims)."""
    if isinstance(points, torch.Tensor):
        m = mats.to(points.device, torch.float64) if isinstance(mats, torch.Tensor) else \
            torch.as_tensor(mats, dtype=torch.float64, device=points.device)
        p = points.double()
        return (p @ m[..., :, :2].transpose(-1, -2) + m[..., None, :, 2]).to(points.dtype)
    p = np.asarray(points, np.float64)
    m = np.asarray(mats, np.float64)
    return p @ np.swapaxes(m[..., :, :2], -1, -2) + m[..., None, :, 2]


def flip_keypoints(joints: np.ndarray, visible: np.ndarray, width: int,
                   flip_pairs: Sequence[Sequence[int]] | None = None, offset: int = 1, *,
                   flip_indices: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal flip: ``x' = width - offset - x`` and left/right swapped (``flip_indices``, the dataset
    metadata's permutation ``flipped[k] = original[flip_indices[k]]``, or ``flip_pairs``).

    ``offset=1`` is the keypoint convention of the whole code base (pixel-index coordinates, official
    ``fliplr_joints``; joints are also multiplied by their visibility, so invisible joints become 0);
    ``offset=0`` is the face code's (``x' = W - x``)."""
    j = np.array(joints, dtype=np.float64, copy=True)
    v = np.array(visible, dtype=np.float64, copy=True)
    j[:, 0] = width - offset - j[:, 0]
    if flip_indices is not None:
        perm = np.asarray(flip_indices, dtype=np.int64)
        if perm.shape != (len(j),):
            raise ValueError(f'flip_indices has {perm.size} entries for {len(j)} keypoints')
        j, v = j[perm], v[perm]
        pairs = np.zeros((0, 2), np.int64)
    else:
        pairs = np.asarray(flip_pairs if flip_pairs is not None else (), dtype=np.int64).reshape(-1, 2)
    if len(pairs):
        a, b = pairs[:, 0], pairs[:, 1]
        j[np.r_[a, b]] = j[np.r_[b, a]]
        v[np.r_[a, b]] = v[np.r_[b, a]]
    if offset == 1:
        j = j * (v if v.shape == j.shape else v.reshape(len(v), -1)[:, :1])
    return j, v


# pairs -> the index permutation (``flipped[k] = original[perm[k]]``): one function, the metadata module's
flip_permutation = _metainfo_flip_indices


def box_to_center_scale(box_xywh: Sequence[float], aspect_ratio: float, padding: float = 1.25
                        ) -> tuple[np.ndarray, np.ndarray]:
    """COCO box -> (center, scale) as official ``_xywh2cs``: the box grows to width/height =
    ``aspect_ratio`` (input W / H), scale is in units of 200 px and padded by ``padding``
    (not when ``center[0] == -1``, the official sentinel)."""
    x, y, w, h = (float(v) for v in box_xywh[:4])
    center = np.array([x + w * 0.5, y + h * 0.5], np.float32)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    scale = np.array([w / PIXEL_STD, h / PIXEL_STD], np.float32)
    if center[0] != -1:
        scale = scale * padding
    return center, scale


# ---- face convention (HRNet-Facial-Landmark-Detection lib/utils/transforms.py) -------------------

def face_transform(center: Sequence[float], scale: float, output_size: Sequence[int], rot: float = 0.0
                   ) -> np.ndarray:
    """3x3 matrix of the face code: ``x_out = res * (x - cx) / (200 s) + res / 2``, rotation (angle
    negated) about the output centre. ``output_size`` is (H, W) as in the official call."""
    h = PIXEL_STD * float(np.asarray(scale).reshape(-1)[0])
    res = [float(output_size[0]), float(output_size[1])]
    t = np.zeros((3, 3))
    t[0, 0] = res[1] / h
    t[1, 1] = res[0] / h
    t[0, 2] = res[1] * (-float(center[0]) / h + 0.5)
    t[1, 2] = res[0] * (-float(center[1]) / h + 0.5)
    t[2, 2] = 1
    if rot != 0:
        rad = -rot * math.pi / 180
        sn, cs = math.sin(rad), math.cos(rad)
        rm = np.array([[cs, -sn, 0], [sn, cs, 0], [0, 0, 1.0]])
        tm = np.eye(3)
        tm[0, 2], tm[1, 2] = -res[1] / 2, -res[0] / 2
        ti = np.eye(3)
        ti[0, 2], ti[1, 2] = res[1] / 2, res[0] / 2
        t = ti @ rm @ tm @ t
    return t


def transform_pixel(points, center: Sequence[float], scale: float, output_size: Sequence[int],
                    invert: bool = False, rot: float = 0.0) -> np.ndarray:
    """Face point map (1-based): ``int(T @ (p - 1)) + 1`` with truncation toward zero.
    ``points`` is (2,) or (K, 2); returns int64 of the same shape."""
    t = face_transform(center, scale, output_size, rot)
    if invert:
        t = np.linalg.inv(t)
    p = np.asarray(points, np.float64)
    flat = p.reshape(-1, 2)
    homog = np.concatenate([flat - 1, np.ones((len(flat), 1))], axis=1)
    out = (homog @ t.T)[:, :2].astype(np.int64) + 1
    return out.reshape(p.shape)
