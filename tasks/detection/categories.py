"""Which COCO ``category_id`` (and class name) each detector label stands for, in inference results.

Labels are contiguous ``0..C-1`` in increasing category id order (:mod:`.dataset`); the ids themselves are the
training data's (COCO: 1..90 with gaps; the synthetic set: 1, 3, 4, 7). They are taken, first found:

1. the checkpoint's ``meta['dataset_meta']`` (mmengine saves the training dataset's metainfo in every checkpoint:
   ``cat_ids``, ``classes``), kept by :func:`hrvision.init_model` as ``model.dataset_meta``;
2. the config's test (else val) dataset annotation file, when it exists (``category_mapping`` of its
   ``categories``);
3. for an 80-class model, the standard COCO 2017 ids and names;
4. else ``category_id = label + 1``, with a printed warning line that says so (never silently).
A source whose number of categories is not the model's is passed over, with a warning line naming it.
"""
from __future__ import annotations

import os.path as osp
import sys
from dataclasses import dataclass

COCO80_IDS = (list(range(1, 12)) + list(range(13, 26)) + [27, 28] + list(range(31, 45)) + list(range(46, 66))
              + [67, 70] + list(range(72, 83)) + list(range(84, 91)))
COCO80_NAMES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
    'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
    'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
    'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
    'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear',
    'hair drier', 'toothbrush')


@dataclass
class Categories:
    ids: list[int]            # label -> category id
    names: list[str] | None   # label -> class name (captions), None when unknown
    source: str               # where they come from (for messages)


def _ann_file(cfg) -> str | None:
    """The config's test (else val) dataset annotation file, joined with its ``data_root`` as mmengine does."""
    for loader in ('test_dataloader', 'val_dataloader'):
        ds = ((cfg.get(loader) or {}) if cfg is not None else {}).get('dataset') or {}
        ann = ds.get('ann_file')
        if ann:
            return ann if osp.isabs(ann) else osp.join(ds.get('data_root') or '', ann)
    return None


def resolve(model, num_classes: int) -> Categories:
    """The label -> category id mapping of ``model`` (see the module docstring); prints the warning of rule 4,
    and one naming a source passed over for its number of categories."""
    absent: list[str] = []       # sources not there
    mismatched: list[str] = []   # sources there, for another number of classes
    found = _resolve(model, num_classes, absent, mismatched)
    if found.source == 'label + 1':
        print(f'hrvision: warning: detection category_id = label + 1 for this {num_classes}-class model, not real '
              f'category ids: {"; ".join(absent + mismatched)}, and {num_classes} classes are not COCO\'s 80',
              file=sys.stderr)
    elif mismatched:
        print(f'hrvision: warning: detection category ids from {found.source}; passed over: '
              f'{"; ".join(mismatched)} (the model has {num_classes} classes)', file=sys.stderr)
    return found


def _resolve(model, num_classes: int, absent: list, mismatched: list) -> Categories:
    meta = getattr(model, 'dataset_meta', None) or {}
    ids = list(meta.get('cat_ids') or [])
    if ids and len(ids) == num_classes:
        names = list(meta.get('classes') or []) or None
        return Categories([int(i) for i in ids], names if names and len(names) == num_classes else None,
                          "the checkpoint's dataset_meta")
    if ids:
        mismatched.append(f"the checkpoint's dataset_meta has {len(ids)} category ids")
    else:
        absent.append("the checkpoint has no dataset_meta['cat_ids']")
    ann = _ann_file(getattr(model, 'cfg', None))
    if ann and osp.isfile(ann):
        from .dataset import category_mapping, load_coco
        ids, names = category_mapping(load_coco(ann, image_info=True), ann)
        if len(ids) == num_classes:
            return Categories(ids, names, ann)
        mismatched.append(f"the config's annotation file {ann} has {len(ids)} categories")
    else:
        absent.append(f"the config's annotation file {ann} does not exist" if ann else
                      'the config names no annotation file')
    if num_classes == len(COCO80_IDS):
        return Categories(list(COCO80_IDS), list(COCO80_NAMES), 'the standard COCO 80 categories')
    return Categories(list(range(1, num_classes + 1)), None, 'label + 1')


__all__ = ['COCO80_IDS', 'COCO80_NAMES', 'Categories', 'resolve']
