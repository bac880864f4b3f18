"""Synthetic COCO scenes for the multi-task model: people (17 joints, masks, boxes) among a few shapes.

Writes the two exact COCO files of each split, as the real dataset ships them:

* ``annotations/instances_{split}2017.json``: every object (person id 1, shapes 2..5) with polygon masks,
  tight boxes and areas;
* ``annotations/person_keypoints_{split}2017.json``: the same person annotations (same ids) with
  ``keypoints`` / ``num_keypoints``, and the person category with its keypoint names and skeleton.

Drawing is the single-task generators' own: shapes and background from
:func:`hrvision.tasks.detection.synth.make_scene`, stick figures from :mod:`hrvision.tasks.pose.synth`.
A person's mask is the figure drawn again on a blank canvas, so mask, box and joints agree exactly.
"""
from __future__ import annotations

import json
import os
import os.path as osp

import cv2
import numpy as np

from hrvision.data.io import write_image
from hrvision.tasks.detection.synth import CATEGORIES as SHAPES, make_scene
from hrvision.tasks.pose.synth import coco_categories, draw_figure, figure_joints

PERSON_ID = 1
SHAPE_IDS = {c['id']: 2 + i for i, c in enumerate(SHAPES)}   # shape category ids after the person


def instance_categories() -> list[dict]:
    return [dict(id=PERSON_ID, name='person', supercategory='person')] + \
        [dict(id=SHAPE_IDS[c['id']], name=c['name'], supercategory=c['supercategory']) for c in SHAPES]


def mask_polygons(mask: np.ndarray) -> list[list[float]]:
    """COCO polygons (outer contours, >= 3 points) of a binary mask."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [[round(float(v), 2) for v in c.reshape(-1)] for c in contours if len(c) >= 3]


def make_multi_scene(rs: np.random.RandomState, rng: np.random.Generator, h: int, w: int, max_people: int = 2,
                     max_objects: int = 3):
    """Image and its instances: list of dicts (category_id, segmentation, bbox, area[, keypoints])."""
    img, objects = make_scene(rng, h, w, max_objects=max_objects, p_empty=0.2)
    instances = []
    for k, poly in objects:
        x0, y0 = poly.min(0)
        x1, y1 = poly.max(0)
        instances.append(dict(category_id=SHAPE_IDS[SHAPES[k]['id']],
                              segmentation=[[round(float(v), 2) for v in poly.reshape(-1)]],
                              bbox=[round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
                              area=round(float(cv2.contourArea(poly.astype(np.float32))), 2)))
    n = rs.randint(1, max_people + 1)
    slots = rs.permutation(n)
    for i in range(n):
        torso = rs.uniform(0.16, 0.24) * h
        hip = np.array([(slots[i] + 0.5) * w / n + rs.uniform(-0.1, 0.1) * w / n, rs.uniform(0.45, 0.6) * h])
        j = figure_joints(rs, hip, torso)
        draw_figure(img, j, torso)
        canvas = np.zeros_like(img)
        draw_figure(canvas, j, torso)
        mask = canvas.any(-1)
        if mask.sum() < 16:
            continue
        ys, xs = np.nonzero(mask)
        out = (j[:, 0] < 0) | (j[:, 0] > w - 1) | (j[:, 1] < 0) | (j[:, 1] > h - 1)
        kp = np.concatenate([np.where(out[:, None], 0, j), np.where(out, 0, 2)[:, None]], 1)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        instances.append(dict(category_id=PERSON_ID, segmentation=mask_polygons(mask),
                              bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)], area=float(mask.sum()),
                              keypoints=[round(float(v), 2) for v in kp.reshape(-1)],
                              num_keypoints=int((kp[:, 2] > 0).sum())))
    return img, instances


def write_split(out: str, split: str, n: int, rs, rng, size=(128, 128), first_id: int = 1) -> dict[str, str]:
    """Images under ``{split}2017/`` and both annotation files; returns their paths."""
    img_dir = osp.join(out, f'{split}2017')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    images, anns, kpt_anns = [], [], []
    w, h = size
    for i in range(n):
        img_id = first_id + i
        img, instances = make_multi_scene(rs, rng, h, w)
        name = f'{img_id:012d}.jpg'
        write_image(osp.join(img_dir, name), img)
        images.append(dict(id=img_id, file_name=name, height=h, width=w, license=1))
        for inst in instances:
            ann = dict(id=first_id * 100 + len(anns) + 1, image_id=img_id, iscrowd=0, **inst)
            kp = {k: ann.pop(k) for k in ('keypoints', 'num_keypoints') if k in ann}
            anns.append(ann)
            if kp:
                kpt_anns.append(dict(ann, **kp))
    info = dict(description=f'hrvision synthetic multi-task COCO ({split})', version='1.0', year=2026)
    lic = [dict(id=1, name='CC0', url='')]
    paths = {}
    for kind, data in (('instances', dict(info=info, licenses=lic, images=images, annotations=anns,
                                           categories=instance_categories())),
                       ('person_keypoints', dict(info=info, licenses=lic, images=images, annotations=kpt_anns,
                                                 categories=coco_categories()))):
        paths[kind] = osp.join(out, 'annotations', f'{kind}_{split}2017.json')
        with open(paths[kind], 'w', encoding='utf-8') as f:
            json.dump(data, f)
    return paths


def write_synthetic(out: str, *, n_train: int = 64, n_val: int | None = None, size: tuple[int, int] = (128, 128),
                    seed: int = 0) -> dict:
    """Train (``n_train`` images of ``size``, HxW) and val (``n_val``, default max(4, n_train // 4)) splits;
    returns the annotation paths."""
    n = n_train
    if n < 1:
        raise ValueError(f'n_train must be at least 1, got {n}')
    rs, rng = np.random.RandomState(seed), np.random.default_rng(seed)
    n_val = max(4, n // 4) if n_val is None else n_val
    return {'train': write_split(out, 'train', n, rs, rng, size, first_id=1),
            'val': write_split(out, 'val', n_val, rs, rng, size, first_id=100000)}


__all__ = ['write_synthetic', 'make_multi_scene', 'instance_categories', 'PERSON_ID']
