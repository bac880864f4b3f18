"""Synthetic people in the exact layout of the official pose repo's MPII data (``hrvision data synth-mpii``).

The stick figures of :mod:`hrvision.tasks.pose.synth` (one to two per picture, so entries outnumber images), their
16 MPII joints read off the figure: the COCO limbs, pelvis = the hips' mean, thorax = the shoulders' mean, upper
neck / head top = the bottom / top of the drawn head. Written as::

    OUT/images/000000001.jpg ...                       all splits' pictures
    OUT/annot/{train,valid,test}.json                  entries {image, center, scale, joints, joints_vis}
                                                       (test: {image, center, scale} only)
    OUT/annot/gt_valid.mat                             dataset_joints, jnt_missing, pos_gt_src, headboxes_src

Coordinates are 1-based (MATLAB) like the real files; a joint outside the picture has ``joints_vis`` 0 and
coordinates [-1, -1] in the JSON (``jnt_missing`` 1 in the .mat). ``center`` / ``scale`` are stored so that the
official reader's adjustment (``center_y += 15 * scale``, ``scale *= 1.25``, see :mod:`.mpii`) lands on the
figure's box centre with a margin; the head box is the drawn head's square.
"""
from __future__ import annotations

import json
import os
import os.path as osp

import numpy as np

from hrvision.atomic import atomic_write_text
from hrvision.data.io import write_image
from hrvision.data.matfile import write_mat

from .mpii import CENTER_SHIFT
from .mpii_metric import MAT_JOINTS
from .synth import background, draw_figure, figure_joints

# MPII joint -> the COCO joints of a figure it is read from (an index, or the mean of two)
FROM_COCO = {0: 16, 1: 14, 2: 12, 3: 11, 4: 13, 5: 15, 6: (11, 12), 7: (5, 6), 10: 10, 11: 8, 12: 6, 13: 5,
             14: 7, 15: 9}
HEAD_RADIUS = 0.24   # of the torso length: the head circle synth.draw_figure paints (centre 0.42 torso above the neck)


def mpii_joints(j17: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(17, 2) figure joints -> (16, 2) MPII joints (0-based pixels) and the head box [[x1, y1], [x2, y2]]."""
    out = np.zeros((16, 2))
    for m, src in FROM_COCO.items():
        out[m] = j17[list(src)].mean(0) if isinstance(src, tuple) else j17[src]
    neck, hip = out[7], out[6]
    torso = float(np.linalg.norm(neck - hip))
    up = (neck - hip) / max(torso, 1e-6)
    head = neck + up * 0.42 * torso
    r = HEAD_RADIUS * torso
    out[8], out[9] = head - up * r, head + up * r
    return out, np.array([head - r, head + r])


def _entry(rng: np.random.RandomState, img: np.ndarray, name: str, w: int, h: int, n_people: int, slot: int):
    torso = rng.uniform(0.16, 0.24) * h
    x = (slot + 0.5) * w / n_people + rng.uniform(-0.1, 0.1) * w / n_people
    j17 = figure_joints(rng, np.array([x, rng.uniform(0.5, 0.6) * h]), torso)
    draw_figure(img, j17, torso)
    joints, headbox = mpii_joints(j17)
    inside = (joints[:, 0] >= 0) & (joints[:, 0] <= w - 1) & (joints[:, 1] >= 0) & (joints[:, 1] <= h - 1)
    lo, hi = joints.min(0), joints.max(0)
    scale = float(max(hi - lo) * 1.1 / 200.0)
    cx, cy = (lo + hi) / 2 + 1.0                                    # 1-based
    center = [round(float(cx), 2), round(float(cy - CENTER_SHIFT * scale), 2)]   # the reader adds 15 * scale back
    pos = np.where(inside[:, None], np.round(joints + 1.0, 2), -1.0)
    return dict(image=name, center=center, scale=round(scale, 4), joints=pos.tolist(),
                joints_vis=[int(v) for v in inside]), headbox + 1.0


def _split(out: str, rng: np.random.RandomState, n: int, first: int, size: tuple[int, int]):
    h, w = size
    entries, boxes = [], []
    for i in range(n):
        name = f'{first + i:09d}.jpg'
        img = background(rng, h, w)
        people = rng.randint(1, 3)
        for slot in rng.permutation(people):
            e, box = _entry(rng, img, name, w, h, people, int(slot))
            entries.append(e)
            boxes.append(box)
        write_image(osp.join(out, 'images', name), img)
    return entries, boxes


def write_gt_mat(path: str, entries: list[dict], headboxes: list) -> None:
    """The official evaluation's ground truth for ``entries`` (1-based): ``dataset_joints`` (1x16 cell),
    ``jnt_missing`` (16, N), ``pos_gt_src`` (16, 2, N), ``headboxes_src`` (2, 2, N); complete or not at all."""
    names = np.empty((1, len(MAT_JOINTS)), dtype=object)
    names[0, :] = MAT_JOINTS
    joints = np.stack([np.asarray(e['joints'], np.float64) for e in entries])         # (N, 16, 2)
    vis = np.stack([np.asarray(e['joints_vis'], np.float64) for e in entries])        # (N, 16)
    data = dict(dataset_joints=names, jnt_missing=(1.0 - vis).T, pos_gt_src=np.transpose(joints, (1, 2, 0)),
                headboxes_src=np.transpose(np.asarray(headboxes, np.float64), (1, 2, 0)))
    write_mat(path, data, 'MPII ground truth')


def write_mpii_synthetic(out: str, *, n_train: int = 32, n_val: int | None = None, size: tuple[int, int] = (160, 160),
                         seed: int = 0) -> dict:
    """Write train / valid / test splits (``n_val`` pictures each for valid and test, default ``max(4, n_train //
    4)``) of ``size`` (HxW) in the official MPII layout; returns the counts."""
    if n_train < 1:
        raise ValueError(f'n_train must be at least 1, got {n_train}')
    n_val = max(4, n_train // 4) if n_val is None else n_val
    rng = np.random.RandomState(seed)
    os.makedirs(osp.join(out, 'annot'), exist_ok=True)
    train, _ = _split(out, rng, n_train, 1, size)
    valid, boxes = _split(out, rng, n_val, 100001, size)
    test, _ = _split(out, rng, n_val, 200001, size)
    test = [dict(image=e['image'], center=e['center'], scale=e['scale']) for e in test]   # no public labels
    for name, entries in (('train', train), ('valid', valid), ('test', test)):
        atomic_write_text(osp.join(out, 'annot', f'{name}.json'), json.dumps(entries), 'MPII annotation file')
    write_gt_mat(osp.join(out, 'annot', 'gt_valid.mat'), valid, boxes)
    return dict(train_images=n_train, train_entries=len(train), valid_images=n_val, valid_entries=len(valid),
                test_images=n_val, test_entries=len(test))


__all__ = ['write_mpii_synthetic', 'write_gt_mat', 'mpii_joints']
