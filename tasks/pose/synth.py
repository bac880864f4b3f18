"""Synthetic people in the exact COCO keypoint format: articulated stick figures with the 17 COCO joints.

Each figure is drawn facing the camera (so the person's left is on the image right, as in COCO), with
random torso tilt, limb angles and size; limbs are coloured per side. Rectangles occlude some figures:
joints under an occluder are labelled but not visible (v=1); joints outside the image are unlabelled
(v=0, coordinates 0). Layout written by :func:`write_synthetic`::

    OUT/annotations/person_keypoints_{train,val}.json   (COCO: images / annotations / categories)
    OUT/annotations/person_detections_val.json          (COCO results: jittered boxes with scores)
    OUT/train/*.jpg   OUT/val/*.png
"""
from __future__ import annotations

import json
import math
import os
import os.path as osp

import cv2
import numpy as np

from hrvision.data.io import write_image

from .dataset import COCO_KEYPOINT_NAMES, COCO_SKELETON

LEFT = (255, 90, 40)
RIGHT = (40, 120, 255)
CENTER = (60, 200, 60)


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    r = math.radians(deg)
    return np.array([v[0] * math.cos(r) - v[1] * math.sin(r), v[0] * math.sin(r) + v[1] * math.cos(r)])


def figure_joints(rng: np.random.RandomState, hip: np.ndarray, torso: float) -> np.ndarray:
    """(17, 2) joint positions of one figure with torso length ``torso`` centred at ``hip``."""
    tilt = rng.uniform(-25, 25)
    up = _rot(np.array([0.0, -1.0]), tilt)
    side = np.array([-up[1], up[0]]) * rng.uniform(0.8, 1.2)   # image right; body width varies
    neck = hip + up * torso
    j = np.zeros((17, 2))
    head = neck + up * 0.42 * torso
    turn = rng.uniform(-0.08, 0.08) * torso
    j[0] = head + side * turn - up * 0.02 * torso                 # nose
    j[1] = head + side * (0.10 * torso + turn) + up * 0.07 * torso  # left eye (image right)
    j[2] = head - side * (0.10 * torso - turn) + up * 0.07 * torso
    j[3] = head + side * 0.2 * torso                              # left ear
    j[4] = head - side * 0.2 * torso
    j[5] = neck + side * 0.33 * torso                             # left shoulder
    j[6] = neck - side * 0.33 * torso
    j[11] = hip + side * 0.2 * torso                              # left hip
    j[12] = hip - side * 0.2 * torso
    for s, (sh, el, wr) in ((1, (5, 7, 9)), (-1, (6, 8, 10))):
        a1 = tilt + s * rng.uniform(-30, 120)                     # 0 = arm hanging down
        a2 = a1 + s * rng.uniform(-10, 120)
        j[el] = j[sh] + _rot(np.array([0.0, 1.0]), -a1) * 0.55 * torso
        j[wr] = j[el] + _rot(np.array([0.0, 1.0]), -a2) * 0.5 * torso
    for s, (hp, kn, an) in ((1, (11, 13, 15)), (-1, (12, 14, 16))):
        a1 = tilt + s * rng.uniform(-10, 45)
        a2 = a1 - s * rng.uniform(-5, 50)
        j[kn] = j[hp] + _rot(np.array([0.0, 1.0]), -a1) * 0.72 * torso
        j[an] = j[kn] + _rot(np.array([0.0, 1.0]), -a2) * 0.68 * torso
    return j


def _limb_color(a: int, b: int) -> tuple[int, int, int]:
    names = COCO_KEYPOINT_NAMES[a] + COCO_KEYPOINT_NAMES[b]
    if 'left' in names and 'right' not in names:
        return LEFT
    if 'right' in names and 'left' not in names:
        return RIGHT
    return CENTER


def draw_figure(img: np.ndarray, j: np.ndarray, torso: float) -> None:
    t = max(2, int(round(torso * 0.09)))
    p = lambda k: (int(round(j[k, 0])), int(round(j[k, 1])))  # noqa: E731
    body = np.array([j[5], j[6], j[12], j[11]], np.int32)
    cv2.fillPoly(img, [body], (90, 160, 90), cv2.LINE_AA)
    for a, b in COCO_SKELETON:
        if a <= 4 and b <= 4:
            continue
        cv2.line(img, p(a), p(b), _limb_color(a, b), t, cv2.LINE_AA)
    head_c = (j[3] + j[4]) / 2
    cv2.circle(img, (int(head_c[0]), int(head_c[1])), max(3, int(0.24 * torso)), (225, 190, 160), -1, cv2.LINE_AA)
    r = max(1, int(round(torso * 0.04)))
    for k, col in ((0, (200, 40, 40)), (1, (250, 250, 40)), (2, (40, 250, 250)), (3, LEFT), (4, RIGHT)):
        cv2.circle(img, p(k), r, col, -1, cv2.LINE_AA)
    for k in range(5, 17):
        cv2.circle(img, p(k), t // 2 + 1, (255, 255, 255) if k % 2 else (30, 30, 30), -1, cv2.LINE_AA)


def background(rng: np.random.RandomState, h: int, w: int) -> np.ndarray:
    c0, c1 = rng.randint(0, 256, 3), rng.randint(0, 256, 3)
    g = np.linspace(0, 1, w)[None, :, None]
    img = c0 * (1 - g) + c1 * g + rng.normal(0, 12, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8).repeat(1, axis=0)


def make_image(rng: np.random.RandomState, size=(192, 160), max_people: int = 2, occlusion_prob: float = 0.3):
    """One picture (H, W, 3) uint8 RGB and its people: list of (keypoints (17, 3) COCO-style, bbox xywh)."""
    w, h = size
    img = background(rng, h, w)
    people = []
    n = rng.randint(1, max_people + 1)
    slots = rng.permutation(n)
    for i in range(n):
        torso = rng.uniform(0.16, 0.26) * h
        x = (slots[i] + 0.5) * w / n + rng.uniform(-0.1, 0.1) * w / n
        y = rng.uniform(0.45, 0.6) * h
        j = figure_joints(rng, np.array([x, y]), torso)
        draw_figure(img, j, torso)
        vis = np.full(17, 2.0)
        if rng.rand() < occlusion_prob:
            cx, cy = j[rng.randint(17)]
            ow, oh = rng.uniform(0.3, 0.6) * torso, rng.uniform(0.3, 0.6) * torso
            x0, y0, x1, y1 = cx - ow, cy - oh, cx + ow, cy + oh
            col = tuple(int(c) for c in rng.randint(0, 256, 3))
            cv2.rectangle(img, (int(x0), int(y0)), (int(x1), int(y1)), col, -1)
            inside = (j[:, 0] >= x0) & (j[:, 0] <= x1) & (j[:, 1] >= y0) & (j[:, 1] <= y1)
            vis[inside] = 1.0
        out = (j[:, 0] < 0) | (j[:, 0] > w - 1) | (j[:, 1] < 0) | (j[:, 1] > h - 1)
        vis[out] = 0
        kp = np.concatenate([np.where(out[:, None], 0, j), vis[:, None]], 1)
        lab = j[~out]
        pad = 0.25 * torso
        x0, y0 = np.clip(lab.min(0) - pad, 0, None)
        x1, y1 = np.minimum(lab.max(0) + pad, [w - 1, h - 1])
        people.append((kp, [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]))
    return img, people


def coco_categories() -> list[dict]:
    return [dict(id=1, name='person', supercategory='person', keypoints=list(COCO_KEYPOINT_NAMES),
                 skeleton=[[a + 1, b + 1] for a, b in COCO_SKELETON])]


def write_split(out: str, split: str, n: int, rng: np.random.RandomState, ext: str, first_id: int,
                size: tuple[int, int] = (160, 192)) -> dict:
    """``n`` images of ``size`` (HxW) and their COCO keypoint file; returns the file's content."""
    images, anns = [], []
    for i in range(n):
        img_id = first_id + i
        img, people = make_image(rng, size=(size[1], size[0]))
        name = f'{img_id:012d}.{ext}'
        write_image(osp.join(out, split, name), img)
        images.append(dict(id=img_id, file_name=name, width=img.shape[1], height=img.shape[0]))
        for kp, box in people:
            anns.append(dict(id=len(anns) + first_id * 10, image_id=img_id, category_id=1, iscrowd=0, bbox=box,
                             area=float(box[2] * box[3] * 0.6), num_keypoints=int((kp[:, 2] > 0).sum()),
                             keypoints=[round(float(v), 2) for v in kp.reshape(-1)], segmentation=[]))
    data = dict(info=dict(description=f'hrvision synthetic COCO keypoints ({split})'), licenses=[],
                images=images, annotations=anns, categories=coco_categories())
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    with open(osp.join(out, 'annotations', f'person_keypoints_{split}.json'), 'w', encoding='utf-8') as f:
        json.dump(data, f)
    return data


def write_synthetic(out: str, *, n_train: int = 64, n_val: int | None = None, size: tuple[int, int] = (160, 192),
                    seed: int = 0) -> dict:
    """Write train (JPEG) and val (PNG, default ``max(4, n_train // 4)`` images) splits of ``size`` (HxW) plus a
    detection-results JSON for val; returns counts."""
    n = n_train
    if n < 1:
        raise ValueError(f'n_train must be at least 1, got {n}')
    rng = np.random.RandomState(seed)
    n_val = max(4, n // 4) if n_val is None else n_val
    train = write_split(out, 'train', n, rng, 'jpg', 1, size)
    val = write_split(out, 'val', n_val, rng, 'png', 100000, size)
    dets = []
    for a in val['annotations']:
        x, y, w, h = a['bbox']
        jit = rng.normal(0, 0.05, 4) * [w, h, w, h]
        dets.append(dict(image_id=a['image_id'], category_id=1, bbox=[float(v) for v in np.array([x, y, w, h]) + jit],
                         score=float(rng.uniform(0.6, 1.0))))
    with open(osp.join(out, 'annotations', 'person_detections_val.json'), 'w', encoding='utf-8') as f:
        json.dump(dets, f)
    return dict(train_images=n, train_people=len(train['annotations']), val_images=n_val,
                val_people=len(val['annotations']), detections=len(dets))
