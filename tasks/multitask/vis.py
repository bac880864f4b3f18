"""One picture per image with every task's prediction: mask (blended), boxes (captioned), skeletons."""
from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

from hrvision.data.io import read_image, write_image
from hrvision.tasks.detection.vis import captions, to_numpy
from hrvision.tasks.pose.vis import draw_people
from hrvision.visualization import blend, colorize, draw_boxes, save_png

PALETTE = np.array([[0, 0, 0], [220, 20, 60], [0, 160, 255], [255, 200, 0], [60, 200, 60], [180, 80, 255]], np.uint8)


def _get(obj: Any, key: str):
    if isinstance(obj, dict):
        return obj.get(key)
    return obj.get(key) if hasattr(obj, 'get') else getattr(obj, key, None)


def draw_multitask(image: np.ndarray, sample: Any, classes: Sequence[str] | None = None, score_thr: float = 0.3,
                   kpt_thr: float = 0.2, zoom: int = 1, skeleton: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """Blend ``pred_sem_seg`` (0 = background, not coloured), then ``pred_instances`` boxes above ``score_thr``,
    then the skeletons of ``pred_pose`` people; fields that are absent are skipped. ``zoom`` enlarges the
    picture (and the coordinates) so that small images stay legible. ``skeleton``: the dataset metadata's 0-based
    links (``dataset_meta['skeleton']``; None: COCO's for 17 keypoints)."""
    if zoom > 1:
        image = cv2.resize(image, (image.shape[1] * zoom, image.shape[0] * zoom), interpolation=cv2.INTER_LINEAR)
    out = image
    seg = _get(sample, 'pred_sem_seg')
    if seg is not None:
        seg = to_numpy(seg).astype(np.int64)
        if seg.shape != image.shape[:2]:
            seg = cv2.resize(seg.astype(np.uint8), image.shape[1::-1], interpolation=cv2.INTER_NEAREST)
        colour = colorize(seg % len(PALETTE), PALETTE)
        out = np.where((seg > 0)[..., None], blend(out, colour, 0.5), out).astype(np.uint8)
    det = _get(sample, 'pred_instances')
    if det is not None:
        scores = to_numpy(_get(det, 'scores'))
        keep = scores >= score_thr
        out = draw_boxes(out, to_numpy(_get(det, 'bboxes'))[keep] * zoom,
                         captions(to_numpy(_get(det, 'labels'))[keep], scores[keep], classes), color=(255, 255, 0))
    pose = _get(sample, 'pred_pose')
    if pose is not None and len(to_numpy(_get(pose, 'keypoints'))):
        kp = np.concatenate([to_numpy(_get(pose, 'keypoints')) * zoom,
                             to_numpy(_get(pose, 'keypoint_scores'))[..., None]], -1)
        out = draw_people(out, list(kp), kpt_thr, skeleton=skeleton)
    return out


def save_multitask(sample: Any, path: str, classes: Sequence[str] | None = None, score_thr: float = 0.3,
                   min_height: int = 384, skeleton: Sequence[Sequence[int]] | None = None) -> str:
    """The picture of one predicted sample (its original image read from ``img_path``) as PNG."""
    img_path = _get(sample, 'img_path') or _get(_get(sample, 'metainfo') or {}, 'img_path')
    image = read_image(img_path)
    zoom = max(1, -(-min_height // image.shape[0]))
    return save_png(path, draw_multitask(image, sample, classes, score_thr, zoom=zoom, skeleton=skeleton))


def save_mask(pred: Any, path: str) -> None:
    write_image(path, to_numpy(pred).astype(np.uint8))


__all__ = ['draw_multitask', 'save_multitask', 'save_mask', 'PALETTE']
