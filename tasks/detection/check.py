"""``hrvision data check`` for COCO box datasets: boxes per class, images without boxes, what the reader skipped,
labels outside the classes, the class count against the head; pictures of the training input with its boxes."""
from __future__ import annotations

import numpy as np

from hrvision.data_check import DatasetCheck, Report, progress, to_image
from hrvision.registry import register_data_check
from hrvision.visualization import draw_boxes, hstack


def count_box_labels(info: dict, classes: list, per_class: np.ndarray, source: str, report: Report) -> np.ndarray:
    """One data-list entry's box labels: added to ``per_class``; those outside ``classes`` are errors."""
    labels = np.asarray(info.get('gt_labels', ()), np.int64).reshape(-1)
    bad = labels[(labels < 0) | (labels >= len(classes))]
    if len(bad):
        report.error('label_outside_classes', f'{source}: image id {info.get("img_id")}',
                     f'box labels {sorted(set(int(v) for v in bad))} are outside the {len(classes)} classes')
    ok = labels[(labels >= 0) & (labels < len(per_class))]
    per_class += np.bincount(ok, minlength=len(per_class))[:len(per_class)]
    return labels


@register_data_check('CocoDetectionDataset')
class DetectionCheck(DatasetCheck):
    """Counts: boxes, boxes per class, images without boxes, the reader's skip counts. Errors: a label outside
    the metadata's ``classes``; every missing image (the reader's own image check is left to the core, which
    lists them all instead of stopping at the first)."""

    build_overrides = dict(check_images=False)
    count_field, head_keys = 'classes', ('num_classes',)

    def summarize(self, dataset, report: Report) -> None:
        meta = dict(dataset.metainfo)
        classes = list(meta.get('classes') or ())
        source = meta.get('ann_file') or getattr(dataset, 'ann_file', '')
        per_class = np.zeros(max(len(classes), 1), np.int64)
        boxes = empty = 0
        for i in progress(range(len(dataset)), 'boxes'):
            info = dataset.get_data_info(i)
            labels = count_box_labels(info, classes, per_class, source, report)
            boxes += len(labels)
            empty += int(len(labels) == 0)
        report.counts['boxes'] = boxes
        report.counts['images without boxes'] = empty
        if classes:
            report.counts['boxes per class'] = {c: int(n) for c, n in zip(classes, per_class)}
            missing = [c for c, n in zip(classes, per_class) if n == 0]
            if missing and boxes:
                report.warning('class_without_boxes', source, f'classes without a single box: {missing}')
        skipped = {k: int(v) for k, v in dict(getattr(dataset, 'stats', {}) or {}).items()
                   if v and k not in ('images', 'boxes')}
        if skipped:
            report.counts['reader'] = skipped

    def draw(self, sample: dict, meta: dict) -> np.ndarray:
        image = to_image(sample['inputs'])
        ds = sample['data_samples']
        if 'gt_instances' not in ds:
            return image
        classes = list(meta.get('classes') or ())
        labels = ds.gt_instances.labels.numpy().reshape(-1)
        names = [classes[c] if 0 <= c < len(classes) else str(c) for c in labels]
        return hstack([image, draw_boxes(image, ds.gt_instances.bboxes.numpy(), names, color=(0, 200, 0),
                                         thickness=1)])
