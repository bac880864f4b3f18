"""COCO for several heads at once: boxes, person keypoints and instance masks of the same images.

``CocoMultiTaskDataset`` reads ``instances_*.json`` (boxes, polygons; validated by the detection loader) and
optionally ``person_keypoints_*.json`` (validated by the pose loader) with pycocotools, and yields per image what
each configured head needs; ``tasks`` maps head names to label kinds (``detection``, ``pose``, ``segmentation``;
the old kinds ``det`` / ``seg`` are accepted with a deprecation warning). An image is *labelled* for ``detection``
when it has a box, for ``pose`` when a person has at least one labelled joint, for ``segmentation`` when an object
has a mask. Images labelled for no configured head are skipped and counted
(``dataset.stats['skipped_unlabelled']``).

``MultiSourceDataset`` concatenates datasets of different tasks (e.g. Cityscapes for ``seg`` with COCO for
``pose``) and stamps each sample with the head names its source labels; :class:`.sampler.MultiTaskBatchSampler`
then forms batches from one source at a time.
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
from hrvision.data.coco import check_dataset_args, check_segmentation, file_summary, keypoint_category, load_coco, \
    orphan_annotations
from hrvision.data.metainfo import sided_class_indices
from hrvision.data.pipeline import build_pipeline
from hrvision.errors import ConfigError, DataError
from hrvision.registry import DATASETS, task_kind
from hrvision.tasks.detection.dataset import category_mapping, clip_xywh

KINDS = ('detection', 'pose', 'segmentation')
DEFAULT_TASKS = dict(det='detection', pose='pose', seg='segmentation')   # head name -> kind
SEG_MODES = ('person', 'category')


@DATASETS.register_module()
class CocoMultiTaskDataset(BaseDataset):
    """Args:
        ann_file: ``instances_*.json`` (relative to ``data_root``).
        kpt_file: ``person_keypoints_*.json`` (relative to ``data_root``); None = no keypoints.
        tasks: ``{head name: kind}`` (kinds: ``KINDS``; head names are the config's own); default
            ``dict(det='detection', pose='pose', seg='segmentation')``.
        seg_mode: ``'person'`` (1 = person, 0 = background) or ``'category'`` (label + 1, 0 = background).
        person_category: category id of people in ``ann_file``; left out: the keypoint file's keypoint category
            (:func:`hrvision.data.coco.keypoint_category`), else COCO's 1. A stated id must be that category.
        metainfo: the config's metadata (``hrvision.data.metainfo``; ``from_file`` too), over the keypoint
            file's categories and the COCO preset.
        data_prefix: ``dict(img='train2017/')``.
    """

    METAINFO: dict = dict(classes=())

    def __init__(self, *args, kpt_file: str | None = None, tasks: dict | None = None, seg_mode: str = 'person',
                 person_category: int | None = None, **kwargs) -> None:
        check_dataset_args(type(self), kwargs)
        tasks = {n: task_kind(k) for n, k in dict(tasks or DEFAULT_TASKS).items()}
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
        self._config_metainfo = copy.deepcopy(kwargs.get('metainfo'))
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
        coco = load_coco(ann_file, boxes=True)
        cat_ids, names = category_mapping(coco, ann_file)
        cat2label = {c: i for i, c in enumerate(cat_ids)}
        kpts = load_coco(kpt_file, keypoints=self._keypoint_meta) if kpt_file else None
        if kpts is None:
            self._config_only_metainfo()
        self._kpt_category = self._person_category(coco, kpts, cat_ids, names, ann_file, kpt_file)
        person_label = cat2label.get(self._kpt_category, -1)
        seg_classes = ('background', 'person') if self.seg_mode == 'person' else ('background', *names)
        self._metainfo.update(classes=tuple(names), cat_ids=cat_ids, ann_file=ann_file, kpt_file=kpt_file,
                              person_label=person_label, seg_classes=seg_classes, tasks=dict(self.tasks),
                              flip_class_indices=sided_class_indices(   # left_hand <-> right_hand
                                  names, (self._config_metainfo or {}).get('flip_class_pairs'),
                                  'CocoMultiTaskDataset metainfo'))
        img_dir = self.data_prefix.get('img', '') or ''
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
            have = {'detection': bool(boxes), 'pose': any(p[1][:, 2].max() > 0 for p in people),
                    'segmentation': bool(polys)}
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
                gt_keypoints=np.asarray([p[1] for p in people], np.float32).reshape(-1, self.num_keypoints, 3),
                tasks=labelled, task_kinds=dict(self.tasks)))
        stats['images'] = len(data_list)
        self.stats = stats
        # a pose task whose people were all dropped would train on nothing, silently
        if kpts is not None and 'pose' in self.tasks.values() and data_list and \
                not any((d['gt_keypoints'][..., 2] > 0).any() for d in data_list):
            raise DataError(f'{kpt_file}: no person of keypoint category {self._kpt_category} with a labelled joint '
                            f'on the images of {ann_file}; the pose head would have nothing to learn')
        print_log(f'CocoMultiTaskDataset {ann_file}: ' + ', '.join(f'{k}={v}' for k, v in sorted(stats.items())),
                  logger='current')
        return require_samples(data_list, ann_file + (f' + {kpt_file}' if kpt_file else ''),
                               f'images labelled for {sorted(set(self.tasks.values()))}', stats, file_summary(coco))

    num_keypoints = 17

    def _person_category(self, coco, kpts, cat_ids, names, ann_file, kpt_file) -> int | None:
        """The people's category id: the keypoint file's keypoint category (the ids the pose loader checked the
        keypoints of), which must be a category of the instances file with the same name; a stated
        ``person_category`` must be that id. Without a keypoint file: ``person_category`` (default 1)."""
        if kpts is None:
            cat = 1 if self.person_category is None else self.person_category
            person_masks = self.seg_mode == 'person' and 'segmentation' in self.tasks.values()
            if cat not in cat_ids and (self.person_category is not None or person_masks):
                raise DataError(f'{ann_file}: person category id {cat} is not declared (categories {cat_ids})')
            return cat if cat in cat_ids else None   # boxes only, no person class among them
        cat = keypoint_category(kpts.dataset['categories'], kpt_file)
        if self.person_category is not None and self.person_category != cat:
            raise ConfigError(f'CocoMultiTaskDataset person_category={self.person_category} but the keypoint '
                              f'category of {kpt_file} is {cat}; leave person_category out, it follows from the file')
        if cat not in cat_ids:
            raise DataError(f'{kpt_file}: keypoint category id {cat} is not a category of {ann_file} '
                            f'(ids {cat_ids}); both files must give the people the same category id')
        kname = next((str(c.get('name')) for c in kpts.dataset['categories'] if c.get('id') == cat), None)
        iname = names[cat_ids.index(cat)]
        if kname is not None and kname != iname:
            raise DataError(f'{kpt_file}: keypoint category {cat} is named {kname!r} but in {ann_file} category {cat} '
                            f'is {iname!r}; both files must give the people the same category id')
        return cat

    def _config_only_metainfo(self) -> None:
        """Without a keypoint file the config's metainfo (``from_file`` too) is parsed on its own."""
        from hrvision.data.metainfo import parse_metainfo
        if self._config_metainfo:
            meta = parse_metainfo(self._config_metainfo, 'CocoMultiTaskDataset metainfo')
            self._metainfo.pop('from_file', None)
            self._metainfo.update({k: v for k, v in meta.items() if k != 'classes'})

    @classmethod
    def _load_metainfo(cls, metainfo: dict | None = None) -> dict:
        """The class preset with the config's keys on top, unparsed until the files are read (mmengine's would read
        any string value naming an existing file as a list of lines, ``from_file`` included)."""
        if metainfo is not None and not isinstance(metainfo, dict):
            raise ConfigError(f'{cls.__name__}: metainfo must be a dict, got {type(metainfo).__name__}')
        return dict(copy.deepcopy(cls.METAINFO), **copy.deepcopy(metainfo or {}))

    def _keypoint_meta(self, categories: list) -> int:
        """The keypoint file's metadata (COCO preset < the file's categories < ``metainfo``'s keypoint keys,
        :func:`hrvision.data.metainfo.merge_metainfo`) into ``metainfo``; returns the keypoint count."""
        from hrvision.data.metainfo import KEYPOINT_KEYS, from_coco_categories, merge_metainfo
        kpt_file = self._path(self.kpt_file)
        own = from_coco_categories(categories, kpt_file) if any(
            isinstance(c, dict) and c.get('keypoints') for c in categories) else None
        cfg = {k: v for k, v in (self._config_metainfo or {}).items() if k != 'classes'}   # classes: instances'
        meta = merge_metainfo(dict(from_file='_base_/datasets/coco.py'), own, cfg,
                              config_source='CocoMultiTaskDataset metainfo', data_source=kpt_file)
        self._metainfo.pop('from_file', None)
        self._metainfo.update({k: v for k, v in meta.items() if k in KEYPOINT_KEYS or k not in ('classes',
                                                                                          'category_ids', 'palette')})
        self.num_keypoints = meta['num_keypoints']
        return self.num_keypoints

    def get_data_info(self, idx: int) -> dict:
        """mmengine's, plus ``flip_indices`` (the keypoint file's metadata) and, for classes named by side,
        ``flip_class_indices`` (box labels) and ``flip_seg_class_indices`` (mask labels), for the flip transform."""
        info = super().get_data_info(idx)
        if self._metainfo.get('flip_indices') is not None:
            info['flip_indices'] = list(self._metainfo['flip_indices'])
        perm = self._metainfo.get('flip_class_indices')
        if perm is not None:
            info['flip_class_indices'] = list(perm)
            if self.seg_mode != 'person':   # mask label = 1 + box label (0: background)
                info['flip_seg_class_indices'] = [0] + [1 + int(k) for k in perm]
        return info

    def _people(self, kpts, img_id: int, W: int, H: int) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for ann in kpts.imgToAnns.get(img_id, []):
            if ann.get('iscrowd', 0) or ann['category_id'] != self._kpt_category or not ann.get('keypoints'):
                continue
            box, _ = clip_xywh(ann['bbox'], W, H)
            if box is None:
                continue
            out.append((box, np.asarray(ann['keypoints'], np.float32).reshape(-1, 3)))
        return out


CLASS_KEYS = ('classes', 'palette', 'category_ids')
# what :meth:`MultiTaskModel.check_dataset_meta` compares per head, kept for each source of a mixed dataset
SOURCE_KEYS = ('classes', 'seg_classes', 'num_keypoints', 'keypoint_names', 'tasks')


def merge_source_metainfo(metas: list[dict], source_tasks: list[list[str]]) -> dict:
    """One metadata for sources labelled for different heads: the first source's, with the keypoint keys of the
    source that has them (its names, sigmas and skeleton reach the keypoint metric, the pictures and the
    checkpoint; two sources labelling one head with different keypoint metadata are refused) and the classes of
    the first source that has them. ``sources`` keeps, per source, its heads and what the heads' channel counts
    are checked against."""
    from hrvision.data.metainfo import KEYPOINT_KEYS
    out = dict(metas[0])
    if len(metas) > 1:   # one source's files do not name the others': a metric states its own file
        for key in ('ann_file', 'kpt_file', 'img_ids'):
            out.pop(key, None)
        kp = [(i, m) for i, m in enumerate(metas) if m.get('keypoint_names') or m.get('num_keypoints')]
        for n, (i, m) in enumerate(kp):   # one head, one keypoint layout (a pose and a face head may differ)
            for j, other in kp[n + 1:]:
                diff = [k for k in KEYPOINT_KEYS if _plain(m.get(k)) != _plain(other.get(k))]
                if diff and set(source_tasks[i]) & set(source_tasks[j]):
                    raise ConfigError(f'MultiSourceDataset sources[{i}] and sources[{j}] have different keypoint '
                                      f'metadata ({", ".join(diff)}) for the same head(s) '
                                      f'{sorted(set(source_tasks[i]) & set(source_tasks[j]))}; one head has one '
                                      'keypoint layout')
        if kp:   # the OKS metric's: a source with sigmas (keypoints) before one without (face landmarks)
            first = next((m for _, m in kp if m.get('sigmas') is not None), kp[0][1])
            ref = {k: first.get(k) for k in KEYPOINT_KEYS}
            for k in KEYPOINT_KEYS:
                out.pop(k, None)
            out.update({k: v for k, v in ref.items() if v is not None})
        if not out.get('classes'):
            for k in CLASS_KEYS:
                out.pop(k, None)
            donor = next((m for m in metas if m.get('classes')), None)
            if donor is not None:
                out.update({k: donor[k] for k in CLASS_KEYS if k in donor})
    out['source_tasks'] = source_tasks
    out['sources'] = [dict({k: _plain(m[k]) for k in SOURCE_KEYS if m.get(k) is not None}, heads=list(t))
                      for m, t in zip(metas, source_tasks)]
    return out


def _plain(v):
    """Tuples as lists, recursively (metadata compared and stored JSON-style)."""
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


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
        self.metainfo = merge_source_metainfo([dict(d.metainfo) for d in self.datasets], self.source_tasks)

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


__all__ = ['CocoMultiTaskDataset', 'MultiSourceDataset', 'merge_source_metainfo']
