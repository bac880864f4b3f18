"""Reading images and label maps with errors that name the file."""
from __future__ import annotations

import os

import cv2
import numpy as np


def read_image(path: str) -> np.ndarray:
    """HxWx3 uint8 RGB. Missing or unreadable files raise with the path."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'cannot decode image {path}: not a readable PNG/JPEG (truncated or corrupt?)')
    return np.ascontiguousarray(img[..., ::-1])


def read_label(path: str) -> np.ndarray:
    """HxW uint8/uint16 single-channel label map, read unchanged."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'label file not found: {path}')
    lab = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if lab is None:
        raise ValueError(f'cannot decode label map {path}: not a readable PNG (truncated or corrupt?)')
    if lab.ndim != 2:
        raise ValueError(f'label map {path} has shape {lab.shape}; expected a single-channel HxW PNG')
    return lab


def write_image(path: str, image: np.ndarray) -> None:
    """Write RGB (HxWx3) or single-channel (HxW) uint8 images; folders are created."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    arr = image[..., ::-1] if image.ndim == 3 else image
    if not cv2.imwrite(path, np.ascontiguousarray(arr)):
        raise OSError(f'could not write {path}')
