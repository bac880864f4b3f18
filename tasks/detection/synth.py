"""Synthetic COCO-instances data: coloured shapes (circle, square, triangle, bar) on textured
backgrounds, in the exact layout and JSON format of COCO 2017::

    OUT/train2017/*.jpg  OUT/val2017/*.jpg
    OUT/annotations/instances_train2017.json  OUT/annotations/instances_val2017.json

Each annotation has ``segmentation`` (polygon), ``area`` (polygon area), ``bbox`` ``[x, y, w, h]``,
``iscrowd`` 0. Category ids are deliberately not contiguous (as in COCO) to exercise the mapping.
Shapes vary in size (about 6%..45% of the image side), aspect (bars 3:1..6:1) and may overlap.
"""
from __future__ import annotations

import json
import os
import os.path as osp

import cv2
import numpy as np

CATEGORIES = [dict(id=1, name='circle', supercategory='shape'),
              dict(id=3, name='square', supercategory='shape'),
              dict(id=4, name='triangle', supercategory='shape'),
              dict(id=7, name='bar', supercategory='shape')]


def _polygon(kind: str, cx: float, cy: float, size: float, angle: float, rng: np.random.Generator) -> np.ndarray:
    """(P, 2) float polygon of one shape centred at (cx, cy) with overall extent ~``size``."""
    r = size / 2
    if kind == 'circle':
        t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    elif kind == 'square':
        pts = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * r * 0.8
    elif kind == 'triangle':
        t = np.array([-np.pi / 2, np.pi / 6, 5 * np.pi / 6])
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    else:  # bar
        aspect = rng.uniform(3, 6)
        pts = np.array([[-1, -1 / aspect], [1, -1 / aspect], [1, 1 / aspect], [-1, 1 / aspect]]) * r
    c, s = np.cos(angle), np.sin(angle)
    return pts @ np.array([[c, s], [-s, c]]) + np.array([cx, cy])


def _background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    base = rng.uniform(40, 200, 3)
    grad = np.linspace(-30, 30, w)[None, :, None] * rng.uniform(-1, 1, 3)
    img = base + grad + rng.normal(0, 8, (h, w, 3))
    return img.clip(0, 255).astype(np.uint8)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / max(union, 1e-9)


def make_scene(rng: np.random.Generator, h: int, w: int, max_objects: int = 5, p_empty: float = 0.05):
    """One image and its objects: list of (category index, polygon)."""
    img = _background(h, w, rng)
    n = 0 if rng.random() < p_empty else int(rng.integers(1, max_objects + 1))
    objects, boxes = [], []
    for _ in range(n * 4):  # rejection sampling keeps overlaps moderate (IoU <= 0.3)
        if len(objects) == n:
            break
        k = int(rng.integers(len(CATEGORIES)))
        size = rng.uniform(0.06, 0.45) * min(h, w)
        poly = _polygon(CATEGORIES[k]['name'], rng.uniform(0, w), rng.uniform(0, h), size,
                        rng.uniform(0, np.pi) if CATEGORIES[k]['name'] in ('square', 'bar') else rng.uniform(-.3, .3),
                        rng)
        poly[:, 0] = poly[:, 0].clip(0, w)
        poly[:, 1] = poly[:, 1].clip(0, h)
        box = np.array([*poly.min(0), *poly.max(0)])
        if min(box[2] - box[0], box[3] - box[1]) < 4 or any(_iou(box, b) > 0.3 for b in boxes):
            continue
        colour = rng.integers(0, 256, 3)
        cv2.fillPoly(img, [np.round(poly * 16).astype(np.int32)], tuple(int(c) for c in colour), cv2.LINE_AA, 4)
        objects.append((k, poly))
        boxes.append(box)
    return img, objects


def _annotation(ann_id: int, img_id: int, k: int, poly: np.ndarray) -> dict:
    x1, y1 = poly.min(0)
    x2, y2 = poly.max(0)
    area = float(cv2.contourArea(poly.astype(np.float32)))
    return dict(id=ann_id, image_id=img_id, category_id=CATEGORIES[k]['id'],
                segmentation=[[round(float(v), 2) for v in poly.reshape(-1)]], area=round(area, 2),
                bbox=[round(float(v), 2) for v in (x1, y1, x2 - x1, y2 - y1)], iscrowd=0)


def write_split(out: str, split: str, n: int, rng: np.random.Generator, size_range=(128, 192),
                first_id: int = 1) -> str:
    """Write ``n`` images of ``{split}2017`` and its instances JSON; returns the JSON path."""
    img_dir = osp.join(out, f'{split}2017')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    images, anns = [], []
    for i in range(n):
        img_id = first_id + i
        h, w = (int(v) for v in rng.integers(size_range[0], size_range[1] + 1, 2))
        img, objects = make_scene(rng, h, w)
        name = f'{img_id:012d}.jpg'
        cv2.imwrite(osp.join(img_dir, name), img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
        images.append(dict(id=img_id, file_name=name, height=h, width=w, license=1,
                           date_captured='2026-01-01 00:00:00'))
        for k, poly in objects:
            anns.append(_annotation(len(anns) + 1, img_id, k, poly))
    data = dict(info=dict(description=f'hrvision synthetic shapes ({split})', version='1.0', year=2026),
                licenses=[dict(id=1, name='CC0', url='')], images=images, annotations=anns,
                categories=CATEGORIES)
    path = osp.join(out, 'annotations', f'instances_{split}2017.json')
    with open(path, 'w') as f:
        json.dump(data, f)
    return path


def write_synthetic(out: str, *, n_train: int = 64, n_val: int | None = None, size: tuple[int, int] = (128, 192),
                    seed: int = 0) -> dict[str, str]:
    """Train (``n_train`` images) and val (``n_val``, default n_train//4, at least 4) splits; ``size`` is the
    range (smallest, largest) of the image sides, each image's height and width drawn from it. Returns the
    JSON paths."""
    rng = np.random.default_rng(seed)
    n_val = max(4, n_train // 4) if n_val is None else n_val
    return {'train': write_split(out, 'train', n_train, rng, size, first_id=1),
            'val': write_split(out, 'val', n_val, rng, size, first_id=100000)}


__all__ = ['write_synthetic', 'make_scene', 'CATEGORIES']
