"""The config's test pipeline run on an in-memory image: the first (loading) step is replaced by
:class:`LoadArray`, which sets what each task's loader sets, without ground truth.

Top-down crops come from boxes (x1, y1, x2, y2 in image pixels); the whole image is the box when none is given.
"""
from __future__ import annotations

import numpy as np

from ..data.pipeline import build_pipeline
from ..errors import ConfigError

def test_pipeline(cfg, config_name: str) -> list:
    """The transforms after the loading step of ``test_dataloader.dataset.pipeline``."""
    try:
        steps = list(cfg.test_dataloader.dataset.pipeline)
    except (AttributeError, KeyError, TypeError):
        raise ConfigError(f'{config_name}: no test_dataloader.dataset.pipeline to run images through') from None
    if not steps or not str(dict(steps[0]).get('type', '')).startswith('Load'):
        raise ConfigError(f'{config_name}: test_dataloader.dataset.pipeline must start with a Load* step, got '
                          f'{steps[:1]}')
    return build_pipeline(steps[1:])


def whole_image_box(h: int, w: int) -> np.ndarray:
    return np.array([0, 0, w, h], np.float32)


class LoadArray:
    """The loading step for an image already in memory (RGB uint8), for one task (a ``TaskInference``).

    ``box`` (x1, y1, x2, y2) gives top-down tasks their crop; ``pad`` the enlargement of the box (the task's
    default when None); the task adds the rest of its loader's fields (``load_fields``)."""

    def __init__(self, task) -> None:
        self.task = task

    def __call__(self, img: np.ndarray, name: str | None, box=None, box_score: float = 1.0,
                 pad: float | None = None) -> dict:
        h, w = img.shape[:2]
        r = dict(img=img, ori_shape=(h, w), img_shape=(h, w), img_path=name, img_id=name, flip=False)
        corners = None
        if self.task.top_down:
            box = whole_image_box(h, w) if box is None else np.asarray(box, np.float32)
            corners = x1, y1, x2, y2 = tuple(float(v) for v in box[:4])
            r.update(bbox=np.array([x1, y1, x2 - x1, y2 - y1], np.float32), bbox_score=float(box_score))
        self.task.load_fields(r, corners, pad)
        return r
