"""MPII Human Pose as top-down crops, read from the official pose repo's annotation JSON (SPEC §2.1 "MPII").

Layout (deep-high-resolution-net.pytorch ``data/mpii``)::

    annot/{train,valid,test}.json   a list of entries {image, center, scale, joints, joints_vis}
    annot/gt_valid.mat              the official evaluation's ground truth (MPIIPoseMetric, tasks/pose/mpii_metric.py)
    images/*.jpg

Semantics of an entry, as the official ``lib/dataset/mpii.py`` reads it (the facts, stated once here):

* ``center`` [x, y] and ``joints`` [[x, y] x 16] are MATLAB 1-based pixels; ``scale`` is the person's height / 200
  (one number, the box is square: ``scale`` becomes ``[scale, scale]``).
* "to avoid cropping limbs": when ``center[0] != -1``, ``center_y += 15 * scale`` and then ``scale *= 1.25`` (the
  shift uses the scale before the enlargement); an entry with ``center[0] == -1`` keeps both as they are.
* Then 1-based -> 0-based: ``center -= 1`` (always, after the adjustment) and ``joints -= 1``.
* ``joints_vis`` (16 flags 0/1) is the joints' visibility and training weight; a joint with flag 0 is ignored
  (its coordinates, often -1, are not read).
* The test split's entries carry no ``joints`` / ``joints_vis`` (its labels are not public): such a file is read as
  unlabelled; it cannot be trained on or scored, only predicted (``MPIIPoseMetric(format_only=True)`` writes
  ``pred.mat`` for the MPII server).

Every entry is kept, in file order (the official evaluation matches predictions to ``gt_valid.mat`` by position):
the sample's ``id`` is the entry's index in the list, ``img_id`` the index of its image among the file's distinct
image names (entries of one image share it).
"""
from __future__ import annotations

import os.path as osp
from typing import Sequence

import numpy as np
from mmengine.logging import print_log

from hrvision.data.coco import is_number, read_json
from hrvision.data.keypoints import PIXEL_STD
from hrvision.errors import ConfigError, DataError
from hrvision.registry import DATASETS

from .dataset import CocoKeypointDataset

#: the official reader's adjustments (lib/dataset/mpii.py)
CENTER_SHIFT = 15.0   # center_y += 15 * scale
SCALE_PAD = 1.25      # scale *= 1.25
#: arguments of the COCO reader that have no meaning for MPII (crops come from each entry's center/scale)
COCO_ONLY = ('bbox_file', 'score_thr', 'padding', 'input_size')


def official_center_scale(center: Sequence[float], scale: float) -> tuple[np.ndarray, np.ndarray]:
    """An entry's 1-based ``center`` and ``scale`` -> the 0-based crop center (2,) and scale (2,) the official reader
    uses (module docstring)."""
    c = np.asarray(center, np.float64).copy()
    s = np.array([scale, scale], np.float64)
    if c[0] != -1:
        c[1] = c[1] + CENTER_SHIFT * s[1]
        s = s * SCALE_PAD
    return (c - 1).astype(np.float32), s.astype(np.float32)


def check_entry(a, i: int, path: str, k: int, labelled: bool | None) -> bool:
    """One entry of an MPII annotation list: ``DataError`` naming the file, the entry and the field; returns
    whether it carries labels (``joints``)."""
    where = f'entry [{i}]'
    if not isinstance(a, dict):
        raise DataError(f'{path}: {where} must be an object with "image", "center", "scale" (and "joints", '
                        f'"joints_vis" outside the test split); got {type(a).__name__}')
    name = a.get('image')
    if not isinstance(name, str) or not name:
        raise DataError(f'{path}: {where} field "image" must be an image file name (in images/); got {name!r:.80}')
    where = f'entry [{i}] ({name})'
    c = a.get('center')
    if not isinstance(c, (list, tuple)) or len(c) != 2 or not all(is_number(v) for v in c):
        raise DataError(f'{path}: {where} field "center" must be [x, y] (1-based pixels); got {str(c)[:80]}')
    s = a.get('scale')
    if not is_number(s) or s <= 0:
        raise DataError(f'{path}: {where} field "scale" must be a positive number (person height / 200); '
                        f'got {s!r:.80}')
    has = 'joints' in a
    if has and 'joints_vis' not in a:
        raise DataError(f'{path}: {where} has "joints" but no "joints_vis" (the official reader needs both: '
                        f'{k} visibility flags 0/1)')
    if not has and 'joints_vis' in a:
        raise DataError(f'{path}: {where} has "joints_vis" but no "joints" ({k} [x, y] pairs, 1-based)')
    if labelled is not None and has != labelled:
        raise DataError(f'{path}: {where} {"has" if has else "lacks"} "joints" while the entries before it '
                        f'{"do not" if has else "do"}; a file is either labelled (train/valid) or not (test)')
    if has:
        j, v = a['joints'], a['joints_vis']
        if (not isinstance(j, list) or len(j) != k or not all(
                isinstance(p, (list, tuple)) and len(p) == 2 and all(is_number(x) for x in p) for p in j)):
            got = f'{len(j)} items' if isinstance(j, list) else type(j).__name__
            raise DataError(f'{path}: {where} field "joints" must be {k} [x, y] pairs (1-based pixels, MPII order); '
                            f'got {got}: {str(j)[:60]}')
        if not isinstance(v, list) or len(v) != k or not all(is_number(x) and x in (0, 1) for x in v):
            got = f'{len(v)} items' if isinstance(v, list) else type(v).__name__
            raise DataError(f'{path}: {where} field "joints_vis" must be {k} flags 0/1; got {got}: {str(v)[:60]}')
    return has


@DATASETS.register_module()
class MPIIPoseDataset(CocoKeypointDataset):
    """Args:
        ann_file: ``annot/train.json``, ``annot/valid.json`` or ``annot/test.json`` (relative to ``data_root``).
        data_prefix: ``dict(img='images/')``: the image folder (relative to ``data_root``).
        num_keypoints: derived from the metadata (16); a stated value must agree.
        metainfo: the config's metadata on top of the MPII preset (``configs/_base_/datasets/mpii.py``).
        test_mode: evaluation dataset (mmengine flag); an unlabelled file (the test split) needs it.

    The COCO reader's ``bbox_file`` / ``score_thr`` / ``padding`` / ``input_size`` are refused: MPII crops come
    from each entry's center and scale (square, as officially). The metadata gains ``ann_file``,
    ``mpii_entries`` (the file's entry count, which ``gt_valid.mat`` must match) and ``mpii_labelled``.
    """

    METAINFO = dict(from_file='_base_/datasets/mpii.py')

    def __init__(self, ann_file: str, data_root: str = '', data_prefix: dict | None = None,
                 num_keypoints: int | None = None, pipeline=(), test_mode: bool = False, **kwargs) -> None:
        for key in COCO_ONLY:
            if key in kwargs:
                raise ConfigError(f'{type(self).__name__}: {key} is an argument of the COCO reader; MPII crops come '
                                  'from each entry\'s center and scale (leave it out)')
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix or dict(img='images/'),
                         num_keypoints=num_keypoints, pipeline=pipeline, test_mode=test_mode, **kwargs)

    def load_data_list(self) -> list[dict]:
        path, name = self.ann_file, type(self).__name__
        entries = read_json(path, 'MPII annotation file')
        if not isinstance(entries, list):
            raise DataError(f'{path}: an MPII annotation file is a JSON list of entries {{image, center, scale, '
                            f'joints, joints_vis}}; got {type(entries).__name__}')
        if not entries:
            raise DataError(f'{path}: the MPII annotation list is empty; an empty dataset cannot be trained or '
                            'evaluated')
        k = self._resolve_metainfo([])   # the COCO reader's rule: preset < config (an MPII file names no keypoints)
        labelled = None
        for i, a in enumerate(entries):
            labelled = check_entry(a, i, path, k, labelled)
        if not labelled and not self.test_mode:
            raise ConfigError(f'{name}: {path} has no "joints" (the MPII test split: its labels are not public); it '
                              'cannot be trained on: use it as test_dataloader (test_mode=True) with '
                              'test_evaluator.format_only=True to write pred.mat')
        self._metainfo.update(ann_file=path, mpii_entries=len(entries), mpii_labelled=bool(labelled))
        images: dict[str, int] = {}
        data = []
        for i, a in enumerate(entries):
            img_id = images.setdefault(a['image'], len(images))
            center, scale = official_center_scale(a['center'], float(a['scale']))
            if labelled:
                kp = np.asarray(a['joints'], np.float64) - 1.0
                vis = np.asarray(a['joints_vis'], np.float32)
            else:
                kp, vis = np.zeros((k, 2)), np.zeros(k, np.float32)
            data.append(dict(img_path=osp.join(self.data_prefix.get('img', ''), a['image']), img_id=img_id, id=i,
                             center=center, scale=scale, keypoints=kp, keypoints_visible=vis, bbox_score=1.0,
                             area=float(np.prod(scale * PIXEL_STD))))
        print_log(f'{osp.basename(path)}: {len(data)} MPII entries on {len(images)} images'
                  f'{"" if labelled else " (unlabelled: test split)"}', logger='current')
        return data


__all__ = ['MPIIPoseDataset', 'official_center_scale', 'check_entry', 'CENTER_SHIFT', 'SCALE_PAD']
