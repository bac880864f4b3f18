"""Bad input to every dataset reader and to image/label I/O (issue 12, data part).

One table: each case starts from a tiny valid dataset written by the task's synthetic writer, breaks one
thing (truncates, flips bytes, changes the bit depth, edits one JSON field or list line) and asserts the
exception type *and* that the message names the file and the field/line. The readers are used as a user
uses them: the dataset class from a config's arguments, then its loading transform on a sample.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from hrvision.errors import ConfigError, DataError, EmptyDatasetError, MissingFileError
from hrvision.data.io import read_image, read_label
from hrvision.tasks.detection.dataset import CocoDetectionDataset
from hrvision.tasks.detection.transforms import LoadDetectionImage
from hrvision.tasks.face.dataset import WFLWDataset
from hrvision.tasks.face.transforms import LoadFaceImage
from hrvision.tasks.multitask.dataset import CocoMultiTaskDataset
from hrvision.tasks.multitask.transforms import LoadMultiTaskInputs
from hrvision.tasks.pose.dataset import CocoKeypointDataset
from hrvision.tasks.pose.transforms import LoadPoseImage
from hrvision.tasks.segmentation.dataset import CityscapesDataset
from hrvision.tasks.segmentation.transforms import LoadCityscapes

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def base(tmp_path_factory):
    """Tiny valid datasets of every reader, written once by the synthetic writers."""
    from hrvision.tasks.detection import synth as det_synth
    from hrvision.tasks.face import synth as face_synth
    from hrvision.tasks.multitask import synth as multi_synth
    from hrvision.tasks.pose import synth as pose_synth
    from hrvision.tasks.segmentation import synth as seg_synth
    root = tmp_path_factory.mktemp('base')
    pose_synth.write_synthetic(str(root / 'pose'), n_train=2, n_val=1)
    det_synth.write_synthetic(str(root / 'det'), n_train=2, n_val=1, size=(64, 80))
    face_synth.write_synthetic(str(root / 'face'), n_train=2, n_val=1, size=(64, 64), write_csv=True)
    multi_synth.write_synthetic(str(root / 'multi'), n_train=2, n_val=1, size=(64, 64))
    seg_synth.write_synthetic(str(root / 'city'), n_train=1, n_val=1, size=(64, 128))
    return SimpleNamespace(
        root=root,
        pose_ann=root / 'pose' / 'annotations' / 'person_keypoints_train.json', pose_img=root / 'pose' / 'train',
        det_ann=root / 'det' / 'annotations' / 'instances_train2017.json', det_img=root / 'det' / 'train2017',
        face=root / 'face', face_list=root / 'face' / 'WFLW_annotations' / 'list_98pt_rect_attr_train_test' /
        'list_98pt_rect_attr_train.txt', face_csv=root / 'face' / 'hrnet_csv' / 'face_landmarks_wflw_train.csv',
        multi_ann=root / 'multi' / 'annotations' / 'instances_train2017.json',
        multi_kpt=root / 'multi' / 'annotations' / 'person_keypoints_train2017.json',
        multi_img=root / 'multi' / 'train2017', city=root / 'city')


# ---- helpers that break one thing -------------------------------------------------------------------

def _json_variant(src: Path, tmp: Path, mutate, name: str = 'broken.json') -> str:
    data = json.loads(src.read_text())
    out = mutate(data)   # edits in place, or returns a replacement
    path = tmp / name
    path.write_text(json.dumps(data if out is None else out))
    return str(path)


def _truncate(src: Path, dst: Path, keep: float = 0.6) -> str:
    data = src.read_bytes()
    dst.write_bytes(data[:int(len(data) * keep)])
    return str(dst)


def _flip(src: Path, dst: Path, at: int) -> str:
    data = bytearray(src.read_bytes())
    data[at] ^= 0xFF
    dst.write_bytes(bytes(data))
    return str(dst)


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _cut_all(folder: Path, tmp: Path) -> str:
    """A copy of ``folder`` with every JPEG truncated; returns the copy's path."""
    out = tmp / 'cut_images'
    for p in folder.rglob('*.jpg'):
        dst = out / p.relative_to(folder)
        dst.parent.mkdir(parents=True, exist_ok=True)
        _truncate(p, dst)
    return str(out)


def _with_thumbnail(src: Path, dst: Path) -> Path:
    """``src`` with a complete small JPEG inside an APP1 segment (as an EXIF thumbnail): its end marker
    must not make a truncated main image look complete."""
    thumb = cv2.imencode('.jpg', np.full((8, 8, 3), 128, np.uint8))[1].tobytes()
    data = src.read_bytes()
    app1 = b'\xff\xe1' + (len(thumb) + 8).to_bytes(2, 'big') + b'Exif\x00\x00' + thumb
    dst.write_bytes(data[:2] + app1 + data[2:])
    return dst


def _first(folder: Path, pattern: str) -> Path:
    return sorted(folder.rglob(pattern))[0]


def _pose(b, ann, **kw):
    return CocoKeypointDataset(ann_file=str(ann), data_prefix=dict(img=str(b.pose_img)), **kw)


def _det(b, ann, img=None, **kw):
    return CocoDetectionDataset(ann_file=str(ann), data_prefix=dict(img=str(img or b.det_img)), **kw)


def _multi(b, ann=None, kpt=None, **kw):
    return CocoMultiTaskDataset(ann_file=str(ann or b.multi_ann), kpt_file=str(kpt or b.multi_kpt),
                                data_prefix=dict(img=str(b.multi_img)), **kw)


def _face_list(b, tmp: Path, edit, name: str = 'broken.txt', **kw) -> WFLWDataset:
    lines = b.face_list.read_text().splitlines()
    path = tmp / name
    path.write_text('\n'.join(edit(lines)) + '\n')
    return WFLWDataset(str(b.face), ann_file=str(path), **kw)


def _face_csv(b, tmp: Path, edit) -> WFLWDataset:
    rows = b.face_csv.read_text().splitlines()
    path = tmp / 'broken.csv'
    path.write_text('\n'.join(edit(rows)) + '\n')
    return WFLWDataset(str(b.face), ann_file=str(path))


def _city(b, tmp: Path) -> Path:
    root = tmp / 'city'
    shutil.copytree(b.city, root)
    return root


def _city_label(b, tmp: Path, label: np.ndarray) -> None:
    """Replace the val image's label by ``label`` written as a labelTrainIds PNG (any bit depth), then load it."""
    root = _city(b, tmp)
    ids = _first(root / 'gtFine' / 'val', '*_gtFine_labelIds.png')
    img = cv2.imread(str(_first(root / 'leftImg8bit' / 'val', '*.png')))
    lab = np.zeros(img.shape[:2], label.dtype)
    lab[:label.shape[0], :label.shape[1]] = label
    cv2.imwrite(str(ids).replace('_labelIds.png', '_labelTrainIds.png'), lab)
    ds = CityscapesDataset(str(root), split='val')
    LoadCityscapes()(dict(ds.get_data_info(0)))


def _city_file(b, tmp: Path, which: str, breaker) -> None:
    """Break the val image ('img') or its labelIds PNG ('label') in place with ``breaker(src, dst)``, then load."""
    root = _city(b, tmp)
    f = _first(root / ('leftImg8bit' if which == 'img' else 'gtFine') / 'val', '*.png' if which == 'img'
               else '*_labelIds.png')
    tmpf = tmp / 'orig.png'
    shutil.move(str(f), tmpf)
    breaker(tmpf, f)
    ds = CityscapesDataset(str(root), split='val')
    LoadCityscapes()(dict(ds.get_data_info(0)))


def _set(path: list, value):
    """Mutator: ``data[path[0]][path[1]]... = value``."""
    def mutate(d):
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    return mutate


def _del(path: list):
    def mutate(d):
        node = d
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]
    return mutate


def _all_anns(fn):
    def mutate(d):
        for a in d['annotations']:
            fn(a)
    return mutate


def _gray_png(tmp: Path) -> Path:
    p = tmp / 'ok.png'
    cv2.imwrite(str(p), (np.arange(32 * 48).reshape(32, 48) % 251).astype(np.uint8))
    return p


# ---- the table: (id, action(base, tmp), exception type, regex the message must match) -------------------

F = r'broken\.json'
CASES = [
    # image / label I/O
    ('img-truncated-jpeg', lambda b, t: read_image(_truncate(_first(b.pose_img, '*.jpg'), t / 'cut.jpg')),
     DataError, r'cut\.jpg: truncated JPEG'),
    ('img-jpeg-without-eoi', lambda b, t: read_image(_truncate(_first(b.pose_img, '*.jpg'), t / 'cut.jpg', 0.999)),
     DataError, r'cut\.jpg: truncated JPEG'),
    ('img-truncated-jpeg-with-thumbnail', lambda b, t: read_image(_truncate(
        _with_thumbnail(_first(b.pose_img, '*.jpg'), t / 'thumb.jpg'), t / 'cut.jpg', 0.9)),
     DataError, r'cut\.jpg: truncated JPEG'),
    ('img-truncated-png', lambda b, t: read_image(_truncate(_first(b.root / 'pose' / 'val', '*.png'),
                                                            t / 'cut.png')),
     DataError, r'cut\.png: truncated PNG'),
    ('img-png-flipped-pixel-byte', lambda b, t: read_image(_flip(
        _first(b.root / 'pose' / 'val', '*.png'), t / 'flip.png',
        _first(b.root / 'pose' / 'val', '*.png').read_bytes().find(b'IDAT') + 40)),
     DataError, r'cannot decode image .*flip\.png'),
    ('img-jpeg-flipped-header', lambda b, t: read_image(_flip(_first(b.pose_img, '*.jpg'), t / 'flip.jpg', 1)),
     DataError, r'cannot decode image .*flip\.jpg'),
    ('img-empty-file', lambda b, t: read_image(_write(t / 'empty.png', b'')),
     DataError, r'empty\.png: empty file'),
    ('img-not-an-image', lambda b, t: read_image(_write(t / 'text.png', b'hello')),
     DataError, r'cannot decode image .*text\.png'),
    ('img-missing', lambda b, t: read_image(str(t / 'nowhere.jpg')), MissingFileError, r'image not found: .*nowhere'),
    ('label-rgb', lambda b, t: read_label((cv2.imwrite(str(t / 'rgb.png'), np.zeros((4, 5, 3), np.uint8)),
                                           str(t / 'rgb.png'))[1]),
     DataError, r'label map .*rgb\.png has shape \(4, 5, 3\); expected a single-channel'),
    ('label-jpeg', lambda b, t: read_label(str(_first(b.pose_img, '*.jpg'))),
     DataError, r'label map .*\.jpg holds JPEG data \(named \.jpg\): lossy compression'),
    ('label-missing', lambda b, t: read_label(str(t / 'nolabel.png')), MissingFileError, r'nolabel\.png'),
    ('label-truncated', lambda b, t: read_label(_truncate(_gray_png(t), t / 'cutlab.png', 0.5)),
     DataError, r'cutlab\.png: truncated PNG'),
    # Cityscapes
    ('city-16bit-trainid-256', lambda b, t: _city_label(b, t, np.array([[0, 256, 255]], np.uint16)),
     DataError, r'_labelTrainIds\.png: train ids \[256\] are outside 0-18 .*uint16'),
    ('city-trainid-50', lambda b, t: _city_label(b, t, np.array([[0, 50, 18, 200]], np.uint8)),
     DataError, r'_labelTrainIds\.png: train ids \[50, 200\] are outside 0-18'),
    ('city-truncated-image', lambda b, t: _city_file(b, t, 'img', lambda s, d: _truncate(s, d, 0.5)),
     DataError, r'_leftImg8bit\.png: truncated PNG'),
    ('city-flipped-label', lambda b, t: _city_file(b, t, 'label', lambda s, d: _flip(
        s, d, s.read_bytes().find(b'IDAT') + 12)), DataError, r'cannot decode label map .*_labelIds\.png'),
    ('city-label-size', lambda b, t: _city_file(b, t, 'label', lambda s, d: cv2.imwrite(
        str(d), np.zeros((10, 20), np.uint8))), DataError, r'label .*_labelIds\.png is 20x10 \(WxH\) but its image'),
    ('city-label-missing', lambda b, t: _city_file(b, t, 'label', lambda s, d: None),
     MissingFileError, r'has no label file: expected .*_gtFine_labelIds\.png'),
    ('city-empty-split', lambda b, t: CityscapesDataset(str(_city(b, t)), split='test'),
     MissingFileError, r'leftImg8bit/test'),
    # COCO keypoints
    ('pose-no-annotations', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, _set(['annotations'], []))),
     EmptyDatasetError, F + r': no usable person annotations; the file holds 2 images, 0 annotations'),
    ('pose-all-crowd', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, _all_anns(lambda a: a.update(iscrowd=1)))),
     EmptyDatasetError, F + r': no usable person annotations.*crowd=\d'),
    ('pose-image-id-unknown', lambda b, t: _pose(b, _json_variant(
        b.pose_ann, t, _all_anns(lambda a: a.update(image_id=999)))),
     EmptyDatasetError, F + r'.*image_id_not_in_images=\d'),
    ('pose-no-joints', lambda b, t: _pose(b, _json_variant(
        b.pose_ann, t, _all_anns(lambda a: a.update(keypoints=[0] * 51, num_keypoints=0)))),
     EmptyDatasetError, F + r'.*no_labelled_joints=\d'),
    ('pose-invalid-json', lambda b, t: _pose(b, _write(t / 'broken.json', b'{"images": [\n{"id": 1,}]}')),
     DataError, F + r' is not valid JSON: .* line 2, column 10'),
    ('pose-not-utf8', lambda b, t: _pose(b, _write(t / 'broken.json', b'\xff\xfe\x00garbage')),
     DataError, F + r' is not UTF-8 text'),
    ('pose-top-level-list', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, lambda d: [d])),
     DataError, F + r': expected a JSON object .* got a JSON list'),
    ('pose-annotations-not-list', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, _set(['annotations'], {}))),
     DataError, F + r': missing or non-list field "annotations"'),
    ('pose-bbox-strings', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, _set(['annotations', 0, 'bbox'],
                                                                               ['1', '2', '3', '4']))),
     DataError, F + r': annotations\[0\] \(id \d+\) field "bbox" must be a list of 4 numbers'),
    ('pose-16-joints', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, _set(['annotations', 0, 'keypoints'],
                                                                             [1] * 48))),
     DataError, F + r': annotations\[0\] .*field "keypoints" must be a list of 51 numbers'),
    ('pose-crowd-keypoint-strings', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, lambda d: d[
        'annotations'].append(dict(d['annotations'][0], id=5555, iscrowd=1, keypoints=['x'] * 51)) and None)),
     DataError, F + r': annotations\[\d+\] \(id 5555\) field "keypoints" must be a list of 51 numbers'),
    ('pose-image-lacks-file-name', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, _del(['images', 0,
                                                                                          'file_name']))),
     DataError, F + r': images\[0\] lacks "file_name"'),
    ('pose-image-id-string', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, _set(['images', 0, 'id'], 'a'))),
     DataError, F + r': images\[0\] field "id" must be an integer id'),
    ('pose-negative-width', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, _set(['images', 0, 'width'], -5))),
     DataError, F + r': images\[0\] \(id \d+\) field "width" must be a positive integer \(pixels\); got -5'),
    ('pose-duplicate-image-id', lambda b, t: _pose(b, _json_variant(
        b.pose_ann, t, lambda d: d['images'].append(dict(d['images'][0])))),
     DataError, F + r': images\[2\] \(id \d+\): duplicate image id'),
    ('pose-undeclared-category', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, _set(['categories'],
                                                                                       [dict(id=3)]))),
     DataError, F + r': annotations\[0\] .*category_id 1, not among the declared category ids \[3\]'),
    ('pose-area-string', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, _set(['annotations', 1, 'area'], 'big'))),
     DataError, F + r': annotations\[1\] \(id \d+\) field "area" must be a number'),
    ('pose-iscrowd-2', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, _set(['annotations', 0, 'iscrowd'], 2))),
     DataError, F + r': annotations\[0\] \(id \d+\) field "iscrowd" must be 0 or 1'),
    ('pose-num-keypoints-string', lambda b, t: _pose(b, _json_variant(b.pose_ann, t, _set(
        ['annotations', 0, 'num_keypoints'], 'many'))),
     DataError, F + r': annotations\[0\] \(id \d+\) field "num_keypoints" must be an integer 0-17'),
    ('pose-dets-not-list', lambda b, t: _pose(b, b.pose_ann, bbox_file=_json_variant(
        b.pose_ann, t, lambda d: {'x': 1}, 'dets.json')), DataError, r'dets\.json: expected a JSON list'),
    ('pose-dets-score-string', lambda b, t: _pose(b, b.pose_ann, bbox_file=_json_variant(
        b.pose_ann, t, lambda d: [dict(image_id=1, bbox=[1, 1, 9, 9], score='high')], 'dets.json')),
     DataError, r'dets\.json: detection \[0\] field "score" must be a number'),
    ('pose-dets-all-below-threshold', lambda b, t: _pose(b, b.pose_ann, score_thr=0.5, bbox_file=_json_variant(
        b.pose_ann, t, lambda d: [dict(image_id=1, bbox=[1, 1, 9, 9], score=0.1)], 'dets.json')),
     EmptyDatasetError, r'dets\.json: no usable person detections.*below_score_thr=1'),
    ('pose-missing-image', lambda b, t: LoadPoseImage()(dict(_pose(b, _json_variant(
        b.pose_ann, t, lambda d: [im.update(file_name='gone.jpg') for im in d['images']] and None)).get_data_info(0))),
     MissingFileError, r'image not found: .*gone\.jpg'),
    ('pose-truncated-image', lambda b, t: LoadPoseImage()(dict(CocoKeypointDataset(
        ann_file=str(b.pose_ann), data_prefix=dict(img=_cut_all(b.pose_img, t))).get_data_info(0))),
     DataError, r'cannot decode image .*\.jpg: truncated JPEG'),
    # COCO detection
    ('det-no-annotations', lambda b, t: _det(b, _json_variant(b.det_ann, t, _set(['annotations'], [])),
                                             filter_empty_gt=True),
     EmptyDatasetError, F + r': no usable images; the file holds 2 images, 0 annotations.*empty_images_dropped=2'),
    ('det-no-boxes-for-training', lambda b, t: _det(b, _json_variant(b.det_ann, t, _set(['annotations'], []))),
     EmptyDatasetError, F + r': no usable boxes for training'),
    ('det-no-images', lambda b, t: _det(b, _json_variant(b.det_ann, t, _set(['images'], [])), test_mode=True),
     EmptyDatasetError, F + r': no usable images; the file holds 0 images.*image_id_not_in_images=\d'),
    ('det-boxes-outside', lambda b, t: _det(b, _json_variant(b.det_ann, t, _all_anns(
        lambda a: a.update(bbox=[500, 500, 10, 10]))), filter_empty_gt=True),
     EmptyDatasetError, F + r'.*skipped_no_area=\d'),
    ('det-image-lacks-height', lambda b, t: _det(b, _json_variant(b.det_ann, t, _del(['images', 1, 'height']))),
     DataError, F + r': images\[1\] lacks "height"'),
    ('det-height-string', lambda b, t: _det(b, _json_variant(b.det_ann, t, _set(['images', 0, 'height'], '64'))),
     DataError, F + r': images\[0\] \(id 1\) field "height" must be a positive integer'),
    ('det-bbox-3-numbers', lambda b, t: _det(b, _json_variant(b.det_ann, t, _set(['annotations', 0, 'bbox'],
                                                                              [1, 2, 3]))),
     DataError, F + r': annotations\[0\] \(id 1\) field "bbox" must be a list of 4 numbers'),
    ('det-bbox-nan', lambda b, t: _det(b, _json_variant(b.det_ann, t, _set(['annotations', 0, 'bbox'],
                                                                        [float('nan'), 1, 1, 1]))),
     DataError, F + r': annotations\[0\] .*"bbox" must be a list of 4 numbers; got \[nan'),
    ('det-category-undeclared', lambda b, t: _det(b, _json_variant(b.det_ann, t, _set(
        ['annotations', 0, 'category_id'], 77))), DataError, F + r': annotations\[0\] .*category_id 77'),
    ('det-missing-image', lambda b, t: _det(b, b.det_ann, img=t), MissingFileError,
     r'image not found: .*\.jpg \(image id 1 in .*instances_train2017\.json\)'),
    ('det-truncated-image', lambda b, t: LoadDetectionImage()(dict(_det(b, b.det_ann, img=_cut_all(
        b.det_img, t)).get_data_info(0))),
     DataError, r'cannot decode image .*\.jpg: truncated JPEG'),
    ('det-image-size-differs', lambda b, t: LoadDetectionImage()(dict(_det(b, _json_variant(
        b.det_ann, t, _set(['images', 0, 'width'], 500))).get_data_info(0))),
     DataError, r'\.jpg: annotation says height/width \d+x500 but the file is'),
    # WFLW release lists and HRNet CSVs
    ('wflw-97-landmarks', lambda b, t: _face_list(b, t, lambda ls: [' '.join(ls[0].split()[2:])] + ls[1:]),
     DataError, r'broken\.txt, line 1: expected 207 fields .* got 205'),
    ('wflw-coordinate-text', lambda b, t: _face_list(b, t, lambda ls: ls[:1] + [
        'abc ' + ' '.join(ls[1].split()[1:])]),
     DataError, r'broken\.txt, line 2: landmark coordinates must be numbers'),
    ('wflw-attribute-2', lambda b, t: _face_list(b, t, lambda ls: [' '.join(
        ls[0].split()[:200] + ['2'] + ls[0].split()[201:])]), DataError, r'broken\.txt, line 1: attribute flags'),
    ('wflw-zero-size-face', lambda b, t: _face_list(b, t, lambda ls: [' '.join(
        ['5'] * 196 + ls[0].split()[196:])]), DataError, r'broken\.txt, line 1: the face box has zero size'),
    ('wflw-rect-inf', lambda b, t: _face_list(b, t, lambda ls: [' '.join(
        ls[0].split()[:196] + ['inf'] + ls[0].split()[197:])], box='rect'),
     DataError, r'broken\.txt, line 1: landmark coordinates and box values must be finite'),
    ('wflw-empty-list', lambda b, t: _face_list(b, t, lambda ls: ['']), DataError, r'broken\.txt: no annotations'),
    ('wflw-binary-list', lambda b, t: WFLWDataset(str(b.face), ann_file=_write(t / 'bin.txt', b'\x00\xff\xfe' * 9)),
     DataError, r'bin\.txt is not UTF-8 text'),
    ('wflw-missing-image', lambda b, t: _face_list(b, t, lambda ls: [' '.join(ls[0].split()[:-1] + ['x/gone.jpg'])]),
     MissingFileError, r'image not found: .*x/gone\.jpg \(annotation .*broken\.txt, entry 1\)'),
    ('wflw-truncated-image', lambda b, t: LoadFaceImage()(dict(WFLWDataset(
        str(b.face), ann_file=str(b.face_list),
        data_prefix=dict(img=_cut_all(b.face / 'WFLW_images', t))).get_data_info(0))),
     DataError, r'cannot decode image .*\.jpg: truncated JPEG'),
    ('csv-negative-scale', lambda b, t: _face_csv(b, t, lambda rs: rs[:1] + [_csv_field(rs[1], 1, '-1')]),
     DataError, r'broken\.csv, line 2: scale must be > 0, got -1'),
    ('csv-nan-coordinate', lambda b, t: _face_csv(b, t, lambda rs: rs[:1] + [_csv_field(rs[1], 6, 'nan')]),
     DataError, r'broken\.csv, line 2: scale, center and coordinates must be finite'),
    ('csv-short-row', lambda b, t: _face_csv(b, t, lambda rs: rs[:1] + [rs[1].rsplit(',', 2)[0]]),
     DataError, r'broken\.csv, line 2: expected 200 comma-separated fields .* got 198'),
    # multi-task COCO
    ('multi-no-annotations', lambda b, t: _multi(
        b, _json_variant(b.multi_ann, t, _set(['annotations'], [])),
        _json_variant(b.multi_kpt, t, _set(['annotations'], []), 'kpt.json')),
     EmptyDatasetError, F + r' \+ .*kpt\.json: no usable images labelled for .*skipped_unlabelled=2'),
    ('multi-kpt-image-unknown', lambda b, t: _multi(
        b, _json_variant(b.multi_ann, t, _set(['annotations'], [])),
        _json_variant(b.multi_kpt, t, _all_anns(lambda a: a.update(image_id=999)), 'kpt.json'),
        tasks=dict(pose='pose')), EmptyDatasetError, r'kpt\.json: .*kpt_image_id_not_in_images=\d'),
    ('multi-kpt-16-joints', lambda b, t: _multi(b, kpt=_json_variant(
        b.multi_kpt, t, _set(['annotations', 0, 'keypoints'], [1] * 48), 'kpt.json')),
     DataError, r'kpt\.json: annotations\[0\] .*"keypoints" must be a list of 51'),
    ('multi-width-fraction', lambda b, t: _multi(b, _json_variant(b.multi_ann, t, _set(['images', 0, 'width'], 1.5))),
     DataError, F + r': images\[0\] \(id 1\) field "width" must be a positive integer'),
    ('multi-polygon-strings', lambda b, t: _multi(b, _json_variant(b.multi_ann, t, _set(
        ['annotations', 0, 'segmentation'], [['a', 'b', 'c', 'd', 'e', 'f']]))),
     DataError, F + r': annotation id \d+ field "segmentation" polygon 0 must be a list of >= 3 x, y'),
    ('multi-rle-wrong-size', lambda b, t: _multi(b, _json_variant(b.multi_ann, t, _set(
        ['annotations', 0, 'segmentation'], dict(counts='abc', size=[5, 5])))),
     DataError, F + r': annotation id \d+ field "segmentation" RLE needs "counts" and "size" = \[64, 64\]'),
    ('multi-image-size-differs', lambda b, t: LoadMultiTaskInputs()(dict(_multi(b, _json_variant(
        b.multi_ann, t, lambda d: [im.update(height=70) for im in d['images']] and None)).get_data_info(0))),
     DataError, r'\.jpg: annotation says height/width 70x64 but the file is 64x64'),
    ('multi-person-category-contradicts-keypoints', lambda b, t: _multi(b, person_category=42), ConfigError,
     r'person_category=42 but the keypoint category of .*person_keypoints_train2017\.json is 1'),
    ('multi-invalid-json', lambda b, t: _multi(b, _write(t / 'broken.json', b'{"images": []')),
     DataError, F + r' is not valid JSON: .*line 1'),
]


def _csv_field(row: str, i: int, value: str) -> str:
    fields = row.split(',')
    fields[i] = value
    return ','.join(fields)


@pytest.mark.parametrize('action, exc, pattern', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_names_file_and_field(base, tmp_path, action, exc, pattern):
    with pytest.raises(exc, match=pattern) as info:
        action(base, tmp_path)
    assert isinstance(info.value, ValueError if exc is not MissingFileError else FileNotFoundError)


def test_table_size():
    assert len(CASES) >= 35 and len({c[0] for c in CASES}) == len(CASES)


def test_orphan_annotations_are_counted_and_reported(base, tmp_path):
    """An annotation on an image the file does not list is counted with the other skip reasons."""
    def orphan_first(d):
        d['annotations'][0]['image_id'] = 424242
    ds = _pose(base, _json_variant(base.pose_ann, tmp_path, orphan_first))
    assert ds.skipped['image_id_not_in_images'] == 1 and len(ds) > 0
    det = _det(base, _json_variant(base.det_ann, tmp_path, orphan_first, 'det.json'))
    assert det.stats['image_id_not_in_images'] == 1
    multi = _multi(base, kpt=_json_variant(base.multi_kpt, tmp_path, orphan_first, 'kpt.json'))
    assert multi.stats['kpt_image_id_not_in_images'] == 1


def test_valid_files_still_load(base):
    """The base datasets pass every check (the table's errors come from the one thing broken)."""
    assert len(_pose(base, base.pose_ann)) > 0 and len(_det(base, base.det_ann)) == 2 and len(_multi(base)) == 2
    assert len(WFLWDataset(str(base.face), ann_file=str(base.face_csv))) == 2
    img = read_image(str(_first(base.pose_img, '*.jpg')))
    assert img.dtype == np.uint8 and img.ndim == 3
    # bytes after the end-of-image marker (phone "motion photos") and an embedded thumbnail are fine
    tmp = base.root / 'extra'
    tmp.mkdir(exist_ok=True)
    thumb = _with_thumbnail(_first(base.pose_img, '*.jpg'), tmp / 'thumb.jpg')
    np.testing.assert_array_equal(read_image(str(thumb)), img)
    trailing = _write(tmp / 'trailing.jpg', thumb.read_bytes() + b'\xff\xda\x00\x04\x12\x34 more data')
    np.testing.assert_array_equal(read_image(trailing), img)
    lab = np.array([[0, 18, 255]], np.uint16)   # a 16-bit trainIds file within range is fine
    from hrvision.tasks.segmentation.labels import checked_train_ids
    assert checked_train_ids(lab, 'x.png').dtype == np.uint8


def test_write_image_is_complete_or_absent(tmp_path):
    """An image that cannot be encoded leaves neither the target nor a temporary file behind."""
    from hrvision.data.io import write_image
    with pytest.raises(OSError, match=r'could not encode an image for .*out\.xyz'):
        write_image(str(tmp_path / 'out.xyz'), np.zeros((4, 4, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
    write_image(str(tmp_path / 'ok.png'), np.zeros((4, 4, 3), np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ['ok.png']


def test_error_from_a_dataloader_worker_keeps_its_one_line(base, tmp_path):
    """torch re-raises a worker's error with the worker's traceback in its message; hrvision's errors keep
    only their own line (configs load data in worker processes)."""
    import torch
    root = _city(base, tmp_path)
    ids = _first(root / 'gtFine' / 'val', '*_gtFine_labelIds.png')
    cv2.imwrite(str(ids).replace('_labelIds.png', '_labelTrainIds.png'), np.full((64, 128), 50, np.uint8))
    ds = CityscapesDataset(str(root), split='val', pipeline=[dict(type='LoadCityscapes')])
    loader = torch.utils.data.DataLoader(ds, num_workers=1, collate_fn=lambda x: x)
    with pytest.raises(DataError) as info:
        next(iter(loader))
    msg = str(info.value)
    assert msg.endswith('_labelTrainIds.png: train ids [50] are outside 0-18 and 255 (ignore) (uint8 PNG); '
                        'expected a Cityscapes labelTrainIds map'), msg
    assert '\n' not in msg and 'Traceback' not in msg and msg.startswith(str(root))


def test_empty_training_set_through_cli_fails_fast(base, tmp_path):
    """`hrvision train` on a COCO file with "annotations": [] exits 2 within seconds (it used to spin forever
    in the InfiniteSampler), with one line naming the file and no traceback."""
    data = tmp_path / 'data'
    shutil.copytree(base.root / 'pose', data)
    ann = data / 'annotations' / 'person_keypoints_train.json'
    d = json.loads(ann.read_text())
    d['annotations'] = []
    ann.write_text(json.dumps(d))
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('HRVISION_DEBUG', None)
    start = time.time()
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'train', str(REPO / 'configs/pose/demo_synthetic.py'),
                        '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                        f'train_dataloader.dataset.data_root={data}', f'val_dataloader.dataset.data_root={data}',
                        f'test_dataloader.dataset.data_root={data}'],
                       capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert r.returncode == 2, r.stderr[-2000:]
    assert 'person_keypoints_train.json: no usable person annotations' in r.stderr
    assert '0 annotations' in r.stderr and 'Traceback' not in r.stderr
    assert time.time() - start < 120
