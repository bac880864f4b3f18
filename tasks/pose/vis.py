"""Skeleton overlays as PNG: ``ground truth | prediction`` per image (the dataset metadata's ``skeleton`` links,
joints above a score)."""
from __future__ import annotations

import os.path as osp
from collections import defaultdict
from typing import Sequence

import cv2
import numpy as np

from hrvision.data.io import read_image
from hrvision.visualization import draw_skeleton, hstack, put_text, save_png



def _coco_preset_skeleton() -> list:
    from hrvision.data.metainfo import parse_metainfo
    return parse_metainfo(dict(from_file='_base_/datasets/coco.py'), 'pose vis')['skeleton']


def draw_people(image: np.ndarray, people: Sequence[np.ndarray], score_thr: float = 0.2,
                color=(255, 128, 0), skeleton: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """Each person is (K, 3) ``x, y, score/visibility``; joints at or below ``score_thr`` are not drawn.
    ``skeleton``: the dataset metadata's 0-based links; None (a caller without metadata): the COCO preset's
    for 17 keypoints, else the joints alone."""
    out = image
    for kp in people:
        kp = np.asarray(kp, np.float64)
        links = skeleton if skeleton is not None else (_coco_preset_skeleton() if len(kp) == 17 else ())
        links = [(int(a), int(b)) for a, b in links if a < len(kp) and b < len(kp)]
        out = draw_skeleton(out, kp[:, :2], links, visible=(kp[:, 2] > score_thr).astype(np.float32),
                            color=color)
    return out


def save_overlays(results: Sequence[dict], coco, out_dir: str, max_images: int = 4,
                  score_thr: float = 0.2, min_height: int = 320, skeleton: Sequence[Sequence[int]] | None = None
                  ) -> list[str]:
    """PNG panels for the first ``max_images`` images of ``results`` (metric result dicts); returns paths.
    ``skeleton``: the dataset metadata's links (the metric passes ``dataset_meta['skeleton']``)."""
    by_img: dict[int, list[dict]] = defaultdict(list)
    for r in results:
        by_img[r['img_id']].append(r)
    paths = []
    for img_id in sorted(by_img)[:max_images]:
        path = by_img[img_id][0].get('img_path')
        if not path or not osp.isfile(path):
            continue
        img = read_image(path)
        f = max(1, -(-min_height // img.shape[0]))     # small pictures are enlarged so the skeleton stays legible
        if f > 1:
            img = cv2.resize(img, (img.shape[1] * f, img.shape[0] * f), interpolation=cv2.INTER_LINEAR)
        zoom = np.array([f, f, 1.0])
        gts = [np.asarray(a['keypoints'], np.float64).reshape(-1, 3) * zoom for a in coco.imgToAnns.get(img_id, [])
               if a.get('num_keypoints', 1) > 0 and 'keypoints' in a]
        preds = [np.asarray(r['keypoints'], np.float64) * zoom for r in by_img[img_id]]
        gt_panel = put_text(draw_people(img, gts, 0.0, color=(0, 200, 255), skeleton=skeleton), 'ground truth')
        pred_panel = put_text(draw_people(img, preds, score_thr, skeleton=skeleton), 'prediction')
        paths.append(save_png(osp.join(out_dir, f'{img_id:012d}.png'), hstack([gt_panel, pred_panel])))
    return paths
