"""``SegmentationBridge``: data samples <-> :class:`~hrvision.heads.segmentation.SegmentationHead`.

Labels padded to the batch, the valid (unpadded) region of each image, the output size (label size, else
the original size) and the written prediction: shared by the single-task and the multi-task model.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from hrvision.engine.bridge import require_meta
from hrvision.structures import DataSample

from .labels import IGNORE_INDEX


class SegmentationBridge:
    """Stateless; every method is a static method."""

    @staticmethod
    def targets(data_samples: Sequence[DataSample], size) -> Tensor:
        """(N, H, W) long labels padded with ignore to the batch input size."""
        labels = []
        for s in data_samples:
            lab = s.gt_sem_seg
            dh, dw = size[0] - lab.shape[-2], size[1] - lab.shape[-1]
            if dh or dw:
                lab = F.pad(lab, (0, dw, 0, dh), value=IGNORE_INDEX)
            labels.append(lab)
        return torch.stack(labels).long()

    @staticmethod
    def valid_shape(sample: DataSample) -> tuple[int, int]:
        """(h, w) of the image inside the padded batch (``img_shape``, required: never the padded size)."""
        ih, iw = require_meta(sample, 'img_shape', who='the segmentation head')[0][:2]
        return ih, iw

    @staticmethod
    def output_size(sample: DataSample) -> tuple[int, int]:
        """Prediction size: the label's when there is one, else the original image's (``ori_shape``, required)."""
        if 'gt_sem_seg' in sample:
            return tuple(sample.gt_sem_seg.shape[-2:])
        return tuple(require_meta(sample, 'ori_shape', who='the segmentation head')[0][:2])

    @staticmethod
    def write(sample: DataSample, scores: Tensor, keep_scores: bool = True, cpu: bool = False) -> DataSample:
        """``pred_sem_seg`` = argmax of (C, H, W) ``scores`` at output size (+ ``seg_logits`` when kept)."""
        if keep_scores:
            sample.seg_logits = scores
        pred = scores.max(0).indices   # = argmax(0) (first maximum), about 3x faster over C x H x W on the CPU
        sample.pred_sem_seg = pred.cpu() if cpu else pred
        return sample


__all__ = ['SegmentationBridge']
