"""The config's test pipeline run on an in-memory image: the first (loading) step is replaced by
:class:`LoadArray`, which sets what each task's loader sets, without ground truth.

Pose and face crops come from boxes (x1, y1, x2, y2 in image pixels); the whole image is the box when none is given.
"""
from __future__ import annotations

import numpy as np

from ..data.keypoints import box_to_center_scale
from ..data.pipeline import build_pipeline
from ..errors import ConfigError

# model class -> task kind (the kinds hrvision's task models predict)
KINDS = {'SegmentationModel': 'seg', 'PoseModel': 'pose', 'FaceLandmarkModel': 'face', 'HRNetDetector': 'det',
         'MultiTaskModel': 'multitask'}


def task_kind(model) -> str:
    kind = KINDS.get(type(model).__name__)
    if kind is None:
        raise ConfigError(f'Inferencer: no inference for a {type(model).__name__} model '
                          f'(expected one of {", ".join(KINDS)})')
    return kind


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
    """The loading step for an image already in memory (RGB uint8), for a task ``kind``.

    ``box`` (x1, y1, x2, y2) gives pose/face their crop; ``pad`` the enlargement of the box."""

    def __init__(self, kind: str, input_size=None, num_landmarks: int = 98) -> None:
        self.kind, self.input_size, self.num_landmarks = kind, input_size, num_landmarks

    def __call__(self, img: np.ndarray, name: str | None, box=None, box_score: float = 1.0,
                 pad: float | None = None) -> dict:
        h, w = img.shape[:2]
        r = dict(img=img, ori_shape=(h, w), img_shape=(h, w), img_path=name, img_id=name, flip=False)
        if self.kind in ('pose', 'face'):
            box = whole_image_box(h, w) if box is None else np.asarray(box, np.float32)
            x1, y1, x2, y2 = (float(v) for v in box[:4])
            r.update(bbox=np.array([x1, y1, x2 - x1, y2 - y1], np.float32), bbox_score=float(box_score))
        if self.kind == 'pose':
            iw, ih = self.input_size
            r['center'], r['scale'] = box_to_center_scale(r['bbox'], iw / ih, 1.25 if pad is None else pad)
            r['rotation'] = 0.0
        elif self.kind == 'face':   # the landmarks-box rule of the WFLW reader, x1.25
            from hrvision.tasks.face.dataset import SCALE_PAD
            r['center'] = np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0], np.float64)
            r['scale'] = max(x2 - x1, y2 - y1) / 200.0 * (SCALE_PAD if pad is None else pad)
            r['keypoints'] = np.zeros((self.num_landmarks, 2), np.float64)
            r['ori_keypoints'] = r['keypoints'].copy()
            r['rotation'] = 0.0
        elif self.kind == 'det':
            r.update(gt_bboxes=np.zeros((0, 4), np.float32), gt_labels=np.zeros(0, np.int64))
        elif self.kind == 'multitask':
            from hrvision.tasks.multitask.transforms import rasterize
            r.update(scale_factor=(1.0, 1.0), gt_sem_seg=rasterize([], h, w, 0, 'person'),
                     gt_bboxes=np.zeros((0, 4), np.float32), gt_labels=np.zeros(0, np.int64),
                     gt_person_bboxes=np.zeros((0, 4), np.float32), gt_keypoints=np.zeros((0, 17, 3), np.float32))
        return r
