"""``hrvision data synth-300w|synth-cofw|synth-aflw``: the cartoon faces of :mod:`.synth` written in the official
formats of 300W, COFW and AFLW (:mod:`.official_datasets`), for tests and demos.

The 68 / 29 / 19 points are picked from the 98 drawn WFLW points (:data:`~.synth.WFLW_TO_68`, :data:`WFLW_TO_29`,
:data:`WFLW_TO_19`), so each preset's flip pairs and NME normaliser hold on the drawings. Faces drawn with the pose
or occlusion attribute go to 300W's challenging part (ibug) and out of AFLW's frontal list.

* 300W: ``images/{lfpw,helen}/{trainset,testset}/``, ``images/afw/``, ``images/ibug/`` and the competition set
  ``images/300W/{01_Indoor,02_Outdoor}/`` with a ``.pts`` beside each image, and the five official CSVs at the top
  (train, valid = common + challenging, valid_common, valid_challenge, test).
* COFW: ``COFW_{train,test}_color.mat`` (``IsTr``/``phisTr``/``bboxesTr`` and ``IsT``/``phisT``/``bboxesT``; every
  fifth image grey, as COFW has some): MATLAB v5 through scipy.io (the version the official loader reads), or
  ``mat_version='7.3'`` (``--mat-version 7.3``): HDF5 through h5py, MATLAB's v7.3 layout (512-byte header, each
  variable transposed, the image cell array as object references); plus the CSV form
  ``face_landmarks_cofw_{train,test}.csv`` with the images under ``images/``.
* AFLW: ``images/``, ``face_landmarks_aflw_{train,test,test_frontal}.csv`` (``box_size``: the square root of the
  face box's area).
"""
from __future__ import annotations

import os.path as osp

import numpy as np

from hrvision.atomic import atomic_write_text
from hrvision.data.io import write_image
from hrvision.data.matfile import write_mat

from .dataset import ATTRIBUTES, center_scale_from_box
from .official_datasets import COFW_KEYS, COFW_POINTS, W300_CSV, W300_FOLDERS
from .synth import WFLW_TO_68, render_face

#: COFW's 29 points from the 98 drawn ones (the names of configs/_base_/datasets/cofw.py)
WFLW_TO_29 = (33, 46, 37, 42, 35, 39, 44, 49, 60, 72, 64, 68, 62, 66, 70, 74, 96, 97, 55, 59, 54, 57, 76, 82, 79, 90,
              94, 85, 16)
#: AFLW's 19 points (configs/_base_/datasets/aflw.py); the mouth centre (16) is the mean of the inner lips' middles
WFLW_TO_19 = (33, 35, 37, 42, 44, 46, 60, 96, 64, 68, 97, 72, 55, 54, 59, 76, (90, 94), 82, 16)
POSE, OCCLUSION = ATTRIBUTES.index('pose'), ATTRIBUTES.index('occlusion')


def pick(pts98: np.ndarray, order) -> np.ndarray:
    """The points of ``order`` (an index, or a tuple of indices averaged) from the 98 drawn ones."""
    return np.stack([pts98[list(i)].mean(0) if isinstance(i, tuple) else pts98[i] for i in order])


def _faces(rng, n: int, size, order, hard: int = 0, attr_prob: float = 0.25):
    """``n`` faces (image RGB, points rounded to 3 decimals, attribute flags); the first ``hard`` have pose or
    occlusion drawn, the others neither."""
    for i in range(n):
        attrs = (rng.random(len(ATTRIBUTES)) < attr_prob).astype(np.int64)
        attrs[[POSE, OCCLUSION]] = 0
        if i < hard:
            attrs[POSE if rng.random() < 0.5 else OCCLUSION] = 1
        hh, ww = int(size[0] * rng.uniform(0.9, 1.2)), int(size[1] * rng.uniform(0.9, 1.2))
        img, pts = render_face(rng, (hh, ww), attrs)
        yield img, np.round(pick(pts, order), 3), attrs


def _csv_line(name: str, pts: np.ndarray, box_size: float | None = None) -> str:
    center, scale = center_scale_from_box(*pts.min(0), *pts.max(0))
    lead = [name, f'{scale:.6f}'] + ([f'{box_size:.6f}'] if box_size is not None else []) + \
        [f'{center[0]:.6f}', f'{center[1]:.6f}']
    return ','.join(lead + [f'{v:.3f}' for v in pts.reshape(-1)]) + '\n'


def _csv_header(k: int, box: bool = False) -> str:
    return ('image_name,scale,' + ('box_size,' if box else '') + 'center_w,center_h,'
            + ','.join(f'original_{i}_{a}' for i in range(k) for a in 'xy') + '\n')


def pts_text(pts: np.ndarray) -> str:
    """A 300W ``.pts`` file's text."""
    return (f'version: 1\nn_points:  {len(pts)}\n{{\n' + ''.join(f'{x:.3f} {y:.3f}\n' for x, y in pts) + '}\n')


def _split_val(n_val: int) -> tuple[int, int]:
    hard = max(1, n_val // 4)
    return n_val - hard, hard


def _default_val(n_train: int, n_val: int | None) -> int:
    return n_val if n_val is not None else max(4, n_train // 4)


def write_300w(out: str, *, n_train: int = 64, n_val: int | None = None, size=(160, 160), seed: int = 0) -> dict:
    """300W in the release layout (``.pts`` beside the images) and the official CSVs (module docstring); the
    competition set (``test``) has ``max(2, n_val // 2)`` faces."""
    n_val = _default_val(n_train, n_val)
    if n_val < 2:
        raise ValueError('synth-300w needs --n-val >= 2 (a common and a challenging face)')
    rng = np.random.default_rng(seed)
    n_common, n_hard = _split_val(n_val)
    lines = {s: [_csv_header(68)] for s in W300_CSV}
    n_test = max(2, n_val // 2)
    for part, n, hard in (('train', n_train, n_train // 4), ('common', n_common, 0), ('challenging', n_hard, n_hard),
                          ('test', n_test, n_test // 2)):
        folders = W300_FOLDERS[part]
        for i, (img, pts, _) in enumerate(_faces(rng, n, size, WFLW_TO_68, hard)):
            rel = f'{folders[i % len(folders)]}/{part}_{i:05d}.jpg'
            write_image(osp.join(out, 'images', rel), img)
            atomic_write_text(osp.join(out, 'images', osp.splitext(rel)[0] + '.pts'), pts_text(pts))
            lines[part].append(_csv_line(rel, pts))
    lines['full'] = lines['full'] + lines['common'][1:] + lines['challenging'][1:]
    for s, name in W300_CSV.items():
        atomic_write_text(osp.join(out, name), ''.join(lines[s]))
    return dict(train=n_train, common=n_common, challenging=n_hard, full=n_val, test=n_test, landmarks=68)


def write_cofw(out: str, *, n_train: int = 64, n_val: int | None = None, size=(160, 160), seed: int = 0,
               mat_version: str = '5') -> dict:
    """``COFW_{train,test}_color.mat`` (v5, or v7.3 through h5py) and the CSV form (module docstring)."""
    if mat_version not in ('5', '7.3'):
        raise ValueError(f"mat_version must be '5' or '7.3', got {mat_version!r}")
    n_val = _default_val(n_train, n_val)
    rng = np.random.default_rng(seed)
    for split, n in (('train', n_train), ('test', n_val)):
        images = np.empty((n, 1), dtype=object)
        phis = np.zeros((n, 3 * COFW_POINTS))
        boxes = np.zeros((n, 4))
        lines = [_csv_header(COFW_POINTS)]
        for i, (img, pts, attrs) in enumerate(_faces(rng, n, size, WFLW_TO_29, n // 4)):
            if i % 5 == 4:   # a grey image (2-D in the .mat)
                img = np.round(img.astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.uint8)
            images[i, 0] = img
            occluded = (rng.random(COFW_POINTS) < (0.3 if attrs[OCCLUSION] else 0.05)).astype(np.float64)
            phis[i] = np.concatenate([pts[:, 0], pts[:, 1], occluded])
            lo, hi = pts.min(0), pts.max(0)
            boxes[i] = np.round([lo[0] - 3, lo[1] - 3, hi[0] - lo[0] + 6, hi[1] - lo[1] + 6])
            rel = f'{split}/{split}_{i + 1:04d}.jpg'
            write_image(osp.join(out, 'images', rel), img if img.ndim == 3 else np.repeat(img[..., None], 3, 2))
            lines.append(_csv_line(rel, pts))
        img_key, phis_key, box_key = COFW_KEYS[split]
        write_mat(osp.join(out, f'COFW_{split}_color.mat'), {img_key: images, phis_key: phis, box_key: boxes},
                  'COFW .mat file', mat_version, compress=True)
        atomic_write_text(osp.join(out, f'face_landmarks_cofw_{split}.csv'), ''.join(lines))
    return dict(train=n_train, test=n_val, landmarks=COFW_POINTS, mat_version=mat_version)


def write_aflw(out: str, *, n_train: int = 64, n_val: int | None = None, size=(160, 160), seed: int = 0) -> dict:
    """AFLW's images and its three CSVs with ``box_size`` (module docstring)."""
    n_val = _default_val(n_train, n_val)
    if n_val < 2:
        raise ValueError('synth-aflw needs --n-val >= 2 (a frontal and a non-frontal face)')
    rng = np.random.default_rng(seed)
    counts = {}
    csv = {'train': [_csv_header(19, True)], 'test': [_csv_header(19, True)], 'test_frontal': [_csv_header(19, True)]}
    for split, n, hard in (('train', n_train, n_train // 4), ('test', n_val, _split_val(n_val)[1])):
        for i, (img, pts, attrs) in enumerate(_faces(rng, n, size, WFLW_TO_19, hard)):
            rel = f'{split}/{split}_{i:05d}.jpg'
            write_image(osp.join(out, 'images', rel), img)
            lo, hi = pts.min(0) - 2.0, pts.max(0) + 2.0
            line = _csv_line(rel, pts, box_size=float(np.sqrt(np.prod(hi - lo))))
            csv[split].append(line)
            if split == 'test' and not attrs[POSE]:
                csv['test_frontal'].append(line)
        counts[split] = n
    for name, lines in csv.items():
        atomic_write_text(osp.join(out, f'face_landmarks_aflw_{name}.csv'), ''.join(lines))
    counts.update(frontal=len(csv['test_frontal']) - 1, landmarks=19)
    return counts
