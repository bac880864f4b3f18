"""COCO person keypoints as top-down crops, as the official ``lib/dataset/coco.py`` (SPEC §2.1, §4.1).

One entry per person box: from the ground truth (training, and evaluation with ``TEST.USE_GT_BBOX``) or
from a person-detection results JSON (COCO results format; ``category_id`` 1, ``score >= score_thr``,
official ``IMAGE_THRE`` 0.0). Boxes become (center, scale) with the input aspect ratio and 1.25 padding;
ground-truth boxes are first clipped to the image (``x2 = min(W-1, x1 + max(0, w-1))``) as officially.

Skipped and counted in ``self.skipped``: crowd annotations, boxes with non-positive size or area, people
without any labelled joint (training), detections of other categories or below the threshold.
"""
from __future__ import annotations

import copy
import os.path as osp
from collections import Counter
from typing import Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from hrvision.data.checks import require_samples
from hrvision.data.coco import check_dataset_args, check_number_list, file_summary, is_number, keypoint_category, \
    load_coco, orphan_annotations, read_json
from hrvision.data.keypoints import PIXEL_STD, box_to_center_scale
from hrvision.data.pipeline import build_pipeline
from hrvision.errors import ConfigError, DataError
from hrvision.registry import DATASETS


def _coco_preset() -> dict:
    from hrvision.data.metainfo import parse_metainfo
    return parse_metainfo(dict(from_file='_base_/datasets/coco.py'), 'tasks/pose/dataset.py')


# COCO's names, 0-based links and OKS sigmas, read from the preset (configs/_base_/datasets/coco.py, the one place
# they are stated) for the synthetic data and tests; datasets, transforms, heads and metrics read a dataset's metadata
_COCO = _coco_preset()
COCO_KEYPOINT_NAMES = tuple(_COCO['keypoint_names'])
COCO_SKELETON = tuple(tuple(p) for p in _COCO['skeleton'])
COCO_SIGMAS = np.asarray(_COCO['sigmas'], np.float64)


@DATASETS.register_module()
class CocoKeypointDataset(BaseDataset):
    """Args:
        ann_file: ``person_keypoints_{train,val}2017.json`` (relative to ``data_root``).
        data_prefix: ``dict(img='val2017/')``: the image folder (relative to ``data_root``).
        input_size: network input (W, H): sets the box aspect ratio.
        bbox_file: person detections (COCO results JSON); None = ground-truth boxes.
        score_thr: detections scoring below this are dropped (official ``IMAGE_THRE`` 0.0).
        padding: box enlargement (official 1.25).
        num_keypoints: derived from the metadata (a stated value must agree, refused otherwise).
        metainfo: the config's metadata (``hrvision.data.metainfo``): on top of what the file's ``categories``
            carry (keypoint names, skeleton) and the COCO preset; each sample gets its ``flip_indices``.
        test_mode: evaluation dataset (mmengine flag).

    Unlike the official cleaning, a box with zero width or height is skipped even when its ``area`` is positive.
    """

    # the preset; a file whose categories list other keypoints replaces it, a config's metainfo overrides both
    # (hrvision.data.metainfo.merge_metainfo, parsed once when the file is read)
    METAINFO = dict(from_file='_base_/datasets/coco.py')

    def __init__(self, ann_file: str, data_root: str = '', data_prefix: dict | None = None,
                 input_size: Sequence[int] = (192, 256), bbox_file: str | None = None, score_thr: float = 0.0,
                 padding: float = 1.25, num_keypoints: int | None = None, pipeline=(), test_mode: bool = False,
                 **kwargs) -> None:
        self.aspect_ratio = float(input_size[0]) / float(input_size[1])
        self.bbox_file = bbox_file
        self.score_thr = score_thr
        self.padding = padding
        self._num_keypoints_arg = num_keypoints   # derived from the metadata; a stated one must agree
        if 'metainfo' in kwargs:   # a relative from_file: data_root first (the data's own metainfo.json)
            from hrvision.data.metainfo import rebase_from_file
            kwargs['metainfo'] = rebase_from_file(kwargs['metainfo'], data_root, f'{type(self).__name__} metainfo')
        self._config_metainfo = kwargs.get('metainfo')
        self.skipped: Counter = Counter()
        check_dataset_args(type(self), dict(kwargs, data_prefix=data_prefix))
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix or dict(img=''),
                         pipeline=build_pipeline(pipeline), test_mode=test_mode, serialize_data=False, **kwargs)

    # ---- loading ----------------------------------------------------------------------------------
    def _img_path(self, img: dict) -> str:
        return osp.join(self.data_prefix.get('img', ''), img['file_name'])

    def load_data_list(self) -> list[dict]:
        # with person detections an image-info file (COCO test-dev, no annotations) is enough: format-only
        self.coco = load_coco(self.ann_file, keypoints=self._resolve_metainfo, image_info=bool(self.bbox_file))
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

    def _resolve_metainfo(self, categories: list) -> int:
        """The dataset's metadata from the preset, the file's categories and the config (parsed once); returns
        the keypoint count the file's annotations are checked against."""
        from hrvision.data.metainfo import from_coco_categories, merge_metainfo
        name = type(self).__name__
        from_file = from_coco_categories(categories, self.ann_file) if any(
            isinstance(c, dict) and c.get('keypoints') for c in categories) else None
        meta = merge_metainfo(type(self).METAINFO, from_file, self._config_metainfo,
                              config_source=f'{name} metainfo', data_source=self.ann_file)
        if not meta.get('num_keypoints'):
            raise ConfigError(f'{name}: no keypoint names: {self.ann_file} lists no categories[].keypoints and '
                              'the config gives no metainfo.keypoint_names')
        k = meta['num_keypoints']
        if from_file is not None and meta.get('category_id') != from_file.get('category_id'):
            raise ConfigError(f'{name}: metainfo.category_id={meta.get("category_id")} contradicts {self.ann_file}, '
                              f'whose keypoint category is {from_file.get("category_id")}; leave category_id out')
        if self._num_keypoints_arg is not None and int(self._num_keypoints_arg) != k:
            raise ConfigError(f'{name}: num_keypoints={self._num_keypoints_arg} contradicts the dataset metadata '
                              f'({k} keypoint_names, from {self.ann_file if from_file else "the metainfo"}); '
                              'leave num_keypoints out, it follows from the metadata')
        self._metainfo.clear()   # the preset's from_file and the config's raw keys, replaced by the parsed dict
        self._metainfo.update(meta)
        self.num_keypoints = k
        return k

    @classmethod
    def _load_metainfo(cls, metainfo: dict | None = None) -> dict:
        """The preset with the config's keys on top, unparsed until the file is read (mmengine's would read any
        string value naming an existing file as a list of lines, ``from_file`` included)."""
        if metainfo is not None and not isinstance(metainfo, dict):
            raise ConfigError(f'{cls.__name__}: metainfo must be a dict, got {type(metainfo).__name__}')
        return dict(copy.deepcopy(cls.METAINFO), **copy.deepcopy(metainfo or {}))

    def get_data_info(self, idx: int) -> dict:
        """mmengine's, plus the metadata the transforms read (``flip_indices``: the flip follows the dataset)."""
        info = super().get_data_info(idx)
        info['flip_indices'] = list(self._metainfo['flip_indices'])
        if self._metainfo.get('upper_body_ids') is not None:   # the half-body augmentation's upper body
            info['upper_body_ids'] = list(self._metainfo['upper_body_ids'])
        return info

    def full_init(self) -> None:
        """mmengine's, plus: a subset (``indices``) records the image ids it holds, so the keypoint metric scores
        those images, not the whole annotation file (perfect predictions on 2 of 4 images scored AP 0.26)."""
        if self._fully_initialized:
            return
        super().full_init()
        from .transforms import check_half_body
        check_half_body(self.pipeline, self._metainfo, type(self).__name__)
        if self._indices is not None:
            self._metainfo['img_ids'] = sorted({int(self.get_data_info(i)['img_id']) for i in range(len(self))})

    def _category(self) -> int:
        """The keypoint category id: the metadata's ``category_id`` (the file's category listing ``keypoints``,
        else the preset's or the config's), else the file's (COCO's person when none lists keypoints)."""
        if self._metainfo.get('category_id') is not None:
            return int(self._metainfo['category_id'])
        return keypoint_category(self.coco.dataset['categories'], self.ann_file)

    def _entry(self, img: dict, box, kp: np.ndarray, vis: np.ndarray, score: float, ident: int) -> dict:
        center, scale = box_to_center_scale(box, self.aspect_ratio, self.padding)
        return dict(img_path=self._img_path(img), img_id=int(img['id']), id=ident, center=center, scale=scale,
                    keypoints=kp, keypoints_visible=vis, bbox_score=float(score),
                    area=float(np.prod(scale * PIXEL_STD)), bbox=np.asarray(box, np.float32))

    def _from_ground_truth(self) -> list[dict]:
        k, category = self.num_keypoints, self._category()
        data = []
        for img_id in sorted(self.coco.getImgIds()):
            img = self.coco.imgs[img_id]
            width, height = img.get('width'), img.get('height')
            for ann in self.coco.imgToAnns.get(img_id, []):
                if ann['category_id'] != category:
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
        k, category = self.num_keypoints, self._category()
        data = []
        for i, d in enumerate(dets):
            if d.get('category_id', category) != category:
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
