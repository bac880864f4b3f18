"""Pictures of face landmarks: predicted (red) vs ground truth (green) on the face crop, in a grid; lines between the
landmarks the dataset metadata's ``skeleton`` links (when it has one)."""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from hrvision.visualization import draw_points, draw_skeleton, hstack, put_text, save_png, vstack

GT_COLOR = (0, 220, 0)
PRED_COLOR = (255, 40, 40)


def face_panel(image: np.ndarray, pred: np.ndarray, gt: np.ndarray, center: Sequence[float], scale: float,
               title: str = '', size: int = 192, skeleton: Sequence[Sequence[int]] = ()) -> np.ndarray:
    """Crop the face box (center, scale) out of ``image``, draw GT and prediction, resize to ``size``."""
    side = 200.0 * float(scale)
    x0, y0 = float(center[0]) - side / 2, float(center[1]) - side / 2
    k = size / side
    m = np.array([[k, 0, -x0 * k], [0, k, -y0 * k]], np.float64)
    crop = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    to_crop = lambda p: np.asarray(p, np.float64) @ m[:, :2].T + m[:, 2]  # noqa: E731
    radius = max(1, size // 128)
    links = [tuple(p) for p in skeleton or () if max(p) < min(len(gt), len(pred))]
    if links:
        out = draw_skeleton(crop, to_crop(gt), links, color=GT_COLOR, point_color=GT_COLOR, thickness=1)
        out = draw_skeleton(out, to_crop(pred), links, color=PRED_COLOR, point_color=PRED_COLOR, thickness=1)
    else:
        out = draw_points(crop, to_crop(gt), GT_COLOR, radius)
        out = draw_points(out, to_crop(pred), PRED_COLOR, radius)
    return put_text(out, title) if title else out


def landmark_grid(panels: Sequence[np.ndarray], cols: int = 4) -> np.ndarray:
    rows = [hstack(list(panels[i:i + cols])) for i in range(0, len(panels), cols)]
    if len(rows) > 1 and rows[-1].shape[1] < rows[0].shape[1]:
        pad = rows[0].shape[1] - rows[-1].shape[1]
        rows[-1] = np.pad(rows[-1], ((0, 0), (0, pad), (0, 0)), constant_values=255)
    return vstack(rows)


def save_landmark_grid(path: str, items: Sequence[dict], cols: int = 4, size: int = 192,
                       skeleton: Sequence[Sequence[int]] = ()) -> str:
    """``items``: dicts with ``image``, ``pred``, ``gt``, ``center``, ``scale``, optional ``title``; ``skeleton``:
    the dataset metadata's links."""
    if not items:
        raise ValueError('save_landmark_grid needs at least one image')
    panels = [face_panel(it['image'], it['pred'], it['gt'], it['center'], it['scale'], it.get('title', ''), size,
                         skeleton) for it in items]
    return save_png(path, landmark_grid(panels, cols))
