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

Metadata (issue 21): the landmark names, flip pairs, NME normalisation points (``norm_indices``) and drawing
skeleton come from the dataset's ``metainfo``: the WFLW preset (``configs/_base_/datasets/wflw.py``) unless the
config states its own (``metainfo=dict(keypoint_names=..., ...)`` or ``metainfo=dict(from_file='my.json')``); the
landmark count is ``len(keypoint_names)``. Every data info carries ``flip_indices`` for the flip augmentation.
"""
from __future__ import annotations

import csv
import io
import os
import os.path as osp
from typing import Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from hrvision.data.checks import check_dataset_args, require_samples
from hrvision.data.io import read_text
from hrvision.data.pipeline import build_pipeline
from hrvision.errors import ConfigError, DataError, MissingFileError
from hrvision.registry import DATASETS, deprecated

NUM_WFLW = 98
SCALE_PAD = 1.25
ATTRIBUTES = ('pose', 'expression', 'illumination', 'makeup', 'occlusion', 'blur')
SUBSETS = ('largepose', 'expression', 'illumination', 'makeup', 'occlusion', 'blur')
LIST_DIR = osp.join('WFLW_annotations', 'list_98pt_rect_attr_train_test')
SUBSET_DIR = osp.join('WFLW_annotations', 'list_98pt_test')
IMAGE_DIR = 'WFLW_images'


#: the annotation formats the face reader accepts (named by every refusal of a file it cannot read)
ACCEPTED_FORMATS = ('a WFLW release list (.txt; per line: 2K landmark coordinates x0 y0 ..., x_min y_min x_max y_max, '
                    '6 attribute flags, image path) or an HRNet CSV (.csv; image, scale, [box_size,] center_w, '
                    'center_h, 2K coordinates)')


def check_face_file(path: str) -> str:
    """``'csv'`` or ``'list'`` for an annotation file the reader accepts; any other format (JSON, ...) is refused
    naming the accepted ones (a JSON file would otherwise fail later with a field count)."""
    ext = osp.splitext(path)[1].lower()
    if ext == '.csv':
        return 'csv'
    if ext in ('.json', '.xml', '.mat', '.pts', '.npy', '.npz', '.pkl', '.yaml', '.yml'):
        raise DataError(f'{path}: a {ext} file is not a face annotation format hrvision reads; accepted: '
                        f'{ACCEPTED_FORMATS}')
    if osp.isfile(path):
        with open(path, 'rb') as f:
            head = f.read(256).lstrip()
        if head[:1] in (b'{', b'['):
            raise DataError(f'{path}: looks like JSON, which is not a face annotation format hrvision reads; '
                            f'accepted: {ACCEPTED_FORMATS}')
    return 'list'


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
        raise DataError(f'{where}: expected {want} fields for {num_landmarks} landmarks ({2 * num_landmarks} '
                        f'landmark coordinates, 4 box values, {len(ATTRIBUTES)} attribute flags, image path), got '
                        f'{len(fields)} (the landmark count is the dataset metainfo\'s; accepted formats: '
                        f'{ACCEPTED_FORMATS})')
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
            raise DataError(f'{where}: expected {want} comma-separated fields for {num_landmarks} landmarks (image, '
                            f'scale, {"box_size, " if has_box else ""}center_w, center_h, {2 * num_landmarks} '
                            f'coordinates), got {len(row)} (the landmark count is the dataset metainfo\'s; '
                            f'accepted formats: {ACCEPTED_FORMATS})')
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
    """WFLW, or any face set with its own landmarks in the WFLW list / HRNet CSV form: one entry per face.

    Entry: ``img_path``, ``img_id``, ``keypoints`` (K, 2) float32 original pixels, ``center`` (2,),
    ``scale`` (crop scale, x1.25 applied), ``attributes`` (6,) 0/1, ``rect`` (detection box, lists only),
    ``flip_indices`` (the metadata's left/right permutation, read by the flip augmentation).

    Args:
        data_root: folder with ``WFLW_images/`` and ``WFLW_annotations/`` (or the CSV's image root).
        split: 'train' or 'test' (release lists); ignored when ``ann_file`` is given.
        subset: one of :data:`SUBSETS` to read ``list_98pt_test_<subset>.txt`` instead.
        ann_file: an explicit ``.txt`` release list or ``.csv`` HRNet annotation (relative to data_root).
        data_prefix: ``dict(img=...)``, the image folder under data_root (the key word of every dataset;
            default ``WFLW_images`` for the lists, '' for CSVs whose image names already include their folder).
        img_prefix: the old name of ``data_prefix.img``: still read, with a one-time DeprecationWarning; both
            naming different folders is refused.
        box: 'landmarks' (official CSV convention, default) or 'rect' for the crop box of the lists.
        metainfo: the landmark metadata (``keypoint_names``, ``flip_pairs`` or ``left_*``/``right_*`` names,
            ``norm_indices``, ``skeleton``), or ``dict(from_file='x.py' | 'x.json')``; default the WFLW preset.
        num_landmarks: optional; the count is ``len(metainfo keypoint_names)`` and a different value is refused.
        check_images: verify at load time that every image exists (error names the path).
    """

    METAINFO = dict(from_file='_base_/datasets/wflw.py')

    def __init__(self, data_root: str, split: str = 'train', subset: str | None = None,
                 ann_file: str | None = None, data_prefix: dict | None = None, img_prefix: str | None = None,
                 box: str = 'landmarks', num_landmarks: int | None = None, check_images: bool = True, pipeline=(),
                 **kwargs) -> None:
        check_dataset_args(type(self), dict(kwargs, data_prefix=data_prefix))
        img = (data_prefix or {}).get('img')
        if img_prefix is not None:
            if img is not None and osp.normpath(img) != osp.normpath(img_prefix):
                raise ConfigError(f'{type(self).__name__}: img_prefix={img_prefix!r} and data_prefix=dict(img={img!r}) '
                                  'name two image folders; img_prefix is the old name of data_prefix.img: keep '
                                  'data_prefix only')
            deprecated(f'{type(self).__name__} img_prefix', 'data_prefix=dict(img=...)')
            img = img_prefix
        if ann_file is None:
            ann_file = subset_file(subset) if subset else list_file(split)
        self.split, self.subset, self.box = split, subset, box
        self._stated_landmarks = num_landmarks
        self.check_images = check_images
        if 'metainfo' in kwargs:   # a relative from_file: data_root first (the data's own metainfo.json)
            from hrvision.data.metainfo import rebase_from_file
            kwargs['metainfo'] = rebase_from_file(kwargs['metainfo'], data_root, f'{type(self).__name__} metainfo')
        is_csv = ann_file.lower().endswith('.csv')
        img = img if img is not None else ('' if is_csv else IMAGE_DIR)   # mmengine joins it with data_root
        super().__init__(data_root=data_root, ann_file=ann_file, data_prefix=dict(img=img),
                         pipeline=build_pipeline(pipeline), serialize_data=False, **kwargs)

    @classmethod
    def _load_metainfo(cls, metainfo: dict | None = None) -> dict:
        """The WFLW preset < the config's ``metainfo`` (a config that names other landmarks replaces every landmark
        key of the preset), parsed and validated once."""
        from hrvision.data.metainfo import merge_metainfo
        if metainfo is not None and not isinstance(metainfo, dict):
            raise ConfigError(f'{cls.__name__} metainfo must be a dict (keypoint_names, flip_pairs, norm_indices, '
                              f'skeleton, or from_file=...), got {type(metainfo).__name__}')
        return merge_metainfo(cls.METAINFO, None, dict(metainfo or {}), config_source=f'{cls.__name__} metainfo')

    @property
    def num_landmarks(self) -> int:
        """Landmarks per face: the metadata's ``keypoint_names`` count (``num_keypoints``)."""
        num = self._metainfo.get('num_keypoints')
        if num is None:
            raise ConfigError(f'{type(self).__name__} metainfo states no keypoint_names (the landmark names, one per '
                              f'landmark, in the annotation order)')
        return int(num)

    def read_rows(self, num: int) -> list[dict]:
        """The annotation file's faces as reader rows (``keypoints``, ``img_rel``, ``center``, ``scale``, ...): a
        release list or an HRNet CSV. The official face sets override this with their own formats."""
        if check_face_file(self.ann_file) == 'csv':
            return read_hrnet_csv(self.ann_file, num)
        return read_wflw_list(self.ann_file, num, self.box)

    def row_to_info(self, i: int, row: dict, num: int, flip: list[int]) -> dict:
        """One reader row -> a data info: the image path under ``data_prefix.img`` (checked to exist unless the row
        holds its image), the official float32 centre, the flip permutation."""
        if len(row['keypoints']) != num:
            raise DataError(f'{self.ann_file}: entry {i + 1} has {len(row["keypoints"])} landmarks, the metadata '
                            f'{num}')
        img_path = osp.join(self.data_prefix['img'], row['img_rel'])
        if row.get('img') is None and self.check_images and not osp.isfile(img_path):
            raise MissingFileError(f'image not found: {img_path} (annotation {self.ann_file}, entry {i + 1})')
        # the official loaders keep the centre as a float32 torch tensor; so do we (same integer crops)
        center = np.asarray(row['center'], np.float32).astype(np.float64)
        return dict(row, center=center, img_path=img_path, img_id=row['img_rel'], sample_idx=i, flip_indices=flip)

    def load_data_list(self) -> list[dict]:
        num = self.num_landmarks
        if self._stated_landmarks is not None and int(self._stated_landmarks) != num:
            raise ConfigError(f'{type(self).__name__} num_landmarks={self._stated_landmarks} but its metainfo has '
                              f'{num} keypoint_names; leave num_landmarks out (it follows the metadata)')
        rows = self.read_rows(num)
        flip = [int(i) for i in self._metainfo['flip_indices']]
        data = [self.row_to_info(i, r, num, flip) for i, r in enumerate(rows)]
        return require_samples(data, self.ann_file, 'faces', {}, f'{len(rows)} annotation rows')


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
