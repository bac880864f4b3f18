"""Which COCO ``category_id`` (and class name) each detector label stands for, in inference results.

Labels are contiguous ``0..C-1`` in increasing category id order (:mod:`.dataset`); the ids themselves are the
training data's (COCO: 1..90 with gaps; the synthetic set: 1, 3, 4, 7). They are taken, first found:

1. the ids the user gives: ``Inferencer(category_ids=...)``, ``hrvision infer --category-ids FILE`` or the
   config's top-level ``category_ids`` (``--cfg-options category_ids=[1,3,4,7]``): a list of ids, or a JSON file
   holding one or a COCO annotation file (its ``categories``, in increasing id order);
2. the checkpoint's ``meta['dataset_meta']`` (mmengine saves the training dataset's metainfo in every checkpoint:
   ``cat_ids``, ``classes``), kept by :func:`hrvision.init_model` as ``model.dataset_meta``;
3. the config's test (else val) dataset annotation file, when it exists (``category_mapping`` of its
   ``categories``);
4. the categories the config's dataset ``metainfo`` states (``_base_/datasets/coco_detection.py`` in the COCO
   configs), when no annotation file is at hand: a converted mmdetection checkpoint stores no ids.

Never guessed: COCO's 80 ids for an 80-class model, or ``label + 1``, would be made-up ids that score AP 0 on an
evaluation server. Without a source the results carry the labels only, pictures caption the label indices, and
writing COCO results (``detections.json``, a detector head's ids in multi-task ``results.json``) is refused in one
line (:func:`require_ids`). A found source whose number of categories is not the model's is passed over, with a
warning line naming it; given ids of the wrong number are an error.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import sys
from dataclasses import dataclass
from types import SimpleNamespace

from hrvision.errors import InputError

GIVE_IDS = ('--category-ids FILE (a JSON list of the ids in label order, or a COCO annotation file with the '
            "model's categories), --cfg-options category_ids=[...] or Inferencer(category_ids=...)")


@dataclass
class Categories:
    ids: list[int] | None     # label -> category id; None: not known
    names: list[str] | None   # label -> class name (captions), None when unknown
    source: str               # where they come from, or (ids None) what was looked for, for messages


def _ann_file(cfg) -> str | None:
    """The config's test (else val) dataset annotation file, joined with its ``data_root`` as mmengine does."""
    for loader in ('test_dataloader', 'val_dataloader'):
        ds = ((cfg.get(loader) or {}) if cfg is not None else {}).get('dataset') or {}
        ann = ds.get('ann_file')
        if ann:
            return ann if osp.isabs(ann) else osp.join(ds.get('data_root') or '', ann)
    return None


def read_category_ids(source, what: str = '--category-ids') -> tuple[list[int], list[str] | None]:
    """Ids (and names when the source has them) from a list of ids, or from a JSON file holding such a list or a
    COCO annotation file (``categories``, in increasing id order, as the training labels). Errors name ``what``."""
    names = None
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not osp.isfile(path):
            raise InputError(f'{what} {path}: no such file')
        try:
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f'{what} {path}: not a JSON file ({e})') from None
        where = f'{what} {path}'
        if isinstance(data, dict):
            if not isinstance(data.get('categories'), list) or not data['categories']:
                raise InputError(f'{where}: expected a JSON list of category ids or a COCO annotation file with '
                                 f'"categories"; got an object without a "categories" list')
            from hrvision.errors import DataError
            from .dataset import category_mapping
            try:
                data, names = category_mapping(SimpleNamespace(dataset={'categories': data['categories']}), path)
            except (KeyError, TypeError) as e:
                raise DataError(f'{where}: every entry of "categories" needs an "id" ({e})') from None
    else:
        data, where = source, what
    if not isinstance(data, (list, tuple)) or not data or \
            not all(isinstance(i, int) and not isinstance(i, bool) for i in data):
        raise InputError(f'{where}: expected a non-empty list of integer category ids, got {str(data)[:80]}')
    dup = sorted({i for i in data if list(data).count(i) > 1})
    if dup:
        raise InputError(f'{where}: duplicate category ids {dup}')
    return [int(i) for i in data], names


def resolve(model, num_classes: int, given=None) -> Categories:
    """The label -> category id mapping of ``model`` (see the module docstring); ``given``: the user's ids (a list
    or a file, rule 1). Prints a warning line naming a source passed over for its number of categories."""
    absent: list[str] = []       # sources not there
    mismatched: list[str] = []   # sources there, for another number of classes
    found = _resolve(model, num_classes, given, absent, mismatched)
    if found.ids is not None and mismatched:
        print(f'hrvision: warning: detection category ids from {found.source}; passed over: '
              f'{"; ".join(mismatched)} (the model has {num_classes} classes)', file=sys.stderr)
    return found


def _resolve(model, num_classes: int, given, absent: list, mismatched: list) -> Categories:
    cfg = getattr(model, 'cfg', None)
    what = 'category_ids (--category-ids)'
    if given is None and cfg is not None and cfg.get('category_ids') is not None:
        given, what = cfg.get('category_ids'), "the config's category_ids"
    if given is not None:
        ids, names = read_category_ids(given, what)
        if len(ids) != num_classes:
            raise InputError(f'{what}: {len(ids)} category ids for a {num_classes}-class model (one id per label, '
                             f'in label order)')
        return Categories(ids, names, what)
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
    ann = _ann_file(cfg)
    if ann and osp.isfile(ann):
        from hrvision.data.coco import load_coco

        from .dataset import category_mapping
        ids, names = category_mapping(load_coco(ann, boxes=True, image_info=True), ann)
        if len(ids) == num_classes:
            return Categories(ids, names, ann)
        mismatched.append(f"the config's annotation file {ann} has {len(ids)} categories")
    else:
        absent.append(f"the config's annotation file {ann} does not exist" if ann else
                      'the config names no annotation file')
    stated = _stated(cfg)
    if stated is not None:
        ids, names, where = stated
        if len(ids) == num_classes:
            return Categories(ids, names if len(names) == num_classes else None, where)
        mismatched.append(f'{where} states {len(ids)} categories')
    return Categories(None, None, '; '.join(absent + mismatched))


def _stated(cfg):
    """The category ids and names the config's dataset ``metainfo`` states (:func:`config_metainfo`), or None."""
    from hrvision.data.metainfo import config_metainfo
    meta = (config_metainfo(cfg) if cfg is not None else None) or {}
    if not meta.get('category_ids'):
        return None
    return ([int(i) for i in meta['category_ids']], list(meta.get('classes') or ()),
            "the config's dataset metainfo")


def require_ids(categories: Categories, num_classes: int, what: str = 'detections.json') -> list[int]:
    """The ids, or the one-line refusal to write ``what`` without them (never made-up ids)."""
    if categories.ids is None:
        raise InputError(f'{what} needs the dataset category id of each of the {num_classes} detector labels and '
                         f'none is known ({categories.source}); give them with {GIVE_IDS}')
    return categories.ids


__all__ = ['Categories', 'GIVE_IDS', 'read_category_ids', 'require_ids', 'resolve']
