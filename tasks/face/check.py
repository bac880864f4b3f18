"""``hrvision data check`` for face-landmark datasets: faces, landmarks per face against the metadata and the
head, landmarks outside their image; pictures of the training crop with its landmark heatmap targets."""
from __future__ import annotations

import numpy as np

from hrvision.data_check import (DatasetCheck, Report, compare_counts, heatmap_overlay, image_size, progress,
                                 to_image)
from hrvision.registry import register_data_check
from hrvision.visualization import draw_points, hstack


def declared_landmarks(meta: dict) -> int | None:
    """The metadata's landmark count (:func:`hrvision.data.metainfo.keypoint_count`)."""
    from hrvision.data.metainfo import keypoint_count
    return keypoint_count(meta)


@register_data_check('WFLWDataset')
class FaceCheck(DatasetCheck):
    """Counts: faces, landmarks per face. Errors: a face whose landmark count differs from the metadata; every
    missing image (listed by the core). Warnings: a landmark outside its image."""

    build_overrides = dict(check_images=False)

    def summarize(self, dataset, report: Report) -> None:
        meta = dict(dataset.metainfo)
        declared = declared_landmarks(meta)
        source = getattr(dataset, 'ann_file', '') or ''
        sizes: dict = {}
        counts: dict = {}
        for i in progress(range(len(dataset)), 'landmarks'):
            info = dataset.get_data_info(i)
            kp = np.asarray(info['keypoints'], np.float64).reshape(-1, 2)
            counts[len(kp)] = counts.get(len(kp), 0) + 1
            where = f'{source}: entry {i + 1} ({info.get("img_path")})'
            if declared and len(kp) != declared:
                report.error('metadata_vs_data', where, f'{len(kp)} landmarks but the metadata has {declared}')
                continue
            path = info.get('img_path')
            if path not in sizes:
                sizes[path] = image_size(path)
            if sizes[path] is None:
                continue
            w, h = sizes[path]
            outside = [k for k, (x, y) in enumerate(kp) if not (0 <= x <= w - 1 and 0 <= y <= h - 1)]
            if outside:
                k = outside[0]
                report.warning('landmark_outside_image', where,
                               f'{len(outside)} landmark(s) outside the {w}x{h} image, e.g. keypoints[{k}] at '
                               f'({kp[k, 0]:g}, {kp[k, 1]:g})')
        report.counts['faces'] = len(dataset)
        report.counts['landmarks per face'] = ', '.join(f'{k} ({n} faces)' for k, n in sorted(counts.items()))

    def head_problems(self, model_cfg: dict, meta: dict, source: str, report: Report) -> None:
        n = declared_landmarks(meta)
        if n:
            compare_counts(model_cfg, ('num_landmarks', 'num_keypoints'), n, 'landmarks', source, report)

    def draw(self, sample: dict, meta: dict) -> np.ndarray:
        image = to_image(sample['inputs'])
        ds = sample['data_samples']
        if 'gt_heatmaps' not in ds:
            return image
        hm = ds.gt_heatmaps.numpy()
        k, h, w = hm.shape
        flat = hm.reshape(k, -1)
        idx = flat.argmax(axis=1)
        pts = np.stack([idx % w, idx // w], axis=1).astype(np.float64)
        pts = (pts + 0.5) * np.array([image.shape[1] / w, image.shape[0] / h]) - 0.5
        return hstack([image, draw_points(image, pts, radius=1, visible=flat.max(axis=1)),
                       heatmap_overlay(image, hm)])
