"""Synthetic PoseTrack: short videos of stick figures walking across the picture, in the 2018 format.

Each identity keeps its body (limb lengths and angles from :func:`hrvision.tasks.pose.synth.figure_joints`)
and moves with its own velocity; its arms and legs swing a little each frame. Some people enter late or walk
out of the picture (entries / exits), and a grey bar drifts across some videos (occlusions): joints under it
or outside the picture are not annotated, as in PoseTrack. A few videos carry an ignore region around an
unannotated small figure. The first frame of every video is unlabelled (``is_labeled`` false, no people).
Layout written by :func:`write_synthetic`::

    OUT/images/<split>/<video>/000000.jpg ...
    OUT/annotations/<split>/<video>.json          (PoseTrack 2018: images / annotations / categories)

Videos are named as PoseTrack's (``000001_mpii_train``, ``000009_mpii_test``: :func:`sequence_name`) with
matching image ids (:func:`image_id_of`), so the official evaluator reads the files.
    OUT/annotations/person_keypoints_<split>.json (the labelled frames in one COCO keypoint file)
    OUT/detections/<split>.json                   (COCO results: jittered person boxes, some missed)
"""
from __future__ import annotations

import json
import os
import os.path as osp

import numpy as np

from hrvision.atomic import atomic_write_text
from hrvision.data.io import write_image
from hrvision.errors import InputError
from hrvision.tasks.pose.synth import background, draw_figure, figure_joints

from .formats import Frame, Person, read_dir, to_coco, write_video


def _rot(v: np.ndarray, deg: np.ndarray) -> np.ndarray:
    r = np.radians(deg)
    c, s = np.cos(r), np.sin(r)
    return np.stack([v[..., 0] * c - v[..., 1] * s, v[..., 0] * s + v[..., 1] * c], -1)


def _swing(j: np.ndarray, phase: float) -> np.ndarray:
    """Swing forearms and shins about elbows and knees by a few degrees (a walking cycle)."""
    j = j.copy()
    for parent, child, amp in ((7, 9, 12), (8, 10, -12), (13, 15, 10), (14, 16, -10)):
        j[child] = j[parent] + _rot(j[child] - j[parent], np.array(amp * np.sin(phase)))
    return j


def _to_posetrack(j: np.ndarray, torso: float) -> tuple[np.ndarray, list]:
    """COCO-order figure joints -> the 17 PoseTrack slots (head_bottom / head_top replace the eyes) and the
    head box (x, y, w, h) around the drawn head circle."""
    up = j[0] - (j[11] + j[12]) / 2
    up = up / (np.linalg.norm(up) + 1e-9)
    head_c = (j[3] + j[4]) / 2
    r = max(3, int(0.24 * torso))
    out = j.copy()
    out[1] = (j[5] + j[6]) / 2 + up * 0.12 * torso     # head_bottom: the neck above the shoulders
    out[2] = head_c + up * r                          # head_top: the top of the head circle
    return out, [float(head_c[0] - r), float(head_c[1] - r), float(2 * r), float(2 * r)]


def make_video(rng: np.random.RandomState, n_frames: int = 12, size=(256, 192), max_people: int = 3,
               with_ignore: bool = False):
    """Frames (list of RGB images) and per-frame people (list of (track_id, keypoints (17, 3), bbox, head))."""
    w, h = size
    base = background(rng, h, w)
    n = rng.randint(1, max_people + 1)
    people = []
    for t in range(n):
        torso = rng.uniform(0.16, 0.22) * h
        x0 = (t + 0.5) * w / n + rng.uniform(-0.1, 0.1) * w / n
        hip = np.array([x0, rng.uniform(0.55, 0.62) * h])
        body = figure_joints(rng, hip, torso) - hip
        vx = rng.choice([-1, 1]) * rng.uniform(2.0, 6.0)
        start = rng.randint(1, max(2, n_frames // 2)) if rng.rand() < 0.25 else 0          # enters late
        if rng.rand() < 0.3:                                                         # walks out
            vx = np.sign(vx) * w / max(2, n_frames - 2)
        people.append(dict(body=body, hip=hip, v=np.array([vx, rng.uniform(-0.5, 0.5)]), torso=torso,
                           start=start, phase=rng.uniform(0, 6.28)))
    bar = None
    if rng.rand() < 0.5:
        bar = dict(x=rng.uniform(-0.2, 0.2) * w, v=rng.uniform(4, 10), width=rng.uniform(0.08, 0.15) * w,
                   color=tuple(int(c) for c in rng.randint(80, 180, 3)))
    ignore = None
    if with_ignore:
        ig_torso = 0.05 * h                 # a small unannotated figure at the top edge, above the walkers' heads
        ig_hip = np.array([rng.uniform(0.1, 0.9) * w, 0.08 * h])
        ig_body = figure_joints(rng, ig_hip, ig_torso)
        lo, hi = ig_body.min(0) - 0.3 * ig_torso, ig_body.max(0) + 0.3 * ig_torso
        ignore = (ig_body, ig_torso, np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]]))
    frames, annos = [], []
    for f in range(n_frames):
        img = base.copy()
        if ignore is not None:
            draw_figure(img, ignore[0], ignore[1])
        visible = []
        for tid, p in enumerate(people):
            if f < p['start']:
                continue
            hip = p['hip'] + p['v'] * (f - p['start'])
            j = _swing(p['body'] + hip, p['phase'] + 0.6 * f)
            draw_figure(img, j, p['torso'])
            visible.append((tid, j, p['torso']))
        x_bar = None
        if bar is not None:
            x_bar = bar['x'] + bar['v'] * f
            img[:, max(0, int(x_bar)):max(0, int(x_bar + bar['width']))] = bar['color']
        frame_people = []
        for tid, j, torso in visible:
            kp17, head = _to_posetrack(j, torso)
            out = (kp17[:, 0] < 0) | (kp17[:, 0] > w - 1) | (kp17[:, 1] < 0) | (kp17[:, 1] > h - 1)
            if x_bar is not None:
                out |= (kp17[:, 0] >= x_bar) & (kp17[:, 0] <= x_bar + bar['width'])
            out[3:5] = True                                   # PoseTrack never labels the ears
            if out.sum() > 13:                                # almost gone: not annotated
                continue
            kp = np.concatenate([np.where(out[:, None], 0, kp17), (~out)[:, None].astype(float)], 1)
            lab = kp17[~out]
            pad = 0.2 * torso
            x1, y1 = np.clip(lab.min(0) - pad, 0, None)
            x2, y2 = np.minimum(lab.max(0) + pad, [w - 1, h - 1])
            frame_people.append((tid, kp, [float(x1), float(y1), float(x2 - x1), float(y2 - y1)], head))
        frames.append(img)
        annos.append(frame_people)
    return frames, annos, (ignore[2] if ignore is not None else None)


def sequence_name(index: int, split: str) -> str:
    """PoseTrack's sequence naming, ``NNNNNN_<source>_<split>`` (``000342_mpii_test``), which the official
    evaluator parses: source ``mpii`` (id prefix 1); ``train`` for the training split, ``test`` for the others
    (PoseTrack names its validation sequences ``_test`` too)."""
    if not 0 <= index < 10 ** 6:
        raise InputError(f'PoseTrack sequence index must have at most 6 digits, got {index}')
    return f'{index:06d}_mpii_{"train" if split == "train" else "test"}'


def image_id_of(index: int, frame: int) -> int:
    """PoseTrack 2018 image id of frame ``frame`` of sequence ``index`` (source mpii = 1): ``1 SSSSSS FFFF``."""
    if not 0 <= frame < 10 ** 4:
        raise InputError(f'--frames must be below 10000 (PoseTrack image ids hold 4 frame digits), got {frame + 1}')
    return 1 * 10 ** 10 + index * 10 ** 4 + frame


def write_split(out: str, split: str, n_videos: int, n_frames: int, rng: np.random.RandomState, size,
                miss_prob: float = 0.1, first: int = 0) -> dict:
    """One split: ``n_videos`` videos of ``n_frames`` frames and its detection file; returns counts."""
    ann_dir = osp.join(out, 'annotations', split)
    os.makedirs(ann_dir, exist_ok=True)
    dets, n_people = [], 0
    for v in range(first, first + n_videos):
        name = sequence_name(v + 1, split)
        images, annos, ignore = make_video(rng, n_frames, size, with_ignore=(v % 3 == 2))
        frames = []
        for f, (img, people) in enumerate(zip(images, annos)):
            file_name = f'images/{split}/{name}/{f:06d}.jpg'
            write_image(osp.join(out, file_name), img)
            image_id = image_id_of(v + 1, f)
            labeled = f > 0
            frame = Frame(image_id, file_name, f, labeled, [ignore] if ignore is not None and labeled else [])
            for tid, kp, box, head in people:
                if labeled:
                    frame.people.append(Person(kp, tid, bbox=box, head_box=head))
                    n_people += 1
                if rng.rand() < miss_prob:
                    continue                                   # a missed detection
                x, y, bw, bh = box
                jit = rng.normal(0, 0.04, 4) * [bw, bh, bw, bh]
                dets.append(dict(image_id=image_id, category_id=1, score=float(rng.uniform(0.6, 1.0)),
                                 bbox=[round(float(c), 2) for c in np.array([x, y, bw, bh]) + jit]))
            frames.append(frame)
        write_video(osp.join(ann_dir, f'{name}.json'), name, frames)
    os.makedirs(osp.join(out, 'detections'), exist_ok=True)
    atomic_write_text(osp.join(out, 'detections', f'{split}.json'), json.dumps(dets))
    atomic_write_text(osp.join(out, 'annotations', f'person_keypoints_{split}.json'),   # per-frame COCO view
                      json.dumps(to_coco(read_dir(ann_dir))))
    return {f'{split}_videos': n_videos, f'{split}_people': n_people, f'{split}_detections': len(dets)}


def write_synthetic(out: str, *, n_train: int = 8, n_val: int | None = None, size: tuple[int, int] = (192, 256),
                    seed: int = 0, frames: int = 12) -> dict:
    """Train and val splits (``n_val`` default ``max(2, n_train // 4)``) of ``frames``-frame videos at
    ``size`` = (H, W); returns counts."""
    if not 2 <= frames <= 10 ** 4:
        raise InputError(f'--frames must be 2-10000 (the first frame of every video is unlabelled; PoseTrack image '
                         f'ids hold 4 frame digits), got {frames}')
    rng = np.random.RandomState(seed)
    n_val = max(2, n_train // 4) if n_val is None else n_val
    counts = dict(frames_per_video=frames)
    counts.update(write_split(out, 'train', n_train, frames, rng, (size[1], size[0])))
    counts.update(write_split(out, 'val', n_val, frames, rng, (size[1], size[0]), first=n_train))
    return counts
