"""300W, COFW and AFLW as the official face repo (HRNet-Facial-Landmark-Detection) reads them, plus the release
``.pts`` files of 300W.

Formats (facts from the official ``lib/datasets/{face300w,cofw,aflw}.py`` and ``lib/core/evaluation.py``):

* **300W** (68 points): the official CSVs ``face_landmarks_300w_{train,valid,valid_common,valid_challenge,test}.csv``
  (header line; ``image_name, scale, center_w, center_h``, 68 x/y pairs; image names under ``images/``), or the 300W
  release's ``.pts`` files (``version: 1`` / ``n_points: 68`` / ``{`` / 68 lines ``x y`` / ``}``) beside their images
  in the release folders (``images/{lfpw,helen}/{trainset,testset}``, ``images/afw``, ``images/ibug``,
  ``images/300W/{01_Indoor,02_Outdoor}``). Subsets: train = lfpw + helen train sets + afw; common = lfpw + helen
  test sets; challenging = ibug; full = common + challenging (the faces of ``valid.csv``, each tagged with its part
  from the ``valid_common`` / ``valid_challenge`` lists, so the full NME is the count-weighted mean of the two);
  test = the 300W competition set. A ``.pts`` face's crop box follows the official
  CSV convention: centre and ``max(w, h) / 200`` of the landmarks' box.
* **COFW** (29 points): ``COFW_{train,test}_color.mat`` with ``IsTr``/``IsT`` (the images, a cell array),
  ``phisTr``/``phisT`` (one row per face: 29 x, 29 y, 29 occlusion flags) and ``bboxesTr``/``bboxesT`` (x, y, w, h);
  the crop box as the official loader computes it (``floor``/``ceil`` of the landmarks' box). The official loader
  reads them with ``hdf5storage.loadmat`` (MATLAB v7.3 HDF5 files, older versions through scipy); here
  ``scipy.io.loadmat`` reads MATLAB v4 to v7.2 files and h5py a v7.3 file (variables transposed back to MATLAB's
  order, cell arrays dereferenced), chosen by the file's header; h5py is optional: without it a v7.3 file is refused
  in one line saying what to install. Or the same CSV form as 300W with 29 points.
* **AFLW** (19 points): ``face_landmarks_aflw_{train,test,test_frontal}.csv`` with ``image_name, scale, box_size,
  center_w, center_h``, 19 x/y pairs; subsets full (the test CSV, each face tagged ``frontal`` when it is in the
  frontal CSV) and frontal.

NME (``FaceNMEMetric``, from each preset's metadata): 300W ``||gt[36] - gt[45]||``, COFW ``||gt[8] - gt[9]||``, AFLW
the annotation's ``box_size``. As the official loaders do, the stored scale is multiplied by 1.25 when read.
"""
from __future__ import annotations

import glob
import math
import os.path as osp
from typing import Sequence

import numpy as np

from hrvision.data.io import read_text
from hrvision.data.matfile import read_mat
from hrvision.errors import ConfigError, DataError, MissingFileError
from hrvision.registry import DATASETS

from .dataset import SCALE_PAD, WFLWDataset, _floats, center_scale_from_box, find_subset_indices, read_hrnet_csv

IMAGE_EXTS = ('.jpg', '.png', '.jpeg', '.JPG', '.PNG', '.JPEG')

# ---- 300W ------------------------------------------------------------------------------------------------------------

W300_CSV = {'train': 'face_landmarks_300w_train.csv', 'full': 'face_landmarks_300w_valid.csv',
            'common': 'face_landmarks_300w_valid_common.csv', 'challenging': 'face_landmarks_300w_valid_challenge.csv',
            'test': 'face_landmarks_300w_test.csv'}
#: the release folders (under ``images/``) of each subset
W300_FOLDERS = {'train': ('lfpw/trainset', 'helen/trainset', 'afw'), 'common': ('lfpw/testset', 'helen/testset'),
                'challenging': ('ibug',), 'test': ('300W/01_Indoor', '300W/02_Outdoor')}
W300_SUBSETS = ('train', 'common', 'challenging', 'full', 'test')


def read_pts(path: str, num_points: int = 68) -> np.ndarray:
    """A 300W ``.pts`` file -> (num_points, 2) float32, the coordinates as written (no 0/1-based shift)."""
    lines = [ln.strip() for ln in read_text(path, '300W .pts landmark file').splitlines()]
    lines = [ln for ln in lines if ln]
    fmt = (f'version: 1 / n_points: {num_points} / {{ / {num_points} lines "x y" / }}')
    header = {}
    i = 0
    while i < len(lines) and lines[i] != '{':
        key, sep, value = lines[i].partition(':')
        if not sep:
            raise DataError(f'{path}: line "{lines[i][:40]}" before "{{" is not a "key: value" header; expected '
                            f'the 300W .pts format ({fmt})')
        header[key.strip()] = value.strip()
        i += 1
    if i == len(lines) or lines[-1] != '}':
        raise DataError(f'{path}: no "{{ ... }}" block of points; expected the 300W .pts format ({fmt})')
    body = lines[i + 1:-1]
    try:
        stated = int(header['n_points'])
    except (KeyError, ValueError):
        raise DataError(f'{path}: header n_points missing or not an integer; expected the 300W .pts format '
                        f'({fmt})') from None
    if stated != len(body):
        raise DataError(f'{path}: n_points says {stated} but the block holds {len(body)} points')
    if len(body) != num_points:
        raise DataError(f'{path}: {len(body)} points, expected {num_points} (the 300W layout)')
    pts = []
    for j, ln in enumerate(body):
        xy = ln.split()
        if len(xy) != 2:
            raise DataError(f'{path}: point {j + 1} is "{ln[:40]}", expected two numbers "x y"')
        pts.append(_floats(xy, f'{path}, point {j + 1}', 'x and y'))
    pts = np.asarray(pts, np.float64)
    if not np.all(np.isfinite(pts)):
        raise DataError(f'{path}: point coordinates must be finite numbers')
    return pts.astype(np.float32)


def pts_rows(folder: str, rel_to: str, num_points: int = 68) -> list[dict]:
    """Every ``.pts`` under ``folder`` (sorted) with the image of the same name beside it -> reader rows
    (``img_rel`` relative to ``rel_to``; crop box from the landmarks, x1.25)."""
    if not osp.isdir(folder):
        raise MissingFileError(f'300W release folder not found: {folder} (expected .pts files beside their images)')
    rows = []
    for path in sorted(glob.glob(osp.join(folder, '**', '*.pts'), recursive=True)):
        pts = read_pts(path, num_points)
        stem = osp.splitext(path)[0]
        img = next((stem + e for e in IMAGE_EXTS if osp.isfile(stem + e)), None)
        if img is None:
            raise MissingFileError(f'{path}: no image beside it ({osp.basename(stem)}.jpg / .png)')
        center, scale = center_scale_from_box(*pts.min(0).astype(np.float64), *pts.max(0).astype(np.float64))
        if scale <= 0:
            raise DataError(f'{path}: the landmarks\' box has zero size')
        rows.append(dict(keypoints=pts, img_rel=osp.relpath(img, rel_to), center=center, scale=scale * SCALE_PAD))
    if not rows:
        raise DataError(f'{folder}: no .pts files (the 300W release keeps one beside each image)')
    return rows


# ---- COFW ------------------------------------------------------------------------------------------------------------

COFW_KEYS = {'train': ('IsTr', 'phisTr', 'bboxesTr'), 'test': ('IsT', 'phisT', 'bboxesT')}
COFW_POINTS = 29


def cofw_center_scale(pts: np.ndarray) -> tuple[np.ndarray, float]:
    """The official COFW crop box: ``floor`` of the landmarks' minimum and ``ceil`` of their maximum (before x1.25)."""
    x0, y0 = math.floor(float(pts[:, 0].min())), math.floor(float(pts[:, 1].min()))
    x1, y1 = math.ceil(float(pts[:, 0].max())), math.ceil(float(pts[:, 1].max()))
    return np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0]), max(x1 - x0, y1 - y0) / 200.0


def _loadmat(path: str) -> dict:
    """The variables of a COFW .mat file (v4 to v7.2 through scipy, v7.3 through h5py: :mod:`hrvision.data.matfile`)."""
    return read_mat(path, 'COFW .mat file')


def read_cofw_mat(path: str, split: str) -> list[dict]:
    """``COFW_{train,test}_color.mat`` -> rows with the image in memory (``img``), ``keypoints`` (29, 2),
    ``occluded`` (29,), ``rect`` (x_min, y_min, x_max, y_max from the x, y, w, h box), official centre/scale."""
    if split not in COFW_KEYS:
        raise ConfigError(f"COFW split must be 'train' or 'test', got {split!r}")
    img_key, phis_key, box_key = COFW_KEYS[split]
    mat = _loadmat(path)
    found = ', '.join(sorted(k for k in mat if not k.startswith('__'))) or 'nothing'
    for key, what in ((img_key, 'the images, a cell array'),
                      (phis_key, f'the landmarks, one row per face: {COFW_POINTS} x, {COFW_POINTS} y, '
                                 f'{COFW_POINTS} occlusion flags')):
        if key not in mat:
            raise DataError(f'{path}: no variable {key} ({what}) for the {split} split; found: {found}')
    images = np.asarray(mat[img_key], dtype=object).reshape(-1)
    phis = np.asarray(mat[phis_key])
    if phis.ndim != 2 or phis.shape[1] not in (2 * COFW_POINTS, 3 * COFW_POINTS) or not np.issubdtype(phis.dtype,
                                                                                                        np.number):
        raise DataError(f'{path}: {phis_key} has shape {phis.shape}, expected (faces, {3 * COFW_POINTS}) numbers '
                        f'({COFW_POINTS} x, {COFW_POINTS} y, {COFW_POINTS} occlusion flags)')
    if len(images) != len(phis):
        raise DataError(f'{path}: {img_key} holds {len(images)} images but {phis_key} {len(phis)} faces')
    boxes = np.asarray(mat[box_key], np.float64) if box_key in mat else None
    if boxes is not None and boxes.shape != (len(phis), 4):
        raise DataError(f'{path}: {box_key} has shape {boxes.shape}, expected ({len(phis)}, 4) (x, y, w, h)')
    rows = []
    for i, (img, phi) in enumerate(zip(images, phis.astype(np.float64))):
        where = f'{path}, {phis_key} row {i + 1}'
        img = np.asarray(img)
        if img.ndim == 2:   # grey images: repeated to three channels, as the official loader does
            img = np.repeat(img[:, :, None], 3, axis=2)
        if img.ndim != 3 or img.shape[2] != 3:
            raise DataError(f'{path}: {img_key} entry {i + 1} has shape {img.shape}, expected an HxW or HxWx3 image')
        if img.dtype != np.uint8:   # a double copy of the 8-bit pixels is read as such; anything else is refused
            if not (np.issubdtype(img.dtype, np.number) and np.all(np.isfinite(img)) and img.min() >= 0
                    and img.max() <= 255 and np.all(img == np.round(img))):
                raise DataError(f'{path}: {img_key} entry {i + 1} is {img.dtype}, not 8-bit pixel values '
                                f'(integers 0..255; min {np.nanmin(img):g}, max {np.nanmax(img):g}); expected uint8 images')
            img = img.astype(np.uint8)
        pts = phi[:2 * COFW_POINTS].reshape(2, COFW_POINTS).T
        if not np.all(np.isfinite(pts)):
            raise DataError(f'{where}: landmark coordinates must be finite')
        center, scale = cofw_center_scale(pts)
        if scale <= 0:
            raise DataError(f'{where}: the landmarks\' box has zero size')
        row = dict(img=np.ascontiguousarray(img), keypoints=pts.astype(np.float32), img_rel=f'{split}_{i + 1:04d}',
                   center=center, scale=scale * SCALE_PAD,
                   occluded=(phi[2 * COFW_POINTS:] if len(phi) == 3 * COFW_POINTS
                             else np.zeros(COFW_POINTS)).astype(np.int64))
        if boxes is not None:
            x, y, w, h = boxes[i]
            row['rect'] = np.array([x, y, x + w, y + h], np.float32)
        rows.append(row)
    return rows


# ---- AFLW ------------------------------------------------------------------------------------------------------------

AFLW_CSV = {'train': 'face_landmarks_aflw_train.csv', 'full': 'face_landmarks_aflw_test.csv',
            'frontal': 'face_landmarks_aflw_test_frontal.csv'}


def read_aflw_csv(path: str, num_points: int = 19) -> list[dict]:
    """An AFLW CSV (header with ``box_size`` as the third column) -> rows with ``box_size``."""
    rows = read_hrnet_csv(path, num_points)
    if 'box_size' not in rows[0]:
        raise DataError(f'{path}: no box_size column; an AFLW CSV has the header image_name, scale, box_size, '
                        f'center_w, center_h, then {num_points} x/y pairs (the box size normalises its NME)')
    for i, r in enumerate(rows):
        if not r['box_size'] > 0:
            raise DataError(f'{path}, row {i + 1}: box_size must be > 0, got {r["box_size"]}')
    return rows


# ---- datasets --------------------------------------------------------------------------------------------------------

def _tag(rows: Sequence[dict], name: str, members: Sequence[dict] | None = None, where: str = '') -> None:
    """Add ``name`` to each row's ``subsets`` (all rows, or those matched in ``members`` by image and landmarks)."""
    picks = range(len(rows)) if members is None else find_subset_indices(rows, members, where)
    for i in picks:
        rows[i]['subsets'] = tuple(rows[i].get('subsets', ())) + (name,)


class _OfficialFaceDataset(WFLWDataset):
    """The official face sets on the WFLW reader's loading: each subclass reads its own formats in :meth:`read_rows`
    (the WFLW reader's rows); :meth:`row_to_info` adds the subset tags."""

    SUBSETS: tuple = ()
    DEFAULT_SUBSET = 'train'

    def __init__(self, data_root: str, subset: str | None = None, ann_file: str | None = None,
                 data_prefix: dict | None = None, split: str | None = None, **kwargs) -> None:
        subset = subset or split or self.DEFAULT_SUBSET
        if subset not in self.SUBSETS:
            raise ConfigError(f'{type(self).__name__} subset={subset!r}; expected one of {self.SUBSETS}')
        self.official_subset = subset
        self._ann_given = ann_file is not None
        ann_file = ann_file if ann_file is not None else self.default_ann_file(data_root, subset)
        data_prefix = data_prefix or dict(img=self.default_images(ann_file))
        super().__init__(data_root, ann_file=ann_file, data_prefix=data_prefix, **kwargs)

    def default_ann_file(self, data_root: str, subset: str) -> str:
        raise NotImplementedError

    def default_images(self, ann_file: str) -> str:
        return 'images'

    def read_rows(self, num: int) -> list[dict]:
        raise NotImplementedError

    def row_to_info(self, i: int, row: dict, num: int, flip: list[int]) -> dict:
        """The face reader's entry, tagged with its subsets; ``img_file`` names the image file that
        ``hrvision data check`` verifies (a COFW .mat holds its images); no WFLW attribute flags."""
        info = super().row_to_info(i, row, num, flip)
        info['subsets'] = tuple(dict.fromkeys((self.official_subset,) + tuple(row.get('subsets', ()))))
        if row.get('img') is None:
            info['img_file'] = info['img_path']
        info.pop('attributes', None)
        return info


@DATASETS.register_module()
class Face300WDataset(_OfficialFaceDataset):
    """300W (68 landmarks): the official CSVs or the release ``.pts`` files (module docstring).

    Args:
        data_root: folder with the CSVs and ``images/`` (the official ``data/300w``).
        subset: 'train', 'common', 'challenging', 'full' (common + challenging, faces tagged) or 'test'.
        ann_file: a CSV, or a folder of ``.pts`` files beside their images (the release tree ``images``: the
            subset's release folders in it; any other folder: every ``.pts`` under it); default: the subset's
            official CSV when it exists under data_root, else the release folders under ``images/``. A CSV given
            here is read as it is: with subset 'full' its faces are not tagged common / challenging (the tags come
            from the official part CSVs beside the default ``valid.csv``).
        data_prefix: ``dict(img=...)``: the image folder the CSV names are relative to (default ``images``).
        metainfo: default the 300W preset (``configs/_base_/datasets/300w.py``).
    """

    METAINFO = dict(from_file='_base_/datasets/300w.py')
    SUBSETS = W300_SUBSETS

    def default_ann_file(self, data_root: str, subset: str) -> str:
        csv = W300_CSV[subset]
        if osp.isfile(osp.join(data_root, csv)) or (subset == 'full' and all(
                osp.isfile(osp.join(data_root, W300_CSV[s])) for s in ('common', 'challenging'))):
            return csv
        return 'images'   # the release layout: .pts beside the images

    def read_rows(self, num: int) -> list[dict]:
        ann, subset = self.ann_file, self.official_subset
        if ann.lower().endswith('.csv'):
            parts = {s: osp.join(self.data_root, W300_CSV[s]) for s in ('common', 'challenging')}
            if subset == 'full' and not self._ann_given and not osp.isfile(ann):   # valid.csv missing: the parts
                rows = []
                for s, p in parts.items():
                    part = read_hrnet_csv(p, num)
                    _tag(part, s)
                    rows += part
                return rows
            rows = read_hrnet_csv(ann, num)
            if subset in ('common', 'challenging'):
                _tag(rows, subset)
            elif subset == 'full' and not self._ann_given:   # the faces of valid.csv, tagged from the part lists
                for s, p in parts.items():
                    if osp.isfile(p):
                        _tag(rows, s, read_hrnet_csv(p, num), p)
            return rows
        release = any(osp.isdir(osp.join(ann, f)) for fs in W300_FOLDERS.values() for f in fs)
        if not release:   # a folder of .pts files (not the release tree): every face under it
            return pts_rows(ann, self.data_prefix['img'], num)
        rows = []
        for s in (('common', 'challenging') if subset == 'full' else (subset,)):
            for folder in W300_FOLDERS[s]:
                part = pts_rows(osp.join(ann, folder), self.data_prefix['img'], num)
                if s in ('common', 'challenging'):
                    _tag(part, s)
                rows += part
        return rows


@DATASETS.register_module()
class FaceCOFWDataset(_OfficialFaceDataset):
    """COFW (29 landmarks): ``COFW_{train,test}_color.mat`` (images inside) or the CSV form (module docstring).

    Args:
        data_root: folder with ``COFW_{train,test}_color.mat`` (the official ``data/cofw``) or the CSVs.
        subset: 'train' or 'test'.
        ann_file: a ``.mat`` (read for ``subset``'s variables) or a ``.csv``; default ``COFW_<subset>_color.mat``,
            else ``face_landmarks_cofw_<subset>.csv`` when only that exists.
    """

    METAINFO = dict(from_file='_base_/datasets/cofw.py')
    SUBSETS = ('train', 'test')

    def default_ann_file(self, data_root: str, subset: str) -> str:
        mat, csv = f'COFW_{subset}_color.mat', f'face_landmarks_cofw_{subset}.csv'
        return csv if not osp.isfile(osp.join(data_root, mat)) and osp.isfile(osp.join(data_root, csv)) else mat

    def default_images(self, ann_file: str) -> str:
        return 'images' if ann_file.lower().endswith('.csv') else ''

    def read_rows(self, num: int) -> list[dict]:
        if self.ann_file.lower().endswith('.mat'):
            if num != COFW_POINTS:
                raise ConfigError(f'{type(self).__name__}: a COFW .mat holds {COFW_POINTS} landmarks per face but the '
                                  f'metainfo has {num}')
            return read_cofw_mat(self.ann_file, self.official_subset)
        if self.ann_file.lower().endswith('.csv'):
            return read_hrnet_csv(self.ann_file, num)
        raise DataError(f'{self.ann_file}: COFW annotations are a .mat (COFW_{{train,test}}_color.mat) or an HRNet CSV')


@DATASETS.register_module()
class FaceAFLWDataset(_OfficialFaceDataset):
    """AFLW (19 landmarks): the official CSVs with ``box_size`` (module docstring).

    Args:
        data_root: folder with the CSVs and ``images/`` (the official ``data/aflw``).
        subset: 'train', 'full' (the test CSV; faces of the frontal CSV tagged ``frontal``) or 'frontal'.
        ann_file: default the subset's official CSV; a CSV given here is read as it is (with 'full', no face is
            tagged ``frontal``: the tags come from the official frontal CSV beside the default one).
    """

    METAINFO = dict(from_file='_base_/datasets/aflw.py')
    SUBSETS = ('train', 'full', 'frontal')

    def default_ann_file(self, data_root: str, subset: str) -> str:
        return AFLW_CSV[subset]

    def read_rows(self, num: int) -> list[dict]:
        rows = read_aflw_csv(self.ann_file, num)
        if self.official_subset == 'frontal':
            _tag(rows, 'frontal')
        elif self.official_subset == 'full' and not self._ann_given:
            frontal = osp.join(self.data_root, AFLW_CSV['frontal'])
            if osp.isfile(frontal):
                _tag(rows, 'frontal', read_aflw_csv(frontal, num), frontal)
        return rows


DATASET_TYPES = {'300w': 'Face300WDataset', 'cofw': 'FaceCOFWDataset', 'aflw': 'FaceAFLWDataset'}


# ---- hrvision data check ---------------------------------------------------------------------------------------------

def _register_checks() -> None:
    from hrvision.registry import register_data_check

    from .check import FaceCheck

    @register_data_check('FaceCOFWDataset')
    class COFWCheck(FaceCheck):
        """A COFW .mat holds its images (``img`` in the entry, ``img_path`` only names it): only the CSV form's
        entries name image files that must exist (``img_file``)."""
        file_fields = ('img_file',)


_register_checks()
