"""``hrvision data check`` for top-down keypoint datasets (COCO keypoints; PoseTrack through its subclass):
people, visible keypoints per joint, keypoints outside their image, the keypoint count against the metadata and
the head; pictures of the training crop with its skeleton and heatmap targets."""
from __future__ import annotations

import numpy as np

from hrvision.data_check import (DatasetCheck, Report, heatmap_overlay, image_size, progress,
                                 to_image)
from hrvision.registry import register_data_check
from hrvision.visualization import draw_skeleton, hstack


def keypoint_names(meta: dict, k: int) -> list[str]:
    names = list(meta.get('keypoint_names') or ())
    return names if len(names) == k else [str(i) for i in range(k)]


@register_data_check('CocoKeypointDataset')
class PoseCheck(DatasetCheck):
    """Counts: people, visible keypoints per joint. Errors: an entry whose keypoint count differs from the
    metadata's ``keypoint_names``. Warnings: a visible keypoint outside its image."""

    count_field, head_keys = 'keypoint_names', ('num_keypoints',)

    def summarize(self, dataset, report: Report) -> None:
        meta = dict(dataset.metainfo)
        source = meta.get('ann_file') or getattr(dataset, 'ann_file', '')
        n = len(dataset)
        report.counts['people'] = n
        if getattr(dataset, 'bbox_file', None):   # person detections: no keypoints to count
            report.counts['people'] = f'{n} (person detections from {dataset.bbox_file})'
            return
        declared = len(meta.get('keypoint_names') or ())
        coco = getattr(dataset, 'coco', None)
        sizes: dict = {}
        visible = None
        for i in progress(range(n), 'keypoints'):
            info = dataset.get_data_info(i)
            kp = np.asarray(info['keypoints'], np.float64).reshape(-1, 2)
            vis = np.asarray(info['keypoints_visible'], np.float64).reshape(len(kp), -1)[:, 0]
            where = f'{source}: annotation id {info.get("id")} (image {info.get("img_path")})'
            if declared and len(kp) != declared:
                report.error('metadata_vs_data', where, f'{len(kp)} keypoints but the metadata has {declared} '
                                                        f'keypoint_names')
                continue
            if visible is None:
                visible = np.zeros(len(kp), np.int64)
            if len(kp) != len(visible):
                continue
            visible += vis > 0
            path = info.get('img_path')
            if path not in sizes:
                img = coco.imgs.get(info.get('img_id'), {}) if coco is not None else {}
                sizes[path] = ((img['width'], img['height']) if img.get('width') and img.get('height')
                               else image_size(path))
            if sizes[path] is None:
                continue
            w, h = sizes[path]
            names = keypoint_names(meta, len(kp))
            for k in np.flatnonzero(vis > 0):
                x, y = kp[k]
                if not (0 <= x <= w - 1 and 0 <= y <= h - 1):
                    report.warning('keypoint_outside_image', where,
                                   f'keypoints[{k}] ({names[k]}) at ({x:g}, {y:g}) is outside the {w}x{h} image')
        if visible is not None:
            report.counts['visible keypoints per joint'] = dict(zip(keypoint_names(meta, len(visible)),
                                                                    (int(v) for v in visible)))

    def draw(self, sample: dict, meta: dict) -> np.ndarray:
        image = to_image(sample['inputs'])
        ds = sample['data_samples']
        panels = [image]
        if 'gt_keypoints' in ds:
            kp = ds.gt_keypoints.numpy()
            vis = ds.keypoints_visible.numpy() if 'keypoints_visible' in ds else np.ones(len(kp))
            links = [tuple(p) for p in meta.get('skeleton') or () if max(p) < len(kp)]
            panels.append(draw_skeleton(image, kp, links, vis, thickness=1))
        if 'gt_heatmaps' in ds:
            panels.append(heatmap_overlay(image, ds.gt_heatmaps))
        return hstack(panels)
