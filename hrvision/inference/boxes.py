"""Person / face boxes for the top-down tasks: from a list, a detection JSON, or hrvision's own detector.

Boxes are (N, 4) x1, y1, x2, y2 in image pixels, optionally with a 5th column, the score.
A detection JSON is either COCO results (``[{"image_id", "bbox": [x, y, w, h], "score", "category_id"}]``,
matched to images by the number in the file name, COCO style ``000000397133.jpg`` -> 397133; only
``person_category`` is kept) or ``{"file name": [[x1, y1, x2, y2(, score)], ...]}``.
"""
from __future__ import annotations

import json
import os.path as osp

import numpy as np

from ..errors import DataError, InputError, MissingFileError


def as_boxes(where: str, value) -> np.ndarray:
    """(N, 4|5) -> (N, 5) float32 with score 1 where none was given."""
    try:
        b = np.asarray(value, np.float32)
    except (TypeError, ValueError):
        raise InputError(f'{where}: expected boxes as rows of x1, y1, x2, y2[, score]') from None
    if b.size == 0:
        return np.zeros((0, 5), np.float32)
    if b.ndim == 1:
        b = b[None]
    if b.ndim != 2 or b.shape[1] not in (4, 5) or not np.isfinite(b).all():
        raise InputError(f'{where}: expected (N, 4) or (N, 5) finite boxes x1, y1, x2, y2[, score], got shape '
                         f'{tuple(b.shape)}')
    if (b[:, 2] <= b[:, 0]).any() or (b[:, 3] <= b[:, 1]).any():
        raise InputError(f'{where}: every box needs x2 > x1 and y2 > y1')
    return b if b.shape[1] == 5 else np.concatenate([b, np.ones((len(b), 1), np.float32)], 1)


class BoxFile:
    """A detection JSON; ``lookup(image_name)`` -> (N, 5) boxes (none found: an empty array)."""

    def __init__(self, path: str, person_category: int = 1, score_thr: float = 0.0) -> None:
        if not osp.isfile(path):
            raise MissingFileError(f'detection file not found: {path}')
        try:
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
        except (ValueError, UnicodeDecodeError) as e:
            raise DataError(f'{path}: not a JSON file ({e})') from None
        self.by_key: dict = {}
        if isinstance(data, dict):
            for k, v in data.items():
                self.by_key[osp.basename(str(k))] = as_boxes(f'{path}: {k}', v)
        elif isinstance(data, list):
            rows: dict = {}
            for i, d in enumerate(data):
                if not isinstance(d, dict) or 'image_id' not in d or 'bbox' not in d:
                    raise DataError(f'{path}: entry {i}: expected {{"image_id", "bbox": [x, y, w, h], "score"}}')
                if d.get('category_id', person_category) != person_category:
                    continue
                x, y, w, h = (float(v) for v in d['bbox'][:4])
                if float(d.get('score', 1.0)) >= score_thr and w > 0 and h > 0:
                    rows.setdefault(int(d['image_id']), []).append([x, y, x + w, y + h, float(d.get('score', 1.0))])
            self.by_key = {k: np.asarray(v, np.float32) for k, v in rows.items()}
        else:
            raise DataError(f'{path}: expected a list of COCO results or a {{file name: boxes}} object')
        self.path = path

    def lookup(self, name: str) -> np.ndarray:
        base = osp.basename(name)
        if base in self.by_key:
            return self.by_key[base]
        stem = osp.splitext(base)[0]
        if stem.isdigit() and int(stem) in self.by_key:
            return self.by_key[int(stem)]
        return np.zeros((0, 5), np.float32)
