"""Cityscapes mIoU from a confusion matrix, as the official ``testval`` (SPEC §4.2).

IoU_c = tp / max(1, gt_c + pred_c - tp); mIoU is the mean over *all* classes (a class absent
from ground truth and prediction counts 0, as officially) -- ``mIoU_present`` averages only the
classes present in the ground truth. Confusion matrices are summed across ranks by mmengine,
so N processes give the numbers of one. With ``out_dir`` the predictions are also written as
Cityscapes ``*_labelIds.png`` (for the benchmark server), colour PNGs and
``image | ground truth | prediction`` panels.
"""
from __future__ import annotations

import os.path as osp
from typing import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hrvision.registry import METRICS

from .labels import CLASS_NAMES, IGNORE_INDEX


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


def format_table(scores: dict, class_names: Sequence[str]) -> str:
    lines = [f'{"class":<16}{"IoU":>8}', '-' * 24]
    lines += [f'{n:<16}{100 * v:8.2f}' for n, v in zip(class_names, scores['IoU'])]
    lines += ['-' * 24, f'{"mIoU":<16}{100 * scores["mIoU"]:8.2f}', f'{"pixel acc":<16}{100 * scores["pixel_acc"]:8.2f}',
              f'{"mean acc":<16}{100 * scores["mean_acc"]:8.2f}']
    return '\n'.join(lines)


@METRICS.register_module()
class CityscapesMetric(BaseMetric):
    """Args:
        num_classes: 19 for Cityscapes.
        out_dir: write ``*_labelIds.png``, colour predictions and comparison panels here.
        max_panels: how many ``image | gt | prediction`` panels to write.
    """

    default_prefix = 'seg'

    def __init__(self, num_classes: int = 19, class_names: Sequence[str] = CLASS_NAMES, out_dir: str | None = None,
                 max_panels: int = 8, collect_device: str = 'cpu', prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes
        self.class_names = list(class_names)
        self.out_dir = out_dir
        self.max_panels = max_panels
        self._panels = 0

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            pred = sample['pred_sem_seg'] if isinstance(sample, dict) else sample.pred_sem_seg
            gt = sample.get('gt_sem_seg')  # unlabelled images (e.g. the test split) only get written
            pred = pred.cpu()
            # one result per sample, labelled or not: mmengine keeps `size` results and interleaves ranks by zip
            self.results.append(None if gt is None else confusion_matrix(pred, gt.cpu(), self.num_classes))
            if self.out_dir:
                self._write(sample, pred.numpy(), None if gt is None else gt.cpu().numpy())

    def _write(self, sample, pred: np.ndarray, gt: np.ndarray | None) -> None:
        from .vis import save_prediction
        meta = sample.metainfo if hasattr(sample, 'metainfo') else sample
        panel = self._panels < self.max_panels
        save_prediction(self.out_dir, meta['img_path'], pred, gt, with_panel=panel)
        self._panels += int(panel)

    def compute_metrics(self, results: list) -> dict:
        logger = MMLogger.get_current_instance()
        results = [r for r in results if r is not None]
        if not results:
            logger.warning('CityscapesMetric: no labelled images were evaluated')
            return {}
        cm = np.sum(results, axis=0)
        scores = scores_from_confusion(cm)
        logger.info('per-class IoU (%):\n' + format_table(scores, self.class_names))
        out = {'mIoU': scores['mIoU'], 'mIoU_present': scores['mIoU_present'], 'pixel_acc': scores['pixel_acc'],
               'mean_acc': scores['mean_acc']}
        out.update({f'IoU.{n}': float(v) for n, v in zip(self.class_names, scores['IoU'])})
        if self.out_dir:
            np.save(osp.join(self.out_dir, 'confusion_matrix.npy'), cm)
        return out
