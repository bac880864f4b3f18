"""COCO for several heads at once: boxes, person keypoints and instance masks of the same images.

``CocoMultiTaskDataset`` reads ``instances_*.json`` (boxes, polygons; validated by the detection loader) and
optionally ``person_keypoints_*.json`` (validated by the pose loader) with pycocotools, and yields per image what
each configured head needs; ``tasks`` maps head names to label kinds (``det``, ``pose``, ``seg``). An image is
*labelled* for ``det`` when it has a box, for ``pose`` when a person has at least one labelled joint, for ``seg``
when an object has a mask. Images labelled for no configured head are skipped and counted
(``dataset.stats['skipped_unlabelled']``).

``MultiSourceDataset`` concatenates datasets of different tasks (e.g. Cityscapes for ``seg`` with COCO for
``pose``) and stamps each sample with the head names its source labels; :class:`.sampler.TaskBatchSampler`
then forms batches from one source at a time.
"""
from __future__ import annotations

import os.path as osp
from collections import Counter
from typing import Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from hrvision.data.checks import require_samples
from hrvision.data.coco import check_segmentation, file_summary, orphan_annotations
from hrvision.data.pipeline import build_pipeline
from hrvision.errors import DataError
from hrvision.registry import DATASETS
from hrvision.tasks.detection.dataset import category_mapping, clip_xywh, load_coco as load_instances
from hrvision.tasks.pose.dataset import load_coco as load_keypoints

KINDS = ('det', 'pose', 'seg')
SEG_MODES = ('person', 'category')


@DATASETS.register_module()
class CocoMultiTaskDataset(BaseDataset):
    """Args:
        ann_file: ``instances_*.json`` (relative to ``data_root``).
        kpt_file: ``person_keypoints_*.json`` (relative to ``data_root``); None = no keypoints.
        tasks: ``{head name: kind}``; default ``dict(det='det', pose='pose', seg='seg')``.
        seg_mode: ``'person'`` (1 = person, 0 = background) or ``'category'`` (label + 1, 0 = background).
        person_category: COCO category id of people (1).
        data_prefix: ``dict(img='train2017/')``.
    """

    METAINFO: dict = dict(classes=())

    def __init__(self, *args, kpt_file: str | None = None, tasks: dict | None = None, seg_mode: str = 'person',
                 person_category: int = 1, **kwargs) -> None:
        tasks = dict(tasks or {k: k for k in KINDS})
        bad = {n: k for n, k in tasks.items() if k not in KINDS}
        if bad:
            raise DataError(f'CocoMultiTaskDataset tasks {bad}: kinds must be one of {KINDS}')
        if seg_mode not in SEG_MODES:
            raise DataError(f'seg_mode must be one of {SEG_MODES}, got {seg_mode!r}')
        if 'pose' in tasks.values() and not kpt_file:
            raise DataError('CocoMultiTaskDataset: a pose task needs kpt_file (person_keypoints_*.json)')
        self.kpt_file = kpt_file
        self.tasks = tasks
        self.seg_mode = seg_mode
        self.person_category = person_category
        self.stats: Counter = Counter()
        # transforms built from hrvision's registry: mmengine's BaseDataset would build them from its root
        # registry, which knows them only under default_scope='hrvision' (a KeyError in plain Python)
        kwargs['pipeline'] = build_pipeline(kwargs.get('pipeline', ()))
        super().__init__(*args, **kwargs)

    def _path(self, p: str | None) -> str | None:
        if p and self.data_root and not osp.isabs(p):
            return osp.join(self.data_root, p)
        return p

    def load_data_list(self) -> list[dict]:
        ann_file, kpt_file = self.ann_file, self._path(self.kpt_file)
        coco = load_instances(ann_file)
        cat_ids, names = category_mapping(coco, ann_file)
        if self.person_category not in cat_ids:
            raise DataError(f'{ann_file}: person category id {self.person_category} is not declared '
                           f'(categories {cat_ids})')
        cat2label = {c: i for i, c in enumerate(cat_ids)}
        kpts = load_keypoints(kpt_file) if kpt_file else None
        person_label = cat2label[self.person_category]
        seg_classes = ('background', 'person') if self.seg_mode == 'person' else ('background', *names)
        self._metainfo.update(classes=tuple(names), cat_ids=cat_ids, ann_file=ann_file, kpt_file=kpt_file,
                              person_label=person_label, seg_classes=seg_classes, tasks=dict(self.tasks))
        img_dir = self.data_prefix.get('img', '') or self.data_prefix.get('img_path', '') or ''
        stats: Counter = Counter(image_id_not_in_images=orphan_annotations(coco))
        if kpts is not None:   # people on images the instances file does not list are unreachable
            stats['kpt_image_id_not_in_images'] = sum(1 for a in kpts.dataset['annotations']
                                                      if a['image_id'] not in coco.imgs)
        data_list = []
        for img_id in sorted(coco.imgs):
            info = coco.imgs[img_id]
            W, H = int(info['width']), int(info['height'])
            boxes, labels, polys = [], [], []
            for ann in coco.imgToAnns.get(img_id, []):
                if ann.get('iscrowd', 0):
                    stats['crowd_ignored'] += 1
                    continue
                box, _ = clip_xywh(ann['bbox'], W, H)
                if box is None:
                    stats['skipped_no_area'] += 1
                    continue
                boxes.append(box)
                labels.append(cat2label[ann['category_id']])
                if ann.get('segmentation'):
                    check_segmentation(ann['segmentation'], ann_file, f'annotation id {ann["id"]}', H, W)
                    polys.append((cat2label[ann['category_id']], ann['segmentation']))
            people = self._people(kpts, img_id, W, H) if kpts is not None else []
            have = {'det': bool(boxes), 'pose': any(p[1][:, 2].max() > 0 for p in people), 'seg': bool(polys)}
            labelled = [name for name, kind in self.tasks.items() if have[kind]]
            if not labelled:
                stats['skipped_unlabelled'] += 1
                continue
            # people painted last: they are drawn on top of other objects
            polys.sort(key=lambda lp: lp[0] == person_label)
            data_list.append(dict(
                img_path=osp.join(img_dir, info['file_name']), img_id=int(img_id), height=H, width=W,
                gt_bboxes=np.asarray(boxes, np.float32).reshape(-1, 4), gt_labels=np.asarray(labels, np.int64),
                gt_polygons=polys, person_label=person_label, seg_mode=self.seg_mode,
                gt_person_bboxes=np.asarray([p[0] for p in people], np.float32).reshape(-1, 4),
                gt_keypoints=np.asarray([p[1] for p in people], np.float32).reshape(-1, 17, 3),
                tasks=labelled, task_kinds=dict(self.tasks)))
        stats['images'] = len(data_list)
        self.stats = stats
        print_log(f'CocoMultiTaskDataset {ann_file}: ' + ', '.join(f'{k}={v}' for k, v in sorted(stats.items())),
                  logger='current')
        return require_samples(data_list, ann_file + (f' + {kpt_file}' if kpt_file else ''),
                               f'images labelled for {sorted(set(self.tasks.values()))}', stats, file_summary(coco))

    def _people(self, kpts, img_id: int, W: int, H: int) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for ann in kpts.imgToAnns.get(img_id, []):
            if ann.get('iscrowd', 0) or ann['category_id'] != self.person_category or not ann.get('keypoints'):
                continue
            box, _ = clip_xywh(ann['bbox'], W, H)
            if box is None:
                continue
            out.append((box, np.asarray(ann['keypoints'], np.float32).reshape(-1, 3)))
        return out


@DATASETS.register_module()
class MultiSourceDataset:
    """Concatenation of datasets labelled for different heads; ``sources=[dict(dataset=cfg, tasks=['seg']), ...]``.

    Each sample's ``metainfo['tasks']`` becomes its source's ``tasks`` (the heads it is labelled for).
    """

    def __init__(self, sources: Sequence[dict], lazy_init: bool = False) -> None:
        if not sources:
            raise DataError('MultiSourceDataset needs at least one source')
        self.datasets, self.source_tasks = [], []
        for i, src in enumerate(sources):
            if 'dataset' not in src or not src.get('tasks'):
                raise DataError(f'MultiSourceDataset sources[{i}] needs "dataset" and a non-empty "tasks" list')
            ds = src['dataset']
            ds = DATASETS.build(ds) if isinstance(ds, dict) else ds
            if len(ds) == 0:
                raise DataError(f'MultiSourceDataset sources[{i}] ({type(ds).__name__}) is empty')
            self.datasets.append(ds)
            self.source_tasks.append(list(src['tasks']))
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))
        self.metainfo = dict(self.datasets[0].metainfo)
        if len(self.datasets) > 1:   # one source's files do not name the others': a metric states its own file
            for key in ('ann_file', 'kpt_file'):
                self.metainfo.pop(key, None)
        self.metainfo['source_tasks'] = self.source_tasks

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def source_of(self, idx: int) -> int:
        return int(np.searchsorted(self.cumulative_sizes, idx, side='right'))

    def __getitem__(self, idx: int) -> dict:
        s = self.source_of(idx)
        start = 0 if s == 0 else int(self.cumulative_sizes[s - 1])
        item = self.datasets[s][idx - start]
        item['data_samples'].set_metainfo({'tasks': list(self.source_tasks[s])})
        return item

    def full_init(self) -> None:
        for d in self.datasets:
            if hasattr(d, 'full_init'):
                d.full_init()


__all__ = ['CocoMultiTaskDataset', 'MultiSourceDataset']
