"""COCO person keypoints as top-down crops, as the official ``lib/dataset/coco.py`` (SPEC §2.1, §4.1).

One entry per person box: from the ground truth (training, and evaluation with ``TEST.USE_GT_BBOX``) or
from a person-detection results JSON (COCO results format; ``category_id`` 1, ``score >= score_thr``,
official ``IMAGE_THRE`` 0.0). Boxes become (center, scale) with the input aspect ratio and 1.25 padding;
ground-truth boxes are first clipped to the image (``x2 = min(W-1, x1 + max(0, w-1))``) as officially.

Skipped and counted in ``self.skipped``: crowd annotations, boxes with non-positive size or area, people
without any labelled joint (training), detections of other categories or below the threshold.
"""
from __future__ import annotations

import os.path as osp
from collections import Counter
from typing import Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from hrvision.data.checks import require_samples
from hrvision.data.coco import build_coco, check_number_list, file_summary, is_number, load_coco_file, \
    orphan_annotations, read_json
from hrvision.data.keypoints import PIXEL_STD, box_to_center_scale
from hrvision.data.pipeline import build_pipeline
from hrvision.errors import DataError
from hrvision.registry import DATASETS

COCO_KEYPOINT_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
                       'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip',
                       'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
# 0-based links for drawing (the COCO 'skeleton' minus one).
COCO_SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
                 (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0
PERSON_CATEGORY = 1


def load_coco(path: str, num_keypoints: int = 17, image_info: bool = False):
    """Validated COCO keypoint annotations -> ``pycocotools.coco.COCO`` (its prints silenced).

    Every non-crowd person annotation (and any other that has keypoints) needs ``3 * num_keypoints`` numbers."""
    data = load_coco_file(path, 'COCO keypoint annotation file', image_info=image_info)
    for i, ann in enumerate(data['annotations']):
        if 'keypoints' in ann or (ann['category_id'] == PERSON_CATEGORY and not ann['iscrowd']):
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
    return build_coco(data)


@DATASETS.register_module()
class CocoKeypointDataset(BaseDataset):
    """Args:
        ann_file: ``person_keypoints_{train,val}2017.json`` (relative to ``data_root``).
        data_prefix: ``dict(img='val2017/')``: the image folder (relative to ``data_root``).
        input_size: network input (W, H): sets the box aspect ratio.
        bbox_file: person detections (COCO results JSON); None = ground-truth boxes.
        score_thr: detections scoring below this are dropped (official ``IMAGE_THRE`` 0.0).
        padding: box enlargement (official 1.25).
        test_mode: evaluation dataset (mmengine flag).

    Unlike the official cleaning, a box with zero width or height is skipped even when its ``area`` is positive.
    """

    METAINFO = dict(keypoint_names=COCO_KEYPOINT_NAMES, skeleton=COCO_SKELETON, sigmas=COCO_SIGMAS.tolist(),
                    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)))

    def __init__(self, ann_file: str, data_root: str = '', data_prefix: dict | None = None,
                 input_size: Sequence[int] = (192, 256), bbox_file: str | None = None, score_thr: float = 0.0,
                 padding: float = 1.25, num_keypoints: int = 17, pipeline=(), test_mode: bool = False,
                 **kwargs) -> None:
        self.aspect_ratio = float(input_size[0]) / float(input_size[1])
        self.bbox_file = bbox_file
        self.score_thr = score_thr
        self.padding = padding
        self.num_keypoints = num_keypoints
        self.skipped: Counter = Counter()
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix or dict(img=''),
                         pipeline=build_pipeline(pipeline), test_mode=test_mode, serialize_data=False, **kwargs)

    # ---- loading ----------------------------------------------------------------------------------
    def _img_path(self, img: dict) -> str:
        return osp.join(self.data_prefix.get('img', ''), img['file_name'])

    def load_data_list(self) -> list[dict]:
        # with person detections an image-info file (COCO test-dev, no annotations) is enough: format-only
        self.coco = load_coco(self.ann_file, self.num_keypoints, image_info=bool(self.bbox_file))
        self._metainfo.update(ann_file=self.ann_file)   # the keypoint metric's default file (and its check)
        orphans = orphan_annotations(self.coco)
        if orphans:
            self.skipped['image_id_not_in_images'] = orphans
        data = self._from_detections() if self.bbox_file else self._from_ground_truth()
        if self.skipped:
            print_log(f'{osp.basename(self.ann_file)}: skipped {dict(self.skipped)}', logger='current')
        if self.bbox_file:
            return require_samples(data, self.bbox_file, 'person detections', self.skipped,
                                   f'{len(self.coco.imgs)} images in {self.ann_file}')
        return require_samples(data, self.ann_file, 'person annotations', self.skipped, file_summary(self.coco))

    def _entry(self, img: dict, box, kp: np.ndarray, vis: np.ndarray, score: float, ident: int) -> dict:
        center, scale = box_to_center_scale(box, self.aspect_ratio, self.padding)
        return dict(img_path=self._img_path(img), img_id=int(img['id']), id=ident, center=center, scale=scale,
                    keypoints=kp, keypoints_visible=vis, bbox_score=float(score),
                    area=float(np.prod(scale * PIXEL_STD)), bbox=np.asarray(box, np.float32))

    def _from_ground_truth(self) -> list[dict]:
        k = self.num_keypoints
        data = []
        for img_id in sorted(self.coco.getImgIds()):
            img = self.coco.imgs[img_id]
            width, height = img.get('width'), img.get('height')
            for ann in self.coco.imgToAnns.get(img_id, []):
                if ann['category_id'] != PERSON_CATEGORY:
                    self.skipped['not_person'] += 1
                    continue
                if ann.get('iscrowd', 0):
                    self.skipped['crowd'] += 1
                    continue
                x, y, w, h = ann['bbox']
                x1, y1 = max(0.0, x), max(0.0, y)
                x2, y2 = x1 + max(0.0, w - 1), y1 + max(0.0, h - 1)
                if width is not None and height is not None:
                    x2, y2 = min(width - 1.0, x2), min(height - 1.0, y2)
                if not (ann.get('area', 0) > 0 and w > 0 and h > 0 and x2 >= x1 and y2 >= y1):
                    self.skipped['non_positive_box'] += 1
                    continue
                kps = np.asarray(ann['keypoints'], np.float64).reshape(k, 3)
                if kps.max() == 0:
                    self.skipped['no_labelled_joints'] += 1
                    continue
                vis = np.minimum(kps[:, 2], 1.0).astype(np.float32)
                data.append(self._entry(img, [x1, y1, x2 - x1, y2 - y1], kps[:, :2], vis, 1.0, int(ann['id'])))
        return data

    def _from_detections(self) -> list[dict]:
        path = self.bbox_file
        dets = read_json(path, 'person detection results file')
        if not isinstance(dets, list):
            raise DataError(f'{path}: expected a JSON list of detections (COCO results format)')
        for i, d in enumerate(dets):
            if not isinstance(d, dict) or not all(key in d for key in ('image_id', 'bbox', 'score')):
                raise DataError(f'{path}: detection [{i}] must have "image_id", "bbox" and "score"')
            check_number_list(d['bbox'], 4, path, f'detection [{i}]', 'bbox')
            if not is_number(d['score']):
                raise DataError(f'{path}: detection [{i}] field "score" must be a number; got {d["score"]!r:.80}')
            if not isinstance(d['image_id'], int) or isinstance(d['image_id'], bool):
                raise DataError(f'{path}: detection [{i}] field "image_id" must be an integer; '
                                f'got {d["image_id"]!r:.80}')
        unknown = sorted({d['image_id'] for d in dets} - set(self.coco.imgs))
        if unknown:
            raise DataError(f'{path}: detections name {len(unknown)} image id(s) not in {self.ann_file}: '
                             f'{unknown[:10]}{" ..." if len(unknown) > 10 else ""}')
        k = self.num_keypoints
        data = []
        for i, d in enumerate(dets):
            if d.get('category_id', PERSON_CATEGORY) != PERSON_CATEGORY:
                self.skipped['not_person'] += 1
                continue
            if d['score'] < self.score_thr:
                self.skipped['below_score_thr'] += 1
                continue
            if d['bbox'][2] <= 0 or d['bbox'][3] <= 0:
                self.skipped['non_positive_box'] += 1
                continue
            img = self.coco.imgs[d['image_id']]
            data.append(self._entry(img, d['bbox'], np.zeros((k, 2)), np.ones(k, np.float32), float(d['score']), i))
        return data
