"""Synthetic street scenes written in the exact Cityscapes layout.

Each image shows all 19 evaluated classes (sky, buildings, road with vehicles, sidewalks with
people, poles with lights and signs, vegetation, ...) so that the official mIoU over 19 classes
is meaningful, plus ignore regions (ego vehicle, unlabeled specks) as in real gtFine files.
Appearance: a per-class colour with per-object jitter, texture noise and a lighting gradient, so
a small model can learn the classes but not by a single pixel value.

Layout: ``leftImg8bit/{split}/{city}/{city}_{seq:06d}_{frame:06d}_leftImg8bit.png`` and
``gtFine/{split}/{city}/..._gtFine_labelIds.png`` (label ids, not train ids).
"""
from __future__ import annotations

import os.path as osp

import cv2
import numpy as np

from hrvision.data.io import write_image

from .labels import LABEL_IDS
from .meta import cityscapes_meta


def _label_id(name: str) -> int:
    """The Cityscapes label id of a class name (names from the preset, ids from the format's table)."""
    return LABEL_IDS[cityscapes_meta()['classes'].index(name)]


EGO_VEHICLE, UNLABELED = 1, 0
# Appearance colours (RGB) chosen to be distinguishable; not the label palette.
LOOK = {
    'road': (90, 80, 95), 'sidewalk': (190, 150, 170), 'building': (120, 110, 100), 'wall': (170, 160, 120),
    'fence': (150, 100, 60), 'pole': (60, 60, 60), 'traffic light': (240, 170, 20), 'traffic sign': (230, 230, 30),
    'vegetation': (50, 130, 40), 'terrain': (150, 200, 110), 'sky': (120, 170, 235), 'person': (220, 40, 60),
    'rider': (250, 110, 200), 'car': (20, 40, 200), 'truck': (20, 130, 130), 'bus': (240, 120, 40),
    'train': (100, 40, 140), 'motorcycle': (40, 220, 220), 'bicycle': (150, 20, 40),
}
CITIES = ('aachen', 'bremen', 'zurich')


class _Canvas:
    def __init__(self, h: int, w: int, rng: np.random.Generator) -> None:
        self.h, self.w, self.rng = h, w, rng
        self.img = np.zeros((h, w, 3), np.float32)
        self.lab = np.full((h, w), UNLABELED, np.uint8)

    def _colour(self, name: str) -> np.ndarray:
        return np.clip(np.array(LOOK[name], np.float32) + self.rng.normal(0, 12, 3), 0, 255)

    def paint(self, mask: np.ndarray, name: str | None, label: int | None = None, colour=None) -> None:
        c = self._colour(name) if colour is None else np.asarray(colour, np.float32)
        self.img[mask] = c
        self.lab[mask] = _label_id(name) if label is None else label

    def mask(self) -> np.ndarray:
        return np.zeros((self.h, self.w), np.uint8)

    def rect(self, name: str, x0, y0, x1, y1) -> None:
        m = self.mask()
        cv2.rectangle(m, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), 1, -1)
        self.paint(m.astype(bool), name)

    def ellipse(self, name: str, cx, cy, ax, ay) -> None:
        m = self.mask()
        cv2.ellipse(m, (int(cx), int(cy)), (max(1, int(ax)), max(1, int(ay))), 0, 0, 360, 1, -1)
        self.paint(m.astype(bool), name)

    def poly(self, name: str, pts) -> None:
        m = self.mask()
        cv2.fillPoly(m, [np.asarray(pts, np.int32)], 1)
        self.paint(m.astype(bool), name)


def _wheels(cv: _Canvas, x0, x1, y1, r) -> None:
    m = cv.mask()
    for cx in (x0 + (x1 - x0) * 0.22, x0 + (x1 - x0) * 0.78):
        cv2.circle(m, (int(cx), int(y1)), max(1, int(r)), 1, -1)
    cv.img[m.astype(bool)] = (20, 20, 20)  # tyres keep the vehicle's label (drawn inside its box)


def render_scene(h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One street scene: (RGB uint8 image, label-id uint8 map)."""
    cv = _Canvas(h, w, rng)
    u = w / 256.0  # unit size, so scenes scale with the image
    hz = int(h * rng.uniform(0.40, 0.50))  # horizon
    # sky with a vertical gradient
    sky = np.zeros((h, w), bool)
    sky[:hz] = True
    cv.paint(sky, 'sky')
    cv.img[:hz] *= np.linspace(0.85, 1.1, hz)[:, None, None]
    # buildings along the horizon, with darker windows
    x = 0
    while x < w:
        bw = int(rng.uniform(30, 70) * u)
        top = int(rng.uniform(0.08, 0.3) * h)
        cv.rect('building', x, top, x + bw, hz + 4)
        for wy in range(top + 4, hz - 4, max(4, int(10 * u))):
            for wx in range(x + 3, x + bw - 5, max(5, int(11 * u))):
                cv.img[wy:wy + max(2, int(4 * u)), wx:wx + max(2, int(4 * u))] *= 0.6
        x += bw
    # vegetation crowns above the buildings
    for _ in range(2):
        cx = rng.uniform(0.05, 0.95) * w
        cv.ellipse('vegetation', cx, hz - 12 * u, rng.uniform(14, 22) * u, rng.uniform(10, 16) * u)
    # ground: terrain at the sides, sidewalks, road trapezoid
    cv.rect('terrain', 0, hz, w, h)
    left_top, right_top = w * rng.uniform(0.38, 0.45), w * rng.uniform(0.55, 0.62)
    cv.poly('sidewalk', [(left_top - 25 * u, hz), (right_top + 25 * u, hz), (w, h * 0.8), (w, h), (0, h), (0, h * 0.8)])
    cv.poly('road', [(left_top, hz), (right_top, hz), (w * 0.9, h), (w * 0.1, h)])
    # wall and fence segments on the terrain
    wx = rng.uniform(0.0, 0.12) * w
    cv.rect('wall', wx, hz - 10 * u, wx + 34 * u, hz + 8 * u)
    fx = rng.uniform(0.78, 0.86) * w
    cv.rect('fence', fx, hz - 10 * u, fx + 34 * u, hz + 8 * u)
    for sx in np.arange(fx, fx + 34 * u, 5 * u):
        cv.img[int(hz - 10 * u):int(hz + 8 * u), int(sx):int(sx + 2 * u)] *= 0.55
    # poles with a traffic light and a traffic sign
    pw = max(3, int(4 * u))
    for px, name in ((rng.uniform(0.16, 0.22) * w, 'traffic light'), (rng.uniform(0.70, 0.76) * w, 'traffic sign')):
        top = hz - rng.uniform(35, 45) * u
        cv.rect('pole', px, top, px + pw, h * rng.uniform(0.72, 0.8))
        if name == 'traffic light':
            cv.rect(name, px - 3 * u, top - 18 * u, px + pw + 3 * u, top + 2)
        else:
            cv.rect(name, px - 6 * u, top - 12 * u, px + pw + 6 * u, top + 2)
    # train far away on the horizon, a bus and a truck behind, cars, two-wheelers in front
    tx = rng.uniform(0.3, 0.45) * w
    cv.rect('train', tx, hz - 16 * u, tx + 70 * u, hz + 2 * u)
    for y in (hz - 12 * u,):
        cv.img[int(y):int(y + 4 * u), int(tx + 4 * u):int(tx + 66 * u)] *= 1.3
    order = rng.permutation(['bus', 'truck'])
    lane_y = hz + 0.18 * (h - hz)
    slots = [rng.uniform(0.22, 0.3) * w, rng.uniform(0.55, 0.62) * w]
    sizes = {'bus': (60, 30), 'truck': (44, 30)}
    for name, sx in zip(order, slots):
        bw, bh = sizes[name][0] * u, sizes[name][1] * u
        cv.rect(name, sx, lane_y - bh, sx + bw, lane_y)
        _wheels(cv, sx, sx + bw, lane_y - 2, 4 * u)
    y_car = hz + 0.55 * (h - hz)
    for cx in (rng.uniform(0.2, 0.3) * w, rng.uniform(0.55, 0.65) * w):
        cw, ch = rng.uniform(36, 46) * u, rng.uniform(18, 22) * u
        cv.rect('car', cx, y_car - ch, cx + cw, y_car)
        cv.img[int(y_car - ch + 2):int(y_car - ch * 0.55), int(cx + cw * 0.2):int(cx + cw * 0.8)] *= 0.5
        _wheels(cv, cx, cx + cw, y_car - 2, 4 * u)
    # motorcycle and bicycle with riders; pedestrians on the sidewalks
    y_two = hz + 0.8 * (h - hz)
    for name, bx in (('motorcycle', rng.uniform(0.36, 0.42) * w), ('bicycle', rng.uniform(0.48, 0.54) * w)):
        bw, bh = 22 * u, 11 * u
        cv.rect(name, bx, y_two - bh, bx + bw, y_two)
        cv.ellipse('rider', bx + bw * 0.5, y_two - bh - 10 * u, 6 * u, 11 * u)
    for px in (rng.uniform(0.02, 0.08) * w, rng.uniform(0.88, 0.94) * w):
        py = h * rng.uniform(0.82, 0.88)
        cv.ellipse('person', px + 5 * u, py - 14 * u, 6 * u, 14 * u)
        cv.ellipse('person', px + 5 * u, py - 31 * u, 4 * u, 4 * u)
    # ignore regions: ego vehicle at the bottom, unlabeled specks
    ego = np.zeros((h, w), bool)
    ego[h - max(2, h // 32):] = True
    cv.paint(ego, None, label=EGO_VEHICLE, colour=(30, 30, 35))
    for _ in range(3):
        sx, sy = rng.integers(0, w - 6), rng.integers(0, h - 6)
        cv.img[sy:sy + 4, sx:sx + 4] = rng.uniform(0, 255, 3)
        cv.lab[sy:sy + 4, sx:sx + 4] = UNLABELED
    # lighting gradient and sensor noise
    gain = np.linspace(rng.uniform(0.85, 1.0), rng.uniform(1.0, 1.15), w)[None, :, None]
    img = cv.img * gain + rng.normal(0, 6, cv.img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), cv.lab


def write_synthetic(out: str, *, n_train: int = 24, n_val: int = 8, size: tuple[int, int] = (128, 256),
                    seed: int = 0) -> dict[str, int]:
    """Write a synthetic dataset under ``out`` in the Cityscapes layout (``size`` = HxW); returns counts per split."""
    rng = np.random.default_rng(seed)
    h, w = size
    if h < 64 or w < 128:
        raise ValueError(f'synthetic Cityscapes needs at least 64x128 pixels (HxW), got {h}x{w}')
    counts = {}
    for split, n in (('train', n_train), ('val', n_val)):
        for i in range(n):
            city = CITIES[i % len(CITIES)]
            stem = f'{city}_{i // len(CITIES):06d}_{19 + i:06d}'
            img, lab = render_scene(h, w, rng)
            write_image(osp.join(out, 'leftImg8bit', split, city, f'{stem}_leftImg8bit.png'), img)
            write_image(osp.join(out, 'gtFine', split, city, f'{stem}_gtFine_labelIds.png'), lab)
        counts[split] = n
    return counts


# ---- the generic folder format (SegmentationFolderDataset) -------------------------------------------------------------
FOLDER_CLASS_NAMES = ('background', 'disc', 'box', 'triangle', 'stripe')
# mask colours (the dataset's palette), distinct from the appearance colours below
FOLDER_PALETTE = ((0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200))


def folder_metainfo(num_classes: int) -> dict:
    """Class names and palette of the synthetic folder dataset with ``num_classes`` classes (0 = background)."""
    from .meta import generated_palette
    names = list(FOLDER_CLASS_NAMES[:num_classes]) + [f'shape_{k}' for k in range(len(FOLDER_CLASS_NAMES),
                                                                                   num_classes)]
    extra = [c for c in generated_palette(num_classes + 8) if tuple(c) not in FOLDER_PALETTE]
    palette = [list(c) for c in FOLDER_PALETTE[:num_classes]] + extra[:max(0, num_classes - len(FOLDER_PALETTE))]
    return dict(classes=names, palette=palette)


def render_shapes(h: int, w: int, num_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """An image of textured shapes on a background: (RGB uint8, class-index uint8); class k has its own look."""
    look = np.random.default_rng(7).integers(40, 240, (num_classes, 3)).astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[:] = look[0]
    lab = np.zeros((h, w), np.uint8)
    u = min(h, w)
    for k in rng.permutation(np.arange(1, num_classes)):
        m = np.zeros((h, w), np.uint8)
        cx, cy = int(rng.uniform(0.2, 0.8) * w), int(rng.uniform(0.2, 0.8) * h)
        r = max(3, int(rng.uniform(0.1, 0.2) * u))
        kind = (k - 1) % 4
        if kind == 0:
            cv2.circle(m, (cx, cy), r, 1, -1)
        elif kind == 1:
            cv2.rectangle(m, (cx - r, cy - r), (cx + r, cy + r), 1, -1)
        elif kind == 2:
            cv2.fillPoly(m, [np.array([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], np.int32)], 1)
        else:
            cv2.rectangle(m, (0, cy - r // 3), (w - 1, cy + r // 3), 1, -1)
        sel = m.astype(bool)
        img[sel] = np.clip(look[k] + rng.normal(0, 10, 3), 0, 255)
        lab[sel] = k
    img = img * np.linspace(0.9, 1.1, w)[None, :, None] + rng.normal(0, 5, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), lab


def write_folder_dataset(out: str, *, n_train: int = 16, n_val: int = 4, size: tuple[int, int] = (96, 128),
                         seed: int = 0, num_classes: int = 5, mask_format: str = 'color') -> dict:
    """Write a small dataset in the generic folder format (:class:`~.folder.SegmentationFolderDataset`)::

        out/images/{train,val}/NNNN.png    images (data_prefix.img)
        out/masks/{train,val}/NNNN.png     masks (data_prefix.seg): RGB colours of metainfo.palette ('color') or
                                           class indices ('index', with an ignored (255) band at the bottom)
        out/metainfo.json                  {"classes": [...], "palette": [[r, g, b], ...]}
    """
    import json

    from hrvision.atomic import atomic_write_text
    from hrvision.errors import InputError
    if not 2 <= num_classes <= 255:
        raise InputError(f'synth-seg --classes must be 2-255, got {num_classes}')
    if mask_format not in ('color', 'index'):
        raise InputError(f"synth-seg --mask-format must be 'color' or 'index', got {mask_format!r}")
    h, w = size
    if h < 16 or w < 16:
        raise InputError(f'synth-seg --size must be at least 16x16 (HxW), got {h}x{w}')
    meta = folder_metainfo(num_classes)
    palette = np.asarray(meta['palette'], np.uint8)
    rng = np.random.default_rng(seed)
    for split, n in (('train', n_train), ('val', n_val)):
        for i in range(n):
            img, lab = render_shapes(h, w, num_classes, rng)
            write_image(osp.join(out, 'images', split, f'{i:04d}.png'), img)
            if mask_format == 'color':
                mask = palette[lab]
            else:
                mask = lab.copy()
                mask[h - max(1, h // 16):] = 255   # "no label" band, as real annotations have
            write_image(osp.join(out, 'masks', split, f'{i:04d}.png'), mask)
    atomic_write_text(osp.join(out, 'metainfo.json'), json.dumps(meta, indent=1) + '\n', 'metainfo file')
    return dict(train=n_train, val=n_val, classes=num_classes, mask_format=mask_format,
                metainfo=osp.join(out, 'metainfo.json'))
