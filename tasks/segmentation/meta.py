"""Segmentation metadata (classes, palette) as every downstream piece reads it: the dataset's parsed
``metainfo`` (``hrvision.data.metainfo``), the checkpoint's ``meta.dataset_meta`` in ``hrvision infer``, and
the Cityscapes preset (``configs/_base_/datasets/cityscapes.py``) for models that carry no metadata.

Internally the ignore label is always 255 (:data:`~.labels.IGNORE_INDEX`): readers map a dataset's own
``ignore_index`` to it, so padding, losses and the metric need no per-dataset setting.
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

CITYSCAPES_PRESET = '_base_/datasets/cityscapes.py'


@functools.lru_cache(maxsize=1)
def _cityscapes() -> dict:
    from hrvision.data.metainfo import parse_metainfo
    return parse_metainfo(dict(from_file=CITYSCAPES_PRESET), 'the Cityscapes preset')


def cityscapes_meta() -> dict:
    """The parsed Cityscapes preset (19 classes, their palette); a copy."""
    meta = _cityscapes()
    return dict(classes=tuple(meta['classes']), palette=[list(c) for c in meta['palette']])


def is_cityscapes(meta: dict | None) -> bool:
    """Whether ``meta`` names Cityscapes' 19 evaluated classes, in order (their predictions get ``*_labelIds.png``)."""
    classes = (meta or {}).get('classes')
    return classes is not None and tuple(classes) == cityscapes_meta()['classes']


def generated_palette(n: int) -> list[list[int]]:
    """Distinct deterministic colours for datasets that state no palette (index masks only)."""
    rng = np.random.default_rng(12345)
    out = [[0, 0, 0]] if n else []
    while len(out) < n:
        c = [int(x) for x in rng.integers(30, 256, 3)]
        if c not in out:
            out.append(c)
    return out


def palette_array(meta: dict | None, num_classes: int | None = None) -> np.ndarray:
    """(num_classes, 3) uint8 colours: the metadata's palette, else the Cityscapes one for a 19-class model
    without metadata, else generated ones."""
    meta = meta or {}
    n = num_classes if num_classes is not None else len(meta.get('classes') or meta.get('palette') or ())
    pal = meta.get('palette')
    if pal is not None and len(pal) >= n:
        return np.asarray(pal, np.uint8).reshape(-1, 3)
    if n == 19 and not meta.get('classes'):
        return np.asarray(cityscapes_meta()['palette'], np.uint8)
    return np.asarray(generated_palette(max(n, 1)), np.uint8)


def class_names(meta: dict | None, num_classes: int) -> list[str]:
    """The metadata's class names when it has ``num_classes`` of them, else Cityscapes' (19) or ``class_<i>``."""
    classes = (meta or {}).get('classes')
    if classes is not None and len(classes) == num_classes:
        return list(classes)
    if num_classes == 19:
        return list(cityscapes_meta()['classes'])
    return [f'class_{i}' for i in range(num_classes)]


def colour_table(palette: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted packed RGB keys, class index of each key) for mapping colour masks through the palette."""
    keys = np.array([(int(r) << 16) | (int(g) << 8) | int(b) for r, g, b in palette], np.int64)
    order = np.argsort(keys, kind='stable')
    return keys[order], order.astype(np.int64)
