"""Which ground-truth file a metric scores against, shared by the metrics that read one (COCO box AP, COCO
keypoint AP, the multi-task keypoint AP).

A metric that reads its own annotation file next to the dataset's can score predictions of one set of images
against the ground truth of another: with the dataset on 2 of 4 images and the metric on all 4, perfect
predictions score AP 0.26, silently. So a metric's file defaults to the evaluated dataset's (its metainfo, which
the runner hands every metric as ``dataset_meta``), a different file is refused, and so is an evaluated image the
file does not hold.
"""
from __future__ import annotations

import os.path as osp
from typing import Iterable

from ..errors import ConfigError, DataError


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (links resolved; compared as written when either does not exist)."""
    try:
        return osp.samefile(a, b)
    except OSError:
        return osp.normpath(osp.abspath(a)) == osp.normpath(osp.abspath(b))


def metric_ann_file(metric: str, own: str | None, dataset_meta: dict | None, key: str = 'ann_file') -> str:
    """The file ``metric`` scores against: its own ``ann_file`` when given, else the dataset's ``dataset_meta[key]``.

    Both given and different: ``ConfigError`` naming both (leave the metric's out, it follows the dataset)."""
    theirs = (dataset_meta or {}).get(key)
    if own and theirs and not same_file(str(own), str(theirs)):
        raise ConfigError(f'{metric} ann_file {own} is not the evaluated dataset\'s {key} {theirs}: the metric would '
                          f'score these predictions against other ground truth; leave the metric\'s ann_file out '
                          f'(it defaults to the dataset\'s) or point both at the same file')
    found = own or theirs
    if not found:
        raise ConfigError(f'{metric} needs ann_file (or a dataset whose metainfo has {key!r})')
    return str(found)


class DatasetMetaMetric:
    """Mixin (before ``BaseMetric``): :meth:`on_dataset_meta` runs when the runner sets ``dataset_meta``, which it
    does when it builds the loop, on every process: a metric checks its settings against the dataset there, before
    any training or inference (and never on rank 0 alone, while the others wait for its results)."""

    @property
    def dataset_meta(self):
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, meta) -> None:
        self._dataset_meta = meta
        self.on_dataset_meta(meta)

    def on_dataset_meta(self, meta) -> None:
        """Check (or derive) settings from the dataset's metadata; raise ``ConfigError`` on a contradiction."""


class DatasetFileMetric(DatasetMetaMetric):
    """Mixin (before ``BaseMetric``) for a metric with an ``ann_file`` that must be its dataset's
    ``dataset_meta[dataset_file_key]``: a different file is refused when the loop is built."""

    dataset_file_key = 'ann_file'

    def on_dataset_meta(self, meta) -> None:
        if getattr(self, 'ann_file', None) and (meta or {}).get(self.dataset_file_key):
            metric_ann_file(type(self).__name__, self.ann_file, meta, self.dataset_file_key)


def check_evaluated_images(ann_file: str, held: Iterable[int], evaluated: Iterable[int]) -> None:
    """Every evaluated image id must be in the metric's file (``held``): ``DataError`` naming the first ones."""
    unknown = sorted(set(int(i) for i in evaluated) - set(int(i) for i in held))
    if unknown:
        raise DataError(f'{ann_file}: {len(unknown)} evaluated image id(s) are not in this annotation file '
                        f'({unknown[:5]}): the metric and the dataset read different files')


__all__ = ['same_file', 'metric_ann_file', 'DatasetMetaMetric', 'DatasetFileMetric', 'check_evaluated_images']
