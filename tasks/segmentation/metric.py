"""Cityscapes mIoU from a confusion matrix, as the official ``testval`` (SPEC §4.2).

IoU_c = tp / max(1, gt_c + pred_c - tp); mIoU is the mean over *all* classes (a class absent
from ground truth and prediction counts 0, as officially) -- ``mIoU_present`` averages only the
classes present in the ground truth. Confusion matrices are summed across ranks by mmengine,
so N processes give the numbers of one. With ``out_dir`` the predictions are also written as
Cityscapes ``*_labelIds.png`` (for the benchmark server), colour PNGs and
``image | ground truth | prediction`` panels.

Optional boundary IoU (Cheng et al., CVPR 2021) beside mIoU, for the sharpness of region edges that
plain IoU barely sees: with ``boundary_width=d`` the boundary band of a label map is its pixels within
distance ``d`` (a disk) of a pixel of another class; per class, BIoU_c = |G_c & P_c| / |G_c | P_c| where
G_c / P_c are the class-c pixels of the ground-truth / prediction band, counts summed over images like
the confusion matrix. Ignored pixels are left out of the counts and do not make a boundary; the image
frame is not a boundary. ``mBIoU`` averages the classes that have a band in either map. ``d``: pixels
(int) or a fraction of the label map's diagonal (float < 1; the paper's 2% = 0.02). Off by default: it
costs grey-level erosion + dilation of both label maps per image (about 0.35 s at 1024x2048 with
d=3 on one core, 5 s with d=10).
"""
from __future__ import annotations

import os.path as osp
from typing import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hrvision.checks import check_number
from hrvision.engine.distributed import SKIPPED, without_skipped
from hrvision.errors import ConfigError, InputError
from hrvision.registry import METRICS, register_alias

from .labels import IGNORE_INDEX
from .meta import class_names as meta_class_names, is_cityscapes, palette_array


def confusion_matrix(pred: np.ndarray | torch.Tensor, gt: np.ndarray | torch.Tensor, num_classes: int,
                     ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """(num_classes, num_classes) counts, rows = ground truth, columns = prediction."""
    pred = torch.as_tensor(pred).reshape(-1).long()
    gt = torch.as_tensor(gt).reshape(-1).long()
    keep = gt != ignore_index
    idx = gt[keep] * num_classes + pred[keep]
    return torch.bincount(idx, minlength=num_classes ** 2).reshape(num_classes, num_classes).double().numpy()


def scores_from_confusion(cm: np.ndarray) -> dict:
    """Official IoU / mIoU / pixel accuracy / mean accuracy from a confusion matrix."""
    tp = np.diag(cm)
    pos = cm.sum(1)   # ground truth per class
    res = cm.sum(0)   # predictions per class
    iou = tp / np.maximum(1.0, pos + res - tp)
    present = pos > 0
    return dict(IoU=iou, mIoU=float(iou.mean()), mIoU_present=float(iou[present].mean()) if present.any() else 0.0,
                pixel_acc=float(tp.sum() / max(1.0, pos.sum())), mean_acc=float((tp / np.maximum(1.0, pos)).mean()))


def official_line(scores: dict) -> str:
    """The official segmentation test's summary as its ``tools/test.py`` logs it (``MeanIU``, ``Pixel_Acc``,
    ``Mean_Acc``, then the per-class IoU array), so figures can be compared line by line with the official logs."""
    return (f'MeanIU: {scores["mIoU"]: 4.4f}, Pixel_Acc: {scores["pixel_acc"]: 4.4f}, Mean_Acc: '
            f'{scores["mean_acc"]: 4.4f}, Class IoU: \n{np.array2string(np.asarray(scores["IoU"]))}')


def boundary_band(labels: np.ndarray, width: int, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Pixels within ``width`` (disk) of a pixel of another class; ignored pixels are neither in nor a cause."""
    from skimage.morphology import dilation, disk, erosion
    fp = disk(width)  # the exact disk: skimage's 'sequence' decomposition only approximates it
    lab = labels.astype(np.int32)  # classes 0..C-1, ignore mapped out of the way for each pass
    ign = lab == ignore_index
    top = np.where(ign, -1, lab)
    low = np.where(ign, np.iinfo(np.int32).max, lab)
    return (dilation(top, fp) != erosion(low, fp)) & ~ign


def boundary_counts(pred, gt, num_classes: int, width: float,
                    ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """(2, num_classes): per-class intersection and union of the boundary bands (see module docstring)."""
    pred = torch.as_tensor(pred).numpy().astype(np.int64)
    gt = torch.as_tensor(gt).numpy().astype(np.int64)
    if width < 1:
        width = width * float(np.hypot(*gt.shape))
    width = max(1, int(round(width)))
    valid = gt != ignore_index
    bg = boundary_band(gt, width, ignore_index)
    bp = boundary_band(pred, width, ignore_index) & valid
    inter = np.bincount(gt[bg & bp & (gt == pred)], minlength=num_classes)[:num_classes]
    union = (np.bincount(gt[bg], minlength=num_classes)[:num_classes]
             + np.bincount(pred[bp], minlength=num_classes)[:num_classes] - inter)
    return np.stack([inter, union]).astype(np.float64)


def format_table(scores: dict, class_names: Sequence[str]) -> str:
    lines = [f'{"class":<16}{"IoU":>8}', '-' * 24]
    lines += [f'{n:<16}{100 * v:8.2f}' for n, v in zip(class_names, scores['IoU'])]
    lines += ['-' * 24, f'{"mIoU":<16}{100 * scores["mIoU"]:8.2f}', f'{"pixel acc":<16}{100 * scores["pixel_acc"]:8.2f}',
              f'{"mean acc":<16}{100 * scores["mean_acc"]:8.2f}']
    return '\n'.join(lines)


def _box_classes(meta: dict) -> bool:
    """Whether ``meta['classes']`` are a multi-task set's box classes (not the segmentation classes)."""
    return any(k in meta for k in ('source_tasks', 'seg_classes', 'cat_ids'))


@METRICS.register_module()
class SegmentationMetric(BaseMetric):
    """Args:
        num_classes: the number of classes; None (default): the dataset's (``len(dataset_meta['classes'])``,
            19 when the dataset states none). A number that contradicts the dataset's classes is refused.
        class_names: names in the per-class results (``IoU.<name>``); None: the dataset's classes.
        out_dir: write the predicted class maps (Cityscapes: ``*_labelIds.png``; other datasets:
            ``labels/<stem>_labels.png`` class indices), colour predictions in the dataset's palette and
            comparison panels here.
        max_panels: how many ``image | gt | prediction`` panels to write.
        boundary_width: also report boundary IoU (``mBIoU``, ``BIoU.<class>``) with this band width:
            pixels (int) or a fraction of the image diagonal (float < 1); None (default) = off.
        format_only: write the predictions into ``out_dir`` and score nothing (the test split: no public labels);
            ``hrvision test`` refuses a split without labels otherwise.
    """

    default_prefix = 'seg'

    def __init__(self, num_classes: int | None = None, class_names: Sequence[str] | None = None,
                 out_dir: str | None = None,
                 max_panels: int = 8, boundary_width: float | None = None, collect_device: str = 'cpu',
                 prefix: str | None = None, format_only: bool = False) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if format_only and not out_dir:
            raise InputError('SegmentationMetric format_only writes the predictions into out_dir (hrvision test --out '
                             'DIR), and out_dir is not set')
        self.format_only = format_only
        if boundary_width is not None:
            check_number('SegmentationMetric boundary_width', boundary_width, 0.0, float('inf'))
            if boundary_width <= 0:
                raise InputError(f'SegmentationMetric boundary_width must be > 0 (pixels, or a fraction of the '
                                 f'diagonal below 1), got {boundary_width!r}')
        self.boundary_width = boundary_width
        if class_names is not None and num_classes is not None and len(class_names) != num_classes:
            raise ConfigError(f'SegmentationMetric class_names has {len(class_names)} names but num_classes is '
                              f'{num_classes}')
        self._given = (num_classes, None if class_names is None else list(class_names))
        self.num_classes = num_classes if num_classes is not None else (
            len(class_names) if class_names is not None else None)
        self.class_names = None if class_names is None else list(class_names)
        self.out_dir = out_dir
        self.max_panels = max_panels
        self._panels = 0

    def _resolve(self) -> None:
        """Class count and names from the dataset's metadata (``dataset_meta``, set by the loop) unless given; a
        given ``num_classes`` that contradicts a segmentation dataset's classes is a config error."""
        meta = self.dataset_meta or {}
        own = None if _box_classes(meta) else meta.get('classes')   # a multi-task set's classes are its boxes'
        n = self._given[0] if self._given[0] is not None else (
            len(self._given[1]) if self._given[1] is not None else None)
        if own and n is not None and len(own) != n:   # palette or not: other names would be silently made up
            what = f'num_classes={n}' if self._given[0] is not None else f'class_names has {n} names'
            raise ConfigError(f'SegmentationMetric {what} but the dataset has {len(own)} classes '
                              f'(metainfo.classes: {", ".join(list(own)[:4])}{", ..." if len(own) > 4 else ""}); '
                              'leave num_classes out of the evaluator: it follows the dataset')
        if self.num_classes is not None and self.class_names is not None:
            return
        if n is None:
            n = len(own) if own else 19
        self.num_classes = n
        self.class_names = meta_class_names({'classes': own} if own else None, n)

    def _palette(self):
        meta = self.dataset_meta or {}
        return palette_array(None if 'source_tasks' in meta else meta, self.num_classes)

    def process(self, data_batch, data_samples: Sequence) -> None:
        self._resolve()
        for sample in data_samples:
            pred = sample['pred_sem_seg'] if isinstance(sample, dict) else sample.pred_sem_seg
            gt = sample.get('gt_sem_seg')  # unlabelled images (e.g. the test split) only get written
            pred = pred.cpu()
            # one result per sample, labelled or not: mmengine interleaves the ranks and keeps `size` results; an
            # unlabelled one is the SKIPPED marker, not None (the gathering drops None before the cut, and the
            # sampler's padding duplicate would then be scored twice)
            self.results.append(dict(SKIPPED) if gt is None else self._result(pred, gt.cpu()))
            if self.out_dir:
                self._write(sample, pred.numpy(), None if gt is None else gt.cpu().numpy())

    def _result(self, pred, gt):
        cm = confusion_matrix(pred, gt, self.num_classes)
        if self.boundary_width is None:
            return cm
        return dict(cm=cm, boundary=boundary_counts(pred, gt, self.num_classes, self.boundary_width))

    def _write(self, sample, pred: np.ndarray, gt: np.ndarray | None) -> None:
        from .vis import save_prediction
        meta = sample.metainfo if hasattr(sample, 'metainfo') else sample
        panel = self._panels < self.max_panels
        dmeta = self.dataset_meta or {}
        dmeta = dmeta if dmeta.get('classes') and 'source_tasks' not in dmeta else None
        cityscapes = is_cityscapes(dmeta) if dmeta else self.num_classes == 19
        save_prediction(self.out_dir, meta['img_path'], pred, gt, with_panel=panel, palette=self._palette(),
                        label_ids=cityscapes)
        self._panels += int(panel)

    def compute_metrics(self, results: list) -> dict:
        logger = MMLogger.get_current_instance()
        self._resolve()
        results = without_skipped(results)
        if self.format_only:
            logger.info(f'SegmentationMetric format_only: predictions written to {self.out_dir}')
            return {}
        if not results:
            logger.warning('SegmentationMetric: no labelled images were evaluated')
            return {}
        if isinstance(results[0], dict):
            cm = np.sum([r['cm'] for r in results], axis=0)
            inter, union = np.sum([r['boundary'] for r in results], axis=0)
        else:
            cm, union = np.sum(results, axis=0), None
        scores = scores_from_confusion(cm)
        logger.info('per-class IoU (%):\n' + format_table(scores, self.class_names))
        logger.info(official_line(scores))
        out = {'mIoU': scores['mIoU'], 'mIoU_present': scores['mIoU_present'], 'pixel_acc': scores['pixel_acc'],
               'mean_acc': scores['mean_acc']}
        out.update({f'IoU.{n}': float(v) for n, v in zip(self.class_names, scores['IoU'])})
        if union is not None:
            has = union > 0
            biou = inter[has] / union[has]
            out['mBIoU'] = float(biou.mean()) if has.any() else 0.0
            out.update({f'BIoU.{n}': float(v) for n, v in zip(np.asarray(self.class_names)[has], biou)})
            logger.info(f'boundary IoU (width {self.boundary_width}): mBIoU {100 * out["mBIoU"]:.2f}')
        if self.out_dir:
            np.save(osp.join(self.out_dir, 'confusion_matrix.npy'), cm)
        return out

# Old names (one vocabulary per task, docs/ARCHITECTURE.md): configs and old checkpoints still build,
# with a warning once per name; the Python names stay importable.
register_alias(METRICS, 'CityscapesMetric', SegmentationMetric)
CityscapesMetric = SegmentationMetric

# what the INT8 / BF16 export compares (hrvision.quantize): mIoU on a 0-1 scale, 0.5 point by default
from hrvision.quantize import register_deploy_metric  # noqa: E402
register_deploy_metric('mIoU', higher_better=True, max_drop=0.005)
