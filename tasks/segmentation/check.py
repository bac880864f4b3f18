"""``hrvision data check`` for segmentation datasets (Cityscapes layout, generic folders): pixels per class
(after the dataset's own label loading: Cityscapes labelIds become train ids as in training), label values
outside the classes, missing label files, the class count against the head; pictures of the training crop with
its colour mask."""
from __future__ import annotations

import numpy as np

from hrvision.data_check import DatasetCheck, Report, progress, to_image
from hrvision.errors import HRVisionError
from hrvision.registry import register_data_check
from hrvision.visualization import blend, colorize, hstack

LABEL_KEYS = ('gt_seg', 'gt_seg_map')   # where a loading transform leaves the label map


def loading_transforms(dataset) -> list:
    """The dataset pipeline's leading ``Load*`` transforms: reading files, no augmentation."""
    out = []
    for t in getattr(dataset.pipeline, 'transforms', []):
        if not type(t).__name__.startswith('Load'):
            break
        out.append(t)
    return out


def palette_of(meta: dict, n: int) -> np.ndarray:
    pal = meta.get('palette')
    if pal is not None and len(pal) >= n:
        return np.asarray(pal, np.uint8).reshape(-1, 3)
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (max(n, 1), 3)).astype(np.uint8)


@register_data_check('CityscapesDataset', 'SegmentationFolderDataset')
class SegmentationCheck(DatasetCheck):
    """Counts: labelled images, pixels per class, ignored pixels. Errors: a missing label file, a label the
    loader refuses, a value outside ``0..C-1`` that is not ``ignore_index``."""

    file_fields = ('img_path', 'seg_path')
    count_field, head_keys = 'classes', ('num_classes',)

    def summarize(self, dataset, report: Report) -> None:
        meta = dict(dataset.metainfo)
        classes = list(meta.get('classes') or ())
        ignore = 255   # after loading, every reader stores "no label" as 255 whatever metainfo.ignore_index is
        loaders = loading_transforms(dataset)
        pixels = np.zeros(max(len(classes), 1), np.int64)
        ignored = labelled = 0
        for i in progress(range(len(dataset)), 'labels'):
            info = dict(dataset.get_data_info(i))
            seg_path = info.get('seg_path')
            if not seg_path:
                continue
            results = info
            try:
                for t in loaders:
                    results = t(results)
            except HRVisionError as e:   # missing files are reported by the core already
                msg = str(e)
                msg = msg[len(seg_path) + 2:] if msg.startswith(f'{seg_path}: ') else msg
                if 'not found' not in msg:
                    report.error('bad_label', seg_path, msg)   # the loader's own refusal (value outside the classes, ...)
                continue
            seg = next((results[k] for k in LABEL_KEYS if k in results), None)
            if seg is None:
                continue
            labelled += 1
            seg = np.asarray(seg).astype(np.int64)
            counts = np.bincount(seg.ravel(), minlength=max(len(classes), 1))
            n_cls = len(classes) or len(counts)
            pixels[:min(n_cls, len(pixels))] += counts[:min(n_cls, len(pixels))]
            if ignore < len(counts):
                ignored += int(counts[ignore])
            bad = [v for v in np.flatnonzero(counts) if v >= len(classes) and v != ignore] if classes else []
            if bad:
                report.error('label_outside_classes', seg_path,
                             f'label values {[int(v) for v in bad[:10]]} are outside the {len(classes)} classes '
                             f'(0..{len(classes) - 1}) and not ignore_index {ignore} '
                             f'({int(sum(counts[v] for v in bad))} pixels)')
        report.counts['labelled images'] = labelled
        if classes:
            report.counts['pixels per class'] = {name: int(n) for name, n in zip(classes, pixels)}
            empty = [c for c, n in zip(classes, pixels) if n == 0]
            if empty and labelled:
                report.warning('class_without_pixels', '', f'classes without a single pixel: {empty}')
        report.counts['ignored pixels'] = ignored

    def draw(self, sample: dict, meta: dict) -> np.ndarray:
        image = to_image(sample['inputs'])
        ds = sample['data_samples']
        if 'gt_sem_seg' not in ds:
            return image
        seg = np.asarray(ds.gt_sem_seg.cpu() if hasattr(ds.gt_sem_seg, 'cpu') else ds.gt_sem_seg).reshape(
            image.shape[:2])
        n = len(meta.get('classes') or ()) or int(seg[seg != 255].max(initial=0)) + 1
        mask = colorize(seg, palette_of(meta, n), 255)   # loaded masks hold 255 for "no label"
        return hstack([image, blend(image, mask, 0.6), mask])
