"""WFLW in its official release layout, and the official HRNet CSV annotation form.

Release layout (``data_root``)::

    WFLW_images/<event>/<name>.jpg
    WFLW_annotations/list_98pt_rect_attr_train_test/list_98pt_rect_attr_{train,test}.txt
    WFLW_annotations/list_98pt_test/list_98pt_test_{largepose,expression,illumination,makeup,occlusion,blur}.txt

Each list line has 207 space-separated fields: 196 landmark coordinates (x0 y0 ... x97 y97),
the detection rectangle (x_min y_min x_max y_max), 6 attribute flags (pose, expression,
illumination, make-up, occlusion, blur) and the image path under ``WFLW_images/``.

HRNet CSV form (``face_landmarks_wflw_{train,test}.csv``): ``image_name, scale, center_w,
center_h, x0, y0, ...`` (AFLW adds ``box_size`` after ``scale``), one header line.

Crop box (``center``, ``scale``): the official CSVs were made from the *landmarks' bounding box*
(HRNet-Facial-Landmark-Detection issues #3/#10): ``center = ((x_min+x_max)/2, (y_min+y_max)/2)``,
``scale = max(w, h) / 200``. We derive them the same way from the release lists (``box='landmarks'``,
default) or from the detection rectangle (``box='rect'``). As the official loader does, the stored
``scale`` is multiplied by 1.25 when read (CSV and lists alike), so ``data_info['scale']`` is the
crop scale used by the transforms and the decoding.
"""
from __future__ import annotations

import csv
import io
import os
import os.path as osp
from typing import Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from hrvision.data.checks import require_samples
from hrvision.data.io import read_text
from hrvision.data.pipeline import build_pipeline
from hrvision.errors import DataError, MissingFileError
from hrvision.registry import DATASETS

NUM_WFLW = 98
SCALE_PAD = 1.25
ATTRIBUTES = ('pose', 'expression', 'illumination', 'makeup', 'occlusion', 'blur')
SUBSETS = ('largepose', 'expression', 'illumination', 'makeup', 'occlusion', 'blur')
LIST_DIR = osp.join('WFLW_annotations', 'list_98pt_rect_attr_train_test')
SUBSET_DIR = osp.join('WFLW_annotations', 'list_98pt_test')
IMAGE_DIR = 'WFLW_images'


def list_file(split: str) -> str:
    return osp.join(LIST_DIR, f'list_98pt_rect_attr_{split}.txt')


def subset_file(subset: str) -> str:
    if subset not in SUBSETS:
        raise DataError(f'unknown WFLW subset {subset!r}; expected one of {SUBSETS}')
    return osp.join(SUBSET_DIR, f'list_98pt_test_{subset}.txt')


def center_scale_from_box(x_min: float, y_min: float, x_max: float, y_max: float) -> tuple[np.ndarray, float]:
    """Official CSV convention: box centre, ``max(w, h) / 200`` (before the x1.25 padding)."""
    center = np.array([(x_min + x_max) / 2.0, (y_min + y_max) / 2.0], np.float64)
    return center, max(x_max - x_min, y_max - y_min) / 200.0


def _floats(fields: Sequence[str], where: str, what: str) -> np.ndarray:
    try:
        return np.array([float(f) for f in fields], np.float64)
    except ValueError as e:
        raise DataError(f'{where}: {what} must be numbers ({e})') from None


def parse_wflw_line(line: str, where: str, num_landmarks: int = NUM_WFLW, box: str = 'landmarks') -> dict:
    """One release-list line -> ``keypoints, rect, attributes, img_rel, center, scale`` (scale x1.25)."""
    fields = line.split()
    want = 2 * num_landmarks + 4 + len(ATTRIBUTES) + 1
    if len(fields) != want:
        raise DataError(f'{where}: expected {want} fields ({2 * num_landmarks} landmark coordinates, 4 box '
                         f'values, {len(ATTRIBUTES)} attribute flags, image path), got {len(fields)}')
    n = 2 * num_landmarks
    pts = _floats(fields[:n], where, 'landmark coordinates').reshape(num_landmarks, 2)
    rect = _floats(fields[n:n + 4], where, 'box values (x_min y_min x_max y_max)')
    attrs = _floats(fields[n + 4:n + 10], where, 'attribute flags')
    if not np.all(np.isin(attrs, (0, 1))):
        raise DataError(f'{where}: attribute flags must be 0 or 1, got {attrs.astype(int).tolist()}')
    if not (np.all(np.isfinite(pts)) and np.all(np.isfinite(rect))):
        raise DataError(f'{where}: landmark coordinates and box values must be finite')
    if rect[2] < rect[0] or rect[3] < rect[1]:
        raise DataError(f'{where}: box values (x_min y_min x_max y_max) have x_max < x_min or y_max < y_min: '
                        f'{rect.tolist()}')
    if box == 'landmarks':
        center, scale = center_scale_from_box(*pts.min(0), *pts.max(0))
    elif box == 'rect':
        center, scale = center_scale_from_box(*rect)
    else:
        raise DataError(f"box must be 'landmarks' or 'rect', got {box!r}")
    if scale <= 0:
        raise DataError(f'{where}: the face box has zero size (all landmarks/box corners coincide)')
    return dict(keypoints=pts.astype(np.float32), rect=rect.astype(np.float32), attributes=attrs.astype(np.int64),
                img_rel=fields[-1], center=center, scale=scale * SCALE_PAD)


def read_wflw_list(path: str, num_landmarks: int = NUM_WFLW, box: str = 'landmarks') -> list[dict]:
    out = []
    for i, line in enumerate(read_text(path, 'WFLW annotation list').splitlines(), 1):
        if line.strip():
            out.append(parse_wflw_line(line, f'{path}, line {i}', num_landmarks, box))
    if not out:
        raise DataError(f'{path}: no annotations (empty file)')
    return out


def read_hrnet_csv(path: str, num_landmarks: int = NUM_WFLW) -> list[dict]:
    """Official HRNet CSV: image, scale, [box_size,] center_w, center_h, 2K coordinates (scale x1.25)."""
    out = []
    rows = list(csv.reader(io.StringIO(read_text(path, 'HRNet CSV annotation'), newline='')))
    has_box = False
    start = 0
    if rows and rows[0] and not _is_number(rows[0][1] if len(rows[0]) > 1 else ''):
        has_box = len(rows[0]) > 2 and rows[0][2].strip() == 'box_size'
        start = 1
    lead = 5 if has_box else 4
    want = lead + 2 * num_landmarks
    for i, row in enumerate(rows[start:], start + 1):
        if not row or not ''.join(row).strip():
            continue
        where = f'{path}, line {i}'
        if len(row) != want:
            raise DataError(f'{where}: expected {want} comma-separated fields (image, scale, '
                             f'{"box_size, " if has_box else ""}center_w, center_h, {2 * num_landmarks} '
                             f'coordinates), got {len(row)}')
        nums = _floats(row[1:], where, 'scale, center and coordinates')
        if not np.all(np.isfinite(nums)):
            raise DataError(f'{where}: scale, center and coordinates must be finite numbers')
        scale = nums[0]
        if scale <= 0:
            raise DataError(f'{where}: scale must be > 0, got {scale}')
        center = nums[lead - 3:lead - 1]
        pts = nums[lead - 1:].reshape(num_landmarks, 2)
        info = dict(keypoints=pts.astype(np.float32), img_rel=row[0].strip(), center=center.astype(np.float64),
                    scale=float(scale) * SCALE_PAD, attributes=np.zeros(len(ATTRIBUTES), np.int64))
        if has_box:
            info['box_size'] = float(nums[1])
        out.append(info)
    if not out:
        raise DataError(f'{path}: no annotation rows')
    return out


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


@DATASETS.register_module()
class WFLWDataset(BaseDataset):
    """WFLW (or any 98/68/29/19-point set in the HRNet CSV form): one entry per face.

    Entry: ``img_path``, ``img_id``, ``keypoints`` (K, 2) float32 original pixels, ``center`` (2,),
    ``scale`` (crop scale, x1.25 applied), ``attributes`` (6,) 0/1, ``rect`` (detection box, lists only).

    Args:
        data_root: folder with ``WFLW_images/`` and ``WFLW_annotations/`` (or the CSV's image root).
        split: 'train' or 'test' (release lists); ignored when ``ann_file`` is given.
        subset: one of :data:`SUBSETS` to read ``list_98pt_test_<subset>.txt`` instead.
        ann_file: an explicit ``.txt`` release list or ``.csv`` HRNet annotation (relative to data_root).
        img_prefix: image folder under data_root (``WFLW_images`` for the lists; '' for CSVs whose
            image names already include their folder).
        box: 'landmarks' (official CSV convention, default) or 'rect' for the crop box of the lists.
        num_landmarks: points per face.
        check_images: verify at load time that every image exists (error names the path).
    """

    METAINFO = dict(dataset_name='wflw', num_keypoints=NUM_WFLW)

    def __init__(self, data_root: str, split: str = 'train', subset: str | None = None,
                 ann_file: str | None = None, img_prefix: str | None = None, box: str = 'landmarks',
                 num_landmarks: int = NUM_WFLW, check_images: bool = True, pipeline=(), **kwargs) -> None:
        if ann_file is None:
            ann_file = subset_file(subset) if subset else list_file(split)
        self.split, self.subset, self.box = split, subset, box
        self.num_landmarks = num_landmarks
        self.check_images = check_images
        is_csv = ann_file.lower().endswith('.csv')
        self.img_prefix = img_prefix if img_prefix is not None else ('' if is_csv else IMAGE_DIR)
        super().__init__(data_root=data_root, ann_file=ann_file, pipeline=build_pipeline(pipeline), serialize_data=False,
                         **kwargs)

    def load_data_list(self) -> list[dict]:
        path = self.ann_file
        if path.lower().endswith('.csv'):
            rows = read_hrnet_csv(path, self.num_landmarks)
        else:
            rows = read_wflw_list(path, self.num_landmarks, self.box)
        data = []
        for i, r in enumerate(rows):
            img_path = osp.join(self.data_root, self.img_prefix, r['img_rel'])
            if self.check_images and not osp.isfile(img_path):
                raise MissingFileError(f'image not found: {img_path} (annotation {path}, entry {i + 1})')
            # the official loader keeps the centre as a float32 torch tensor; so do we (same integer crops)
            center = np.asarray(r['center'], np.float32).astype(np.float64)
            r = dict(r, center=center, img_path=img_path, img_id=r['img_rel'], sample_idx=i)
            data.append(r)
        return require_samples(data, path, 'faces', {}, f'{len(rows)} annotation rows')


def find_subset_indices(full: Sequence[dict], subset_rows: Sequence[dict], where: str = '') -> np.ndarray:
    """Positions in ``full`` of the faces listed in a subset list (matched by image and landmarks)."""
    def key(r: dict) -> tuple:
        return (os.path.normpath(r['img_rel'] if 'img_rel' in r else r['img_id']),
                tuple(np.round(np.asarray(r['keypoints'], np.float64).ravel(), 2)))
    index = {}
    for i, r in enumerate(full):
        index.setdefault(key(r), i)
    out = []
    for j, r in enumerate(subset_rows):
        k = key(r)
        if k not in index:
            raise DataError(f'{where}: subset entry {j + 1} ({k[0]}) is not in the full test list')
        out.append(index[k])
    return np.asarray(out, np.int64)
