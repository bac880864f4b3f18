"""Segmentation pictures: class-index PNGs (Cityscapes: ``*_labelIds.png``), colour masks in the dataset's palette,
image | GT | prediction panels."""
from __future__ import annotations

import os.path as osp

import numpy as np

from hrvision.data.io import read_image, write_image
from hrvision.visualization import blend, colorize, hstack, put_text

from .labels import train_ids_to_label_ids
from .meta import cityscapes_meta


def _stem(img_path: str) -> str:
    name = osp.basename(img_path)
    return name[:-len('_leftImg8bit.png')] if name.endswith('_leftImg8bit.png') else osp.splitext(name)[0]


def make_panel(image: np.ndarray, pred: np.ndarray, gt: np.ndarray | None = None,
               palette: np.ndarray | None = None) -> np.ndarray:
    """``image | ground truth | prediction`` (colour masks blended over the image; Cityscapes colours by default)."""
    pal = _palette(palette)
    parts = [put_text(image, 'image')]
    if gt is not None:
        parts.append(put_text(blend(image, colorize(gt, pal), 0.7), 'ground truth'))
    parts.append(put_text(blend(image, colorize(pred, pal), 0.7), 'prediction'))
    return hstack(parts)


def _palette(palette) -> np.ndarray:
    return np.asarray(cityscapes_meta()['palette'] if palette is None else palette, np.uint8)


def save_prediction(out_dir: str, img_path: str, pred: np.ndarray, gt: np.ndarray | None = None,
                    with_panel: bool = True, palette: np.ndarray | None = None, label_ids: bool = True) -> None:
    """Write ``labelIds/<stem>_labelIds.png`` (Cityscapes label ids, ``label_ids=True``) or
    ``labels/<stem>_labels.png`` (the class indices), ``color/<stem>_color.png`` in ``palette`` (the dataset's;
    Cityscapes' by default) and optionally ``panels/<stem>_panel.png``."""
    stem = _stem(img_path)
    if label_ids:
        write_image(osp.join(out_dir, 'labelIds', f'{stem}_labelIds.png'), train_ids_to_label_ids(pred))
    else:
        write_image(osp.join(out_dir, 'labels', f'{stem}_labels.png'), pred.astype(np.uint8))
    write_image(osp.join(out_dir, 'color', f'{stem}_color.png'), colorize(pred, _palette(palette)))
    if with_panel:
        write_image(osp.join(out_dir, 'panels', f'{stem}_panel.png'),
                    make_panel(read_image(img_path), pred, gt, palette))
