"""COCO instances (``instances_{train,val}2017.json``) as an mmengine dataset of boxes.

* crowd annotations (``iscrowd=1``) are ignored; images with no usable box are kept for
  evaluation and dropped for training only when ``filter_empty_gt=True``;
* boxes are clipped to the image; boxes with no area left (zero-size, or entirely outside the
  image) are skipped; every such case is counted in :attr:`CocoDetectionDataset.stats` and logged;
* category ids map to contiguous labels ``0..C-1`` in increasing id order (``metainfo['cat_ids']``);
  an annotation with an id missing from ``categories`` is an error naming the file and annotation.
"""
from __future__ import annotations

import os.path as osp
from collections import Counter

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from hrvision.data.checks import require_samples
from hrvision.data.coco import check_dataset_args, file_summary, load_coco, orphan_annotations
from hrvision.data.metainfo import sided_class_indices
from hrvision.data.pipeline import build_pipeline
from hrvision.errors import ConfigError, DataError, MissingFileError
from hrvision.registry import DATASETS


def category_mapping(coco, ann_file: str = '') -> tuple[list[int], list[str]]:
    """Sorted category ids and their names; duplicate ids are an error."""
    cats = coco.dataset['categories']
    ids = [c['id'] for c in cats]
    dup = [i for i, n in Counter(ids).items() if n > 1]
    if dup:
        raise DataError(f'{ann_file}: duplicate category ids {dup} in "categories"')
    order = sorted(range(len(cats)), key=lambda i: ids[i])
    return [ids[i] for i in order], [cats[i].get('name', str(ids[i])) for i in order]


def _ids(ids) -> str:
    ids = list(ids)
    return ', '.join(map(str, ids)) if len(ids) <= 6 else f'{", ".join(map(str, ids[:6]))}, ...'


def clip_xywh(bbox, width: int, height: int) -> tuple[np.ndarray | None, bool]:
    """COCO ``[x, y, w, h]`` -> clipped xyxy (or None when no area is left) and whether it was clipped."""
    x, y, w, h = (float(v) for v in bbox)
    x1, y1, x2, y2 = x, y, x + w, y + h
    cx1, cy1 = min(max(x1, 0.0), width), min(max(y1, 0.0), height)
    cx2, cy2 = min(max(x2, 0.0), width), min(max(y2, 0.0), height)
    if cx2 - cx1 <= 0 or cy2 - cy1 <= 0:
        return None, False
    clipped = (cx1, cy1, cx2, cy2) != (x1, y1, x2, y2)
    return np.array([cx1, cy1, cx2, cy2], np.float32), clipped


@DATASETS.register_module()
class CocoDetectionDataset(BaseDataset):
    """COCO boxes of any categories (ids kept as in the file: ``metainfo['cat_ids']``, names ``metainfo['classes']``).
    ``data_prefix=dict(img='val2017/')`` (relative to ``data_root``), the image-folder key of every COCO dataset.

    Args:
        filter_empty_gt: drop images without usable boxes (training only; never in ``test_mode``).
        min_size: boxes whose clipped width or height is below this (pixels) are skipped and counted.
        check_images: verify every image file exists when loading (fails fast, naming the path).
        metainfo: the categories the config expects (``from_file='_base_/datasets/coco_detection.py'``, or
            ``classes`` / ``category_ids``): the file's categories stay the truth, a file whose ids differ is refused
            (its labels would name other classes), and a model without an annotation file at hand still knows its
            ids (:mod:`.categories`).
    """

    METAINFO: dict = dict(classes=())

    def __init__(self, *args, filter_empty_gt: bool = False, min_size: float = 0.0, check_images: bool = True,
                 **kwargs) -> None:
        self.filter_empty_gt = filter_empty_gt
        self.min_size = min_size
        self.check_images = check_images
        self.stats: Counter = Counter()
        check_dataset_args(type(self), kwargs)
        if kwargs.get('metainfo') is not None:   # a relative from_file: data_root first, then the shipped configs
            from hrvision.data.metainfo import rebase_from_file
            kwargs['metainfo'] = rebase_from_file(kwargs['metainfo'], kwargs.get('data_root'),
                                                  f'{type(self).__name__} metainfo')
        kwargs['pipeline'] = build_pipeline(kwargs.get('pipeline', ()))
        super().__init__(*args, **kwargs)

    @classmethod
    def _load_metainfo(cls, metainfo: dict | None = None) -> dict:
        """The config's expected categories, parsed once (none stated: the file alone decides)."""
        from hrvision.data.metainfo import merge_metainfo
        if metainfo is None:
            return dict(cls.METAINFO)
        if not isinstance(metainfo, dict):
            raise ConfigError(f'{cls.__name__} metainfo must be a dict (classes, category_ids, or from_file=...), '
                              f'got {type(metainfo).__name__}')
        return merge_metainfo(None, None, dict(metainfo), config_source=f'{cls.__name__} metainfo')

    def get_data_info(self, idx: int) -> dict:
        """mmengine's, plus ``flip_class_indices`` when classes are named by side (the flip swaps their labels)."""
        info = super().get_data_info(idx)
        if self._metainfo.get('flip_class_indices') is not None:
            info['flip_class_indices'] = list(self._metainfo['flip_class_indices'])
        return info

    def load_data_list(self) -> list[dict]:
        ann_file = self.ann_file
        coco = load_coco(ann_file, boxes=True, image_info=self.test_mode)   # test-dev: images only, format-only
        cat_ids, names = category_mapping(coco, ann_file)
        stated = self._metainfo.get('category_ids')
        if stated is not None and list(stated) != cat_ids:
            raise DataError(f'{ann_file}: its {len(cat_ids)} category ids ({_ids(cat_ids)}) are not the '
                            f'{len(stated)} the config\'s metainfo states ({_ids(stated)}); labels would name other '
                            'classes: give the dataset metainfo=None (the file decides) or the metainfo of this file')
        self._metainfo.pop('category_ids', None)   # the detection key is cat_ids, from the file
        # left_hand <-> right_hand under a flip: the config's flip_class_pairs ([]: none swap), else the names
        self._metainfo['flip_class_indices'] = sided_class_indices(
            names, self._metainfo.get('flip_class_pairs'), f'{type(self).__name__} metainfo')
        cat2label = {c: i for i, c in enumerate(cat_ids)}
        self._metainfo.update(classes=tuple(names), cat_ids=cat_ids, ann_file=ann_file)
        img_dir = self.data_prefix.get('img', '') or ''
        stats: Counter = Counter(image_id_not_in_images=orphan_annotations(coco))
        data_list = []
        for img_id in sorted(coco.imgs):
            info = coco.imgs[img_id]
            path = osp.join(img_dir, info['file_name'])
            if self.check_images and not osp.isfile(path):
                raise MissingFileError(f'image not found: {path} (image id {img_id} in {ann_file})')
            W, H = int(info['width']), int(info['height'])
            boxes, labels = [], []
            for ann in coco.imgToAnns.get(img_id, []):
                cid = ann['category_id']
                if ann.get('iscrowd', 0):
                    stats['crowd_ignored'] += 1
                    continue
                box, clipped = clip_xywh(ann['bbox'], W, H)
                if box is None or min(box[2] - box[0], box[3] - box[1]) < self.min_size:
                    stats['skipped_no_area' if box is None else 'skipped_too_small'] += 1
                    continue
                stats['clipped'] += int(clipped)
                boxes.append(box)
                labels.append(cat2label[cid])
            if not boxes:
                stats['empty_images'] += 1
                if self.filter_empty_gt and not self.test_mode:
                    stats['empty_images_dropped'] += 1
                    continue
            data_list.append(dict(
                img_path=path, img_id=int(img_id), height=H, width=W,
                gt_bboxes=np.stack(boxes) if boxes else np.zeros((0, 4), np.float32),
                gt_labels=np.asarray(labels, np.int64)))
        stats['images'] = len(data_list)
        stats['boxes'] = sum(len(d['gt_labels']) for d in data_list)
        self.stats = stats
        print_log(f'CocoDetectionDataset {ann_file}: ' + ', '.join(f'{k}={v}' for k, v in sorted(stats.items())),
                  logger='current')
        require_samples(data_list, ann_file, 'images', stats, file_summary(coco))
        if not self.test_mode:   # training on images without a single box learns nothing
            require_samples([b for d in data_list for b in d['gt_labels']], ann_file, 'boxes for training', stats,
                            file_summary(coco))
        return data_list


__all__ = ['CocoDetectionDataset', 'category_mapping', 'clip_xywh']
