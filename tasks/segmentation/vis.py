"""Segmentation pictures: Cityscapes ``*_labelIds.png``, colour masks, image | GT | prediction panels."""
from __future__ import annotations

import os.path as osp

import numpy as np

from hrvision.data.io import read_image, write_image
from hrvision.visualization import blend, colorize, hstack, put_text

from .labels import PALETTE, train_ids_to_label_ids


def _stem(img_path: str) -> str:
    name = osp.basename(img_path)
    return name[:-len('_leftImg8bit.png')] if name.endswith('_leftImg8bit.png') else osp.splitext(name)[0]


def make_panel(image: np.ndarray, pred: np.ndarray, gt: np.ndarray | None = None) -> np.ndarray:
    """``image | ground truth | prediction`` (colour masks blended over the image)."""
    parts = [put_text(image, 'image')]
    if gt is not None:
        parts.append(put_text(blend(image, colorize(gt, PALETTE), 0.7), 'ground truth'))
    parts.append(put_text(blend(image, colorize(pred, PALETTE), 0.7), 'prediction'))
    return hstack(parts)


def save_prediction(out_dir: str, img_path: str, pred: np.ndarray, gt: np.ndarray | None = None,
                    with_panel: bool = True) -> None:
    """Write ``<stem>_labelIds.png``, ``<stem>_color.png`` and optionally ``<stem>_panel.png``."""
    stem = _stem(img_path)
    write_image(osp.join(out_dir, 'labelIds', f'{stem}_labelIds.png'), train_ids_to_label_ids(pred))
    write_image(osp.join(out_dir, 'color', f'{stem}_color.png'), colorize(pred, PALETTE))
    if with_panel:
        write_image(osp.join(out_dir, 'panels', f'{stem}_panel.png'), make_panel(read_image(img_path), pred, gt))
