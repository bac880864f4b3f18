"""LIP (Look Into Person) human parsing, 20 classes, in the layout of the LIP release (``TrainVal_images.zip`` /
``TrainVal_parsing_annotations.zip`` unpacked into one folder)::

    <root>/train_images/<id>.jpg           <root>/val_images/<id>.jpg
    <root>/train_segmentations/<id>.png    <root>/val_segmentations/<id>.png     index PNGs 0..19 (0 = background)
    <root>/train_id.txt                    <root>/val_id.txt                     one <id> a line

The release's nesting (``TrainVal_images/{train,val}_images``, ``TrainVal_parsing_annotations/{train,val}_
segmentations``, the id files beside the image folders) is found too. The official HRNet repo's list files
(``data/list/lip/{trainList,valList}.txt``: ``train_images/<id>.jpg train_segmentations/<id>.png`` a line, relative
to ``TrainVal_images/`` and ``TrainVal_parsing_annotations/``) are read when ``split`` is such a file (its path
relative to ``data_root``, e.g. ``data_root='data/lip', split='../list/lip/trainList.txt'``).

The left/right classes (left-arm / right-arm, left-leg / right-leg, left-shoe / right-shoe: 14/15, 16/17, 18/19)
swap under a horizontal flip: paired from the preset's class names (``configs/_base_/datasets/lip.py``;
``flip_class_indices`` of :mod:`hrvision.data.metainfo`), read by the flip augmentation and the flip test.

Official protocol (HRNet ``lib/datasets/lip.py``): image and label are resized to 473x473 (ratio not kept) before
the scale / crop / flip augmentation; at test the image is resized to 473x473 and the prediction upsampled to the
label's size (``SegmentationResize`` in ``transforms.py``).
"""
from __future__ import annotations

import os.path as osp

import cv2
import numpy as np

from hrvision.cli_args import synth_command
from hrvision.data.io import write_image
from hrvision.registry import DATASETS

from .folder import SegmentationFolderDataset
from .pascal_context import split_list

PRESET = '_base_/datasets/lip.py'
NESTED = ('TrainVal_images', 'TrainVal_parsing_annotations')


@DATASETS.register_module()
class LIPDataset(SegmentationFolderDataset):
    """LIP, 20 classes (see the module docstring).

    Args:
        data_root: the folder holding ``<split>_images/``, ``<split>_segmentations/`` and ``<split>_id.txt`` (or the
            release's ``TrainVal_images/`` and ``TrainVal_parsing_annotations/``).
        split: 'train' or 'val', or a list file (``*.txt``: the official repo's image / label pairs, or ids with
            ``data_prefix`` given).
        data_prefix: the image / mask folders; by default found from ``split`` as above (a list file:
            ``TrainVal_images`` / ``TrainVal_parsing_annotations``).
        Other arguments: :class:`~.folder.SegmentationFolderDataset`.
    """

    METAINFO = dict(from_file=PRESET)

    def __init__(self, data_root: str = '', split: str = 'train', data_prefix: dict | None = None,
                 img_suffix: str = '.jpg', seg_map_suffix: str = '.png', **kwargs) -> None:
        if split.endswith('.txt'):   # the official repo's pair lists: paths below the release's two folders
            prefix = dict(img=NESTED[0], seg=NESTED[1])
            lst = split_list(data_root, split, split, 'LIP')
        else:
            flat = osp.isdir(osp.join(data_root or '', f'{split}_images'))
            nested = not flat and osp.isdir(osp.join(data_root or '', NESTED[0], f'{split}_images'))
            prefix = (dict(img=f'{NESTED[0]}/{split}_images', seg=f'{NESTED[1]}/{split}_segmentations') if nested
                      else dict(img=f'{split}_images', seg=f'{split}_segmentations'))
            lst = split_list(data_root, split, f'{NESTED[0]}/{split}_id.txt' if nested else f'{split}_id.txt', 'LIP')
        prefix.update(data_prefix or {})
        kwargs.setdefault('mask_format', 'index')
        super().__init__(data_root=data_root, data_prefix=prefix, img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix, split=lst, **kwargs)


# ---- synthetic people in the exact layout -----------------------------------------------------------------------
# class ids of the preset (configs/_base_/datasets/lip.py), by name
def _ids() -> dict:
    from hrvision.data.metainfo import parse_metainfo
    return {n: i for i, n in enumerate(parse_metainfo(dict(from_file=PRESET), 'the LIP preset')['classes'])}


def render_person(h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A front-facing figure: (RGB uint8, class ids uint8). The person's left limbs are on the image's right, as in
    a photo; the two sides look alike (a model tells them apart by where they are), so a flip that did not swap
    left and right labels would teach it contradictions."""
    ids = _ids()
    look = np.random.default_rng(5).integers(30, 240, (len(ids), 3)).astype(np.float32)
    lab = np.zeros((h, w), np.uint8)
    cx = w * rng.uniform(0.4, 0.6)
    u = min(h / 10.0, w / 6.0) * rng.uniform(0.85, 1.0)
    top = h * 0.05

    def fill(name, draw):
        m = np.zeros((h, w), np.uint8)
        draw(m)
        lab[m.astype(bool)] = ids[name]

    def rect(name, x0, y0, x1, y1):
        fill(name, lambda m: cv2.rectangle(m, (int(x0), int(y0)), (int(x1), int(y1)), 1, -1))

    fill('face', lambda m: cv2.ellipse(m, (int(cx), int(top + 1.1 * u)), (int(0.7 * u), int(0.9 * u)), 0, 0, 360,
                                       1, -1))
    rect('hair', cx - 0.75 * u, top + 0.1 * u, cx + 0.75 * u, top + 0.5 * u)
    if rng.random() < 0.5:
        rect('hat', cx - 0.8 * u, top - 0.2 * u, cx + 0.8 * u, top + 0.2 * u)
    y_sh, y_hip = top + 2.1 * u, top + 5.2 * u
    rect('upper-clothes', cx - 1.2 * u, y_sh, cx + 1.2 * u, y_hip)
    for side, sgn in (('right', -1), ('left', 1)):   # the person's right arm on the image's left
        x_in, x_out = cx + sgn * 1.25 * u, cx + sgn * 1.9 * u
        rect(f'{side}-arm', min(x_in, x_out), y_sh + 0.2 * u, max(x_in, x_out), y_hip + rng.uniform(-0.5, 0.3) * u)
    rect('pants', cx - 1.1 * u, y_hip, cx + 1.1 * u, y_hip + 1.2 * u)
    y_foot = min(h - 1 - 0.6 * u, y_hip + 4.0 * u)
    for side, sgn in (('right', -1), ('left', 1)):
        x0, x1 = sorted((cx + sgn * 0.15 * u, cx + sgn * 1.05 * u))
        rect(f'{side}-leg', x0, y_hip + 1.2 * u, x1, y_foot)
        rect(f'{side}-shoe', x0 - 0.1 * u, y_foot, x1 + 0.1 * u, y_foot + 0.6 * u)
    img = look[lab] + rng.normal(0, 6, (h, w, 3))
    img *= np.linspace(0.9, 1.1, h)[:, None, None]
    return np.clip(img, 0, 255).astype(np.uint8), lab


def write_lip(out: str, *, n_train: int = 8, n_val: int = 4, size: tuple[int, int] = (80, 64),
              seed: int = 0) -> dict:
    """Synthetic LIP in the release's flat layout (``{train,val}_images/``, ``{train,val}_segmentations/``,
    ``{train,val}_id.txt``)."""
    from hrvision.atomic import atomic_write_text
    rng = np.random.default_rng(seed)
    h, w = size
    for split, n in (('train', n_train), ('val', n_val)):
        ids = []
        for i in range(n):
            stem = f'{100 + i}_{rng.integers(100000, 999999)}'
            img, lab = render_person(h, w, rng)
            write_image(osp.join(out, f'{split}_images', stem + '.jpg'), img)
            write_image(osp.join(out, f'{split}_segmentations', stem + '.png'), lab)
            ids.append(stem)
        atomic_write_text(osp.join(out, f'{split}_id.txt'), ''.join(f'{s}\n' for s in ids), 'id list')
    return dict(train=n_train, val=n_val, layout='{train,val}_images/, {train,val}_segmentations/, {train,val}_id.txt')


synth_command('synth-lip', 'synthetic people in the LIP layout (20 parsing classes, left/right limbs)', write_lip,
              n_train=8, n_val=4, size=(80, 64), n_train_aliases=('--n',),
              what='{train,val}_images/, {train,val}_segmentations/, {train,val}_id.txt', size_help='HxW')
