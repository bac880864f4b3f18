"""Synthetic WFLW: cartoon faces with 98 consistent landmarks, written in the exact release layout.

The 98 points follow the WFLW order (image-left = the subject's right side):
0-32 contour (temple -> chin 16 -> temple), 33-41 left brow (33-37 upper outer->inner, 38-41 lower
inner->outer), 42-50 right brow (42-46 upper inner->outer, 47-50 lower outer->inner), 51-54 nose
bridge, 55-59 nose base, 60-67 left eye (60 outer corner, 64 inner), 68-75 right eye (68 inner,
72 outer), 76-87 outer lip (76 left corner, 82 right corner), 88-95 inner lip, 96/97 pupils.
So the official flip pairs and the inter-ocular normaliser (60, 72) hold.

``landmarks=68`` (``hrvision data synth-wflw OUT --landmarks 68``) writes a custom set instead: the 300W-style 68
points picked from the same faces (:data:`WFLW_TO_68`), in the WFLW list format with 68 points, under
``OUT/images/`` and ``OUT/annotations/{train,test}.txt``, with its metadata in ``OUT/metainfo.json`` (landmark names
with ``left_``/``right_`` prefixes, from which the flip pairs follow; ``norm_indices`` (36, 45), the outer eye
corners; a drawing skeleton): the layout of ``configs/face/demo_custom_68.py`` and docs/custom_data.md.

Attribute flags change the drawing: pose (large rotation + yaw squeeze), expression (open mouth,
raised brows), illumination (strong gradient), make-up (coloured lips and lids), occlusion (a
block over part of the face), blur (Gaussian blur).
"""
from __future__ import annotations

import json
import os
import os.path as osp

import cv2
import numpy as np

from .dataset import ATTRIBUTES, IMAGE_DIR, LIST_DIR, SUBSET_DIR, SUBSETS


#: the 68 points of the 300W layout taken from the 98 WFLW points (jaw every second contour point, upper brows, nose,
#: six points per eye, both lips)
WFLW_TO_68 = (list(range(0, 33, 2)) + [33, 34, 35, 36, 37, 42, 43, 44, 45, 46] + [51, 52, 53, 54] + [55, 56, 57, 58, 59]
              + [60, 61, 63, 64, 65, 67] + [68, 69, 71, 72, 73, 75] + list(range(76, 88)) + list(range(88, 96)))
NAMES_68 = tuple(
    [f'right_jaw_{i}' for i in range(8)] + ['chin'] + [f'left_jaw_{7 - i}' for i in range(8)]
    + [f'right_brow_{i}' for i in range(5)] + [f'left_brow_{4 - i}' for i in range(5)]
    + [f'nose_bridge_{i}' for i in range(4)]
    + ['right_nostril_0', 'right_nostril_1', 'nose_base', 'left_nostril_1', 'left_nostril_0']
    + ['right_eye_outer', 'right_eye_upper_outer', 'right_eye_upper_inner', 'right_eye_inner', 'right_eye_lower_inner',
       'right_eye_lower_outer']
    + ['left_eye_inner', 'left_eye_upper_inner', 'left_eye_upper_outer', 'left_eye_outer', 'left_eye_lower_outer',
       'left_eye_lower_inner']
    + ['right_mouth_corner', 'right_upper_lip_1', 'right_upper_lip_0', 'upper_lip_top', 'left_upper_lip_0',
       'left_upper_lip_1', 'left_mouth_corner', 'left_lower_lip_1', 'left_lower_lip_0', 'lower_lip_bottom',
       'right_lower_lip_0', 'right_lower_lip_1']
    + ['right_inner_mouth_corner', 'right_inner_upper_lip', 'inner_upper_lip', 'left_inner_upper_lip',
       'left_inner_mouth_corner', 'left_inner_lower_lip', 'inner_lower_lip', 'right_inner_lower_lip'])


def _chain(a: int, b: int, loop: bool = False) -> list[list[int]]:
    return [[i, i + 1] for i in range(a, b)] + ([[b, a]] if loop else [])


def metainfo_68() -> dict:
    """The metadata of the synthetic 68-landmark set (written as ``metainfo.json``); no flip_pairs: they follow
    from the ``left_``/``right_`` names."""
    skeleton = (_chain(0, 16) + _chain(17, 21) + _chain(22, 26) + _chain(27, 30) + _chain(31, 35)
                + _chain(36, 41, True) + _chain(42, 47, True) + _chain(48, 59, True) + _chain(60, 67, True))
    return dict(dataset_name='synth_face68', keypoint_names=list(NAMES_68), norm_indices=[36, 45], skeleton=skeleton)


def _arc(x0: float, x1: float, y_mid: float, bulge: float, n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)
    return np.stack([x0 + (x1 - x0) * t, y_mid - bulge * np.sin(np.pi * t)], 1)


def template(mouth_open: float = 0.0, brow_raise: float = 0.0, eye_open: float = 1.0, yaw: float = 0.0) -> np.ndarray:
    """(98, 2) canonical face, unit ~ face width, origin at the face centre, y down."""
    p = np.zeros((98, 2))
    a = np.linspace(np.pi * 0.02, np.pi * 0.98, 33)            # contour: temple -> chin -> temple
    p[0:33] = np.stack([-0.5 * np.cos(a), -0.05 + 0.62 * np.sin(a)], 1)
    by = -0.28 - brow_raise
    p[33:38] = _arc(-0.40, -0.08, by, 0.06, 5)                  # left brow upper, outer -> inner
    p[38:42] = _arc(-0.10, -0.38, by + 0.04, 0.035, 4)          # left brow lower, inner -> outer
    p[42:47] = _arc(0.08, 0.40, by, 0.06, 5)                    # right brow upper, inner -> outer
    p[47:51] = _arc(0.38, 0.10, by + 0.04, 0.035, 4)            # right brow lower, outer -> inner
    p[51:55] = np.stack([np.zeros(4), np.linspace(-0.15, 0.10, 4)], 1)
    p[55:60] = np.stack([np.linspace(-0.10, 0.10, 5), 0.16 - 0.02 * np.cos(np.linspace(-1.2, 1.2, 5))], 1)
    eh = 0.055 * eye_open
    for base, sx in ((60, -1), (68, 1)):
        # left eye: outer(-0.36) -> inner(-0.10); right eye: inner(0.10) -> outer(0.36)
        xa, xb = (-0.36, -0.10) if sx < 0 else (0.10, 0.36)
        up = _arc(xa, xb, -0.12, eh, 5)                         # corner, 3 upper, corner
        low = _arc(xb, xa, -0.12, -eh * 0.8, 5)[1:4]            # lower lid back to the first corner
        p[base:base + 5] = up
        p[base + 5:base + 8] = low
    mo = mouth_open
    p[76:83] = _arc(-0.22, 0.22, 0.34, 0.05, 7)                 # outer upper lip, left -> right
    p[83:88] = _arc(0.22, -0.22, 0.36, -(0.07 + mo), 7)[1:6]   # outer lower lip, right -> left
    p[88:93] = _arc(-0.16, 0.16, 0.35, 0.015, 5)                # inner upper
    p[93:96] = _arc(0.16, -0.16, 0.35, -(0.015 + 0.8 * mo), 5)[1:4]
    p[96] = p[[61, 62, 63, 65, 66, 67]].mean(0)
    p[97] = p[[69, 70, 71, 73, 74, 75]].mean(0)
    if yaw:  # squeeze one side: crude out-of-plane turn
        p[:, 0] = p[:, 0] * (1 - 0.35 * abs(yaw)) + yaw * 0.12 * (1 - p[:, 0] ** 2)
    return p


def _poly(img, pts, color, closed=True, thickness=1, fill=False):
    q = np.round(pts * 16).astype(np.int32)[None]
    if fill:
        cv2.fillPoly(img, q, color, cv2.LINE_AA, shift=4)
    else:
        cv2.polylines(img, q, closed, color, thickness, cv2.LINE_AA, shift=4)


def render_face(rng: np.random.Generator, size: tuple[int, int], attrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One image (H, W, 3) uint8 RGB and its (98, 2) landmarks (float, image pixels)."""
    h, w = size
    pose, expr, illum, makeup, occl, blur = (bool(v) for v in attrs)
    tp = template(mouth_open=rng.uniform(0.10, 0.22) if expr else rng.uniform(0, 0.03),
                  brow_raise=rng.uniform(0.04, 0.08) if expr else rng.uniform(-0.01, 0.02),
                  eye_open=rng.uniform(0.6, 1.3), yaw=rng.uniform(-0.8, 0.8) if pose else rng.uniform(-0.15, 0.15))
    face_w = rng.uniform(0.38, 0.6) * min(h, w)
    ang = np.deg2rad(rng.uniform(-40, 40) if pose else rng.uniform(-12, 12))
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    c = np.array([w, h]) / 2 + rng.uniform(-0.12, 0.12, 2) * np.array([w, h])
    pts = tp @ rot.T * face_w + c

    bg = rng.integers(0, 256, 3)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = bg
    noise = rng.normal(0, 12, (h // 8 + 1, w // 8 + 1, 3))
    img = np.clip(img + cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)
    skin = np.array([rng.uniform(150, 240), rng.uniform(110, 190), rng.uniform(80, 160)])
    _poly(img, pts[0:33], tuple(skin.tolist()), fill=True)
    forehead = np.concatenate([pts[0:33], pts[[46, 44, 42, 37, 35, 33]] + (rot @ [0, -0.12]) * face_w])
    _poly(img, cv2.convexHull(forehead.astype(np.float32))[:, 0], tuple(skin.tolist()), fill=True)
    dark = tuple((skin * 0.35).tolist())
    lw = max(1, int(face_w / 60))
    _poly(img, pts[0:33], dark, closed=False, thickness=lw)
    for sl in (slice(33, 42), slice(42, 51)):
        _poly(img, pts[sl], (60, 40, 30), fill=True)
    lid = (180, 60, 160) if makeup else (250, 250, 250)
    for base in (60, 68):
        eye = pts[base:base + 8]
        if makeup:
            _poly(img, eye + (eye - eye.mean(0)) * 0.5, (150, 70, 170), fill=True)
        _poly(img, eye, (250, 250, 250), fill=True)
        _poly(img, eye, dark, thickness=lw)
        if makeup:
            _poly(img, eye, lid, thickness=lw + 1)
    for k in (96, 97):
        cv2.circle(img, tuple(int(v) for v in np.round(pts[k])), max(1, int(face_w / 28)), (40, 30, 20), -1,
                   cv2.LINE_AA)
    _poly(img, pts[51:55], dark, closed=False, thickness=lw)
    _poly(img, pts[55:60], dark, closed=False, thickness=lw)
    lips = (200, 20, 60) if makeup else tuple((skin * np.array([0.9, 0.5, 0.5])).tolist())
    _poly(img, pts[76:88], lips, fill=True)
    _poly(img, pts[88:96], (60, 10, 20), fill=True)
    if illum:
        gx = np.linspace(rng.uniform(0.2, 0.6), rng.uniform(1.2, 1.8), w)[None, :, None]
        img = np.clip(img * (gx if rng.random() < 0.5 else gx[:, ::-1]), 0, 255).astype(np.uint8)
    if occl:
        k0 = rng.choice([60, 68, 76, 51])
        ox, oy = pts[k0]
        s = face_w * rng.uniform(0.25, 0.4)
        cv2.rectangle(img, (int(ox - s / 2), int(oy - s / 2)), (int(ox + s / 2), int(oy + s / 2)),
                      tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(1.5, 3.0))
    return img, pts


def _line(pts: np.ndarray, rect: np.ndarray, attrs: np.ndarray, rel: str) -> str:
    coords = ' '.join(f'{v:.6f}' for v in pts.reshape(-1))
    return f'{coords} {" ".join(str(int(v)) for v in rect)} {" ".join(str(int(a)) for a in attrs)} {rel}\n'


def write_synthetic(out: str, *, n_train: int = 64, n_val: int = 32, size: tuple[int, int] = (160, 160),
                    seed: int = 0, attr_prob: float = 0.3, write_csv: bool = False, landmarks: int = 98) -> dict:
    """Write ``out/WFLW_images``, the two rect/attr lists and the six test-subset lists (+ optional
    HRNet CSVs in ``out/hrnet_csv``); ``n_val`` is the test split (WFLW has no val). Every subset gets at
    least one image when ``n_val >= 6``. ``size`` (HxW) is the nominal image size; returns counts.

    ``landmarks=68``: the custom layout instead (module docstring): ``out/images``, ``out/annotations/{split}.txt``
    (+ ``.csv`` with ``write_csv``), ``out/metainfo.json``."""
    if landmarks not in (68, 98):
        raise ValueError(f'synthetic faces come with 98 (WFLW) or 68 (300W-style) landmarks, got {landmarks}')
    custom = landmarks != 98
    pick = np.asarray(WFLW_TO_68 if custom else range(98))
    n_test = n_val
    rng = np.random.default_rng(seed)
    counts = {}
    for split, n in (('train', n_train), ('test', n_test)):
        lines, csv_rows, subset_lines = [], [], {s: [] for s in SUBSETS}
        for i in range(n):
            attrs = (rng.random(len(ATTRIBUTES)) < attr_prob).astype(np.int64)
            if split == 'test' and i < len(SUBSETS) and n >= len(SUBSETS):
                attrs[i] = 1
            hh, ww = (int(size[0] * rng.uniform(0.9, 1.2)), int(size[1] * rng.uniform(0.9, 1.2)))
            img, pts = render_face(rng, (hh, ww), attrs)
            pts = pts[pick]
            folder = osp.join(out, 'images', split) if custom else osp.join(out, IMAGE_DIR, f'{split}--synth')
            rel = f'{split}/{split}_{i:05d}.jpg' if custom else f'{split}--synth/{split}_{i:05d}.jpg'
            cv2.imwrite(osp.join(_mk(folder), f'{split}_{i:05d}.jpg'),
                        np.ascontiguousarray(img[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 95])
            lo, hi = pts.min(0), pts.max(0)
            jitter = rng.uniform(-0.05, 0.05, 4) * (hi - lo).max()
            rect = np.round(np.concatenate([lo, hi]) + jitter).astype(np.int64)
            line = _line(pts, rect, attrs, rel)
            lines.append(line)
            if split == 'test':
                for j, s in enumerate(SUBSETS):
                    if attrs[j]:
                        subset_lines[s].append(line)
            c = (lo + hi) / 2
            csv_rows.append([rel if custom else f'{IMAGE_DIR}/{rel}', f'{(hi - lo).max() / 200:.6f}', f'{c[0]:.6f}',
                             f'{c[1]:.6f}'] + [f'{v:.6f}' for v in pts.reshape(-1)])
        header = 'image_name,scale,center_w,center_h,' + ','.join(f'original_{k}_{a}' for k in range(landmarks)
                                                                    for a in 'xy')
        if custom:
            _write(osp.join(out, 'annotations', f'{split}.txt'), lines)
            if write_csv:
                _write(osp.join(out, 'annotations', f'{split}.csv'),
                       [header + '\n'] + [','.join(r) + '\n' for r in csv_rows])
            counts[split] = n
            continue
        _write(osp.join(out, LIST_DIR, f'list_98pt_rect_attr_{split}.txt'), lines)
        if split == 'test':
            _write(osp.join(out, SUBSET_DIR, 'list_98pt_test.txt'), lines)
            for s in SUBSETS:
                _write(osp.join(out, SUBSET_DIR, f'list_98pt_test_{s}.txt'), subset_lines[s])
                counts[f'test_{s}'] = len(subset_lines[s])
        if write_csv:
            _write(osp.join(out, 'hrnet_csv', f'face_landmarks_wflw_{split}.csv'),
                   [header + '\n'] + [','.join(r) + '\n' for r in csv_rows])
        counts[split] = n
    if custom:
        _write(osp.join(out, 'metainfo.json'), [json.dumps(metainfo_68(), indent=1) + '\n'])
        counts['landmarks'] = landmarks
    return counts


def _mk(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    return path


def _write(path: str, lines: list[str]) -> None:
    from hrvision.atomic import atomic_write_text
    _mk(osp.dirname(path))
    atomic_write_text(path, ''.join(lines))   # complete or not at all
