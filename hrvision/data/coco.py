"""COCO-format annotation files, read and validated once for every reader (pose, detection, multi-task).

pycocotools trusts its input: a missing field, a string where a number belongs or an annotation whose
``image_id`` names no image end in a raw ``KeyError``/``TypeError`` far from the file, or in silently
dropped annotations. :func:`load_coco` (the one entry point of every task: boxes, keypoints, both) checks the
structure first and raises ``DataError`` naming the file, the entry (``annotations[3] (id 12)``) and the field;
:func:`orphan_annotations` counts the annotations that point at no image so readers can report them with their
other skip reasons. :func:`~hrvision.data.checks.check_dataset_args` (re-exported here) holds every dataset to
one image-folder key word (``data_prefix=dict(img=...)``) and refuses unknown arguments with a did-you-mean.
"""
from __future__ import annotations

import contextlib
import io
import json
from typing import Any, Callable

from ..errors import DataError
from .checks import check_dataset_args  # noqa: F401  (the COCO readers import it from here)
from .io import read_text

PERSON_CATEGORY = 1   # COCO's person: the keypoint category of a file whose categories list no "keypoints"


def read_json(path: str, what: str) -> Any:
    """JSON file -> object; a missing, binary or malformed file raises with the path, line and column."""
    try:
        return json.loads(read_text(path, what))
    except json.JSONDecodeError as e:
        raise DataError(f'{what} {path} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}') from None


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float('inf')


def check_number_list(value, n: int, path: str, where: str, field: str) -> None:
    """``value`` must be a list of ``n`` finite numbers, else ``DataError`` naming file, entry and field."""
    if not isinstance(value, (list, tuple)) or len(value) != n or not all(is_number(v) for v in value):
        raise DataError(f'{path}: {where} field "{field}" must be a list of {n} numbers; got {str(value)[:80]}')


def _check_id(value, path: str, where: str, field: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DataError(f'{path}: {where} field "{field}" must be an integer id; got {value!r:.80}')


def _check_images(images: list, path: str, need_size: bool) -> None:
    seen = set()
    for i, img in enumerate(images):
        where = f'images[{i}]'
        if not isinstance(img, dict):
            raise DataError(f'{path}: {where} must be an object with "id" and "file_name"; got {img!r:.80}')
        for key in ('id', 'file_name') + (('width', 'height') if need_size else ()):
            if key not in img:
                raise DataError(f'{path}: {where} lacks "{key}"')
        _check_id(img['id'], path, where, 'id')
        where = f'images[{i}] (id {img["id"]})'
        if img['id'] in seen:
            raise DataError(f'{path}: {where}: duplicate image id')
        seen.add(img['id'])
        if not isinstance(img['file_name'], str) or not img['file_name']:
            raise DataError(f'{path}: {where} field "file_name" must be a non-empty string; got {img["file_name"]!r}')
        for key in ('width', 'height'):
            if key in img and not (is_number(img[key]) and img[key] >= 1 and img[key] == int(img[key])):
                raise DataError(f'{path}: {where} field "{key}" must be a positive integer (pixels); '
                                f'got {img[key]!r:.80}')


def _check_annotations(anns: list, path: str, cat_ids: set) -> None:
    seen: dict = {}
    for i, ann in enumerate(anns):
        if not isinstance(ann, dict):
            raise DataError(f'{path}: annotations[{i}] must be an object; got {ann!r:.80}')
        where = f'annotations[{i}] (id {ann.get("id", "?")})'
        for key in ('id', 'image_id', 'category_id', 'bbox'):
            if key not in ann:
                raise DataError(f'{path}: {where} lacks "{key}"')
        for key in ('id', 'image_id', 'category_id'):
            _check_id(ann[key], path, where, key)
        if ann['id'] in seen:   # pycocotools keeps the last of a pair: the other is dropped without a word
            raise DataError(f'{path}: {where} field "id": duplicate annotation id '
                            f'(also annotations[{seen[ann["id"]]}])')
        seen[ann['id']] = i
        if ann['category_id'] not in cat_ids:
            raise DataError(f'{path}: {where} (image id {ann["image_id"]}) has category_id {ann["category_id"]}, '
                             f'not among the declared category ids {sorted(cat_ids)}')
        check_number_list(ann['bbox'], 4, path, where, 'bbox')
        if ann['bbox'][2] < 0 or ann['bbox'][3] < 0:
            raise DataError(f'{path}: {where} field "bbox" (x, y, w, h) has a negative width or height: '
                            f'{ann["bbox"]}')
        if 'area' in ann and not is_number(ann['area']):
            raise DataError(f'{path}: {where} field "area" must be a number; got {ann["area"]!r:.80}')
        if ann.get('iscrowd', 0) not in (0, 1):
            raise DataError(f'{path}: {where} field "iscrowd" must be 0 or 1; got {ann["iscrowd"]!r:.80}')
        ann.setdefault('iscrowd', 0)
        ann.setdefault('area', float(ann['bbox'][2] * ann['bbox'][3]))   # COCOeval reads both


def check_segmentation(seg, path: str, where: str, height: int, width: int) -> None:
    """COCO ``segmentation``: polygons (lists of >= 3 x, y pairs) or an RLE of the image size."""
    if isinstance(seg, list):
        for j, poly in enumerate(seg):
            if not (isinstance(poly, list) and len(poly) >= 6 and len(poly) % 2 == 0 and all(map(is_number, poly))):
                raise DataError(f'{path}: {where} field "segmentation" polygon {j} must be a list of >= 3 x, y '
                                f'number pairs; got {str(poly)[:80]}')
    elif isinstance(seg, dict):
        if 'counts' not in seg or list(seg.get('size', ())) != [height, width]:
            raise DataError(f'{path}: {where} field "segmentation" RLE needs "counts" and "size" = '
                            f'[{height}, {width}] (the image height, width); got size {seg.get("size")!r}')
    else:
        raise DataError(f'{path}: {where} field "segmentation" must be a list of polygons or an RLE object; '
                        f'got {seg!r:.80}')


def load_coco_file(path: str, what: str, need_size: bool = False, image_info: bool = False) -> dict:
    """Read and validate a COCO annotation file (``images``, ``annotations``, ``categories``) -> dict.

    ``need_size``: every image must state a positive ``width`` and ``height`` (detection clips boxes to them).
    ``image_info``: an image-info file without an ``annotations`` key (COCO test-dev) is accepted, with none.
    """
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise DataError(f'{path}: expected a JSON object with "images", "annotations", "categories"; '
                         f'got a JSON {type(data).__name__}')
    if image_info and 'annotations' not in data:   # format-only runs (no ground truth to score against)
        data['annotations'] = []
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(data.get(key), list):
            raise DataError(f'{path}: missing or non-list field "{key}" (COCO format expected)')
    cat_ids = set()
    for i, cat in enumerate(data['categories']):
        if not isinstance(cat, dict) or 'id' not in cat:
            raise DataError(f'{path}: categories[{i}] must be an object with an "id"; got {cat!r:.80}')
        _check_id(cat['id'], path, f'categories[{i}]', 'id')
        if cat['id'] in cat_ids:
            raise DataError(f'{path}: categories[{i}] field "id": duplicate category id {cat["id"]}')
        cat_ids.add(cat['id'])
    _check_images(data['images'], path, need_size)
    _check_annotations(data['annotations'], path, cat_ids)
    return data


def keypoint_category(categories, path: str = '') -> int:
    """The category whose annotations carry keypoints: the one category listing ``keypoints`` names, else COCO's
    person (1). Two categories with keypoint names are refused (one keypoint layout per file)."""
    ids = [c['id'] for c in categories if isinstance(c, dict) and c.get('keypoints')]
    if len(ids) > 1:
        raise DataError(f'{path}: categories {ids} each list "keypoints"; a keypoint file holds one keypoint '
                        f'category')
    return ids[0] if ids else PERSON_CATEGORY


def _check_keypoints(data: dict, path: str, num_keypoints: int) -> None:
    """Every non-crowd annotation of the keypoint category (and any other that has keypoints) needs
    ``3 * num_keypoints`` numbers, flags 0/1/2 and a ``num_keypoints`` that counts the flags > 0."""
    category = keypoint_category(data['categories'], path)
    for i, ann in enumerate(data['annotations']):
        if 'keypoints' in ann or (ann['category_id'] == category and not ann['iscrowd']):
            check_number_list(ann.get('keypoints'), 3 * num_keypoints, path,
                              f'annotations[{i}] (id {ann["id"]})', 'keypoints')
            flags = ann['keypoints'][2::3]
            if any(v not in (0, 1, 2) for v in flags):
                raise DataError(f'{path}: annotations[{i}] (id {ann["id"]}) field "keypoints": visibility flags '
                                f'must be 0, 1 or 2; got {sorted({v for v in flags if v not in (0, 1, 2)})[:5]}')
            labelled = sum(1 for v in flags if v > 0)
            # COCOeval reads it to ignore people without joints
            ann.setdefault('num_keypoints', labelled)
            n = ann['num_keypoints']
            if not (isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= num_keypoints):
                raise DataError(f'{path}: annotations[{i}] (id {ann["id"]}) field "num_keypoints" must be an '
                                f'integer 0-{num_keypoints}; got {n!r:.80}')
            if n != labelled:   # COCOeval ignores a person by num_keypoints, training reads the flags
                raise DataError(f'{path}: annotations[{i}] (id {ann["id"]}) field "num_keypoints" is {n} but '
                                f'{labelled} joints have visibility > 0 in "keypoints"')


def load_coco(path: str, *, keypoints: int | Callable[[list], int] | None = None, boxes: bool = False,
              image_info: bool = False, what: str | None = None):
    """The one COCO reader: a validated annotation file -> ``pycocotools.coco.COCO`` (its prints silenced).

    ``keypoints``: a keypoint file of that many joints per person (flags, counts and ``3 * K`` numbers checked);
    a callable gets the file's ``categories`` and returns the count (the dataset's metadata decides it).
    ``boxes``: a box file (detection): every image states its ``width`` and ``height`` (boxes are clipped to them).
    ``image_info``: an image-info file without ``annotations`` (COCO test-dev) is accepted, with none.
    ``what``: how messages name the file (default from the kind)."""
    what = what or ('COCO keypoint annotation file' if keypoints else 'COCO annotation file')
    data = load_coco_file(path, what, need_size=boxes, image_info=image_info)
    if callable(keypoints):   # the count follows from the file's own categories (dataset metadata)
        keypoints = keypoints(data['categories'])
    if keypoints:
        _check_keypoints(data, path, int(keypoints))
    return build_coco(data)


def build_coco(data: dict):
    """A ``pycocotools.coco.COCO`` over an already validated dict, its prints silenced."""
    from pycocotools.coco import COCO
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def orphan_annotations(coco) -> int:
    """Annotations whose ``image_id`` names no image in the file (pycocotools keeps them unreachable)."""
    return sum(1 for a in coco.dataset['annotations'] if a['image_id'] not in coco.imgs)


def file_summary(coco) -> str:
    """``'3 images, 0 annotations'``: what an annotation file held, for empty-dataset errors."""
    return f'{len(coco.imgs)} images, {len(coco.dataset["annotations"])} annotations'
