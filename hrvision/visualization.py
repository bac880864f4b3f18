"""Drawing primitives for PNG pictures (masks, skeletons, landmarks, boxes) with OpenCV.

All functions take and return HxWx3 uint8 **RGB** arrays; :func:`save_png` writes them.
Tasks compose these into their own pictures (``tasks/<task>/vis.py``).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import cv2
import numpy as np

from .data.io import write_image


def save_png(path: str, image: np.ndarray) -> str:
    """Write an RGB uint8 image as PNG (creating folders); returns the path."""
    write_image(path, image)
    return path


def colorize(labels: np.ndarray, palette: np.ndarray, ignore_index: int = 255,
             ignore_color: Sequence[int] = (0, 0, 0)) -> np.ndarray:
    """(H, W) integer labels -> RGB picture using ``palette`` (num_classes x 3)."""
    pal = np.zeros((256, 3), np.uint8)
    pal[:len(palette)] = palette
    pal[ignore_index] = ignore_color
    return pal[labels.astype(np.int64).clip(0, 255)]


def blend(image: np.ndarray, overlay: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    return (image.astype(np.float32) * (1 - alpha) + overlay.astype(np.float32) * alpha).round().astype(np.uint8)


def hstack(images: Sequence[np.ndarray], gap: int = 4) -> np.ndarray:
    """Side-by-side panels of equal height with a white gap."""
    h = max(im.shape[0] for im in images)
    panels = []
    for i, im in enumerate(images):
        if im.shape[0] != h:
            im = cv2.resize(im, (round(im.shape[1] * h / im.shape[0]), h), interpolation=cv2.INTER_NEAREST)
        panels.append(im)
        if i < len(images) - 1:
            panels.append(np.full((h, gap, 3), 255, np.uint8))
    return np.concatenate(panels, axis=1)


def vstack(images: Sequence[np.ndarray], gap: int = 4) -> np.ndarray:
    w = max(im.shape[1] for im in images)
    rows = []
    for i, im in enumerate(images):
        if im.shape[1] != w:
            im = np.pad(im, ((0, 0), (0, w - im.shape[1]), (0, 0)), constant_values=255)
        rows.append(im)
        if i < len(images) - 1:
            rows.append(np.full((gap, w, 3), 255, np.uint8))
    return np.concatenate(rows, axis=0)


def put_text(image: np.ndarray, text: str, org: tuple[int, int] = (4, 14), color=(255, 255, 255),
             scale: float = 0.45) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)
    return out


def draw_points(image: np.ndarray, points: np.ndarray, color=(0, 255, 0), radius: int = 2,
                visible: np.ndarray | None = None) -> np.ndarray:
    """Dots at (K, 2) pixel coordinates; ``visible`` (K,) > 0 selects which are drawn."""
    out = image.copy()
    for k, (x, y) in enumerate(np.asarray(points, dtype=np.float64)):
        if visible is not None and visible[k] <= 0:
            continue
        if np.isfinite(x) and np.isfinite(y):
            cv2.circle(out, (int(round(x)), int(round(y))), radius, tuple(int(c) for c in color), -1, cv2.LINE_AA)
    return out


def draw_skeleton(image: np.ndarray, points: np.ndarray, links: Iterable[tuple[int, int]],
                  visible: np.ndarray | None = None, color=(255, 128, 0), point_color=(0, 255, 0),
                  thickness: int = 2) -> np.ndarray:
    """Lines between linked keypoints, then the keypoints themselves."""
    out = image.copy()
    pts = np.asarray(points, dtype=np.float64)
    for a, b in links:
        if visible is not None and (visible[a] <= 0 or visible[b] <= 0):
            continue
        pa, pb = pts[a], pts[b]
        cv2.line(out, (int(round(pa[0])), int(round(pa[1]))), (int(round(pb[0])), int(round(pb[1]))),
                 tuple(int(c) for c in color), thickness, cv2.LINE_AA)
    return draw_points(out, pts, point_color, thickness + 1, visible)


def draw_boxes(image: np.ndarray, boxes: np.ndarray, labels: Sequence[str] | None = None,
               color=(255, 0, 0), thickness: int = 2) -> np.ndarray:
    """Rectangles for (N, 4) xyxy boxes with optional captions."""
    out = image.copy()
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, dtype=np.float64)):
        p1, p2 = (int(round(x1)), int(round(y1))), (int(round(x2)), int(round(y2)))
        cv2.rectangle(out, p1, p2, tuple(int(c) for c in color), thickness)
        if labels is not None:
            out = put_text(out, str(labels[i]), (p1[0] + 2, max(12, p1[1] - 3)), color=color, scale=0.4)
    return out
