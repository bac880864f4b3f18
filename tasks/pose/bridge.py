"""``PoseBridge``: data samples <-> :class:`~hrvision.heads.pose.PoseHead` (targets, decoding).

Used by :class:`~hrvision.tasks.pose.model.PoseModel` and by the multi-task keypoint adapter, so the
codec decode and the crop -> image mapping exist once.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from hrvision.codecs import BaseHeatmapCodec
from hrvision.structures import DataSample


class PoseBridge:
    """Args: ``codec``: the pose codec object (decode with the crops' center/scale)."""

    def __init__(self, codec: BaseHeatmapCodec) -> None:
        self.codec = codec

    @staticmethod
    def targets(data_samples: Sequence[DataSample], device) -> tuple[Tensor, Tensor]:
        """Packed codec targets -> (heatmaps (N, K, h, w), weights (N, K)) on ``device``."""
        missing = [i for i, s in enumerate(data_samples) if 'gt_heatmaps' not in s]
        if missing:
            raise KeyError(f'data samples {missing} carry no gt_heatmaps: the training pipeline needs '
                           f'PoseHeatmapTargets before PackPoseInputs')
        target = torch.stack([torch.as_tensor(s.gt_heatmaps) for s in data_samples]).to(device)
        weight = torch.stack([torch.as_tensor(s.target_weight) for s in data_samples]).to(device)
        return target, weight

    def decode_crops(self, heatmaps: Tensor, center, scale) -> tuple[Tensor, Tensor]:
        """Crop heatmaps (N, K, h, w) -> keypoints in image pixels through each crop's center/scale."""
        return self.codec.decode(heatmaps, center, scale)

    def decode_input(self, heatmaps: Tensor) -> tuple[Tensor, Tensor]:
        """Heatmaps -> keypoints in network-input pixels (no crop information)."""
        return self.codec.decode_input(heatmaps)

    def predict(self, heatmaps: Tensor, data_samples: Sequence[DataSample]) -> list[DataSample]:
        """Write ``pred_keypoints`` (K, 2) in original-image pixels and ``keypoint_scores`` (K,)."""
        if all('center' in s.metainfo and 'scale' in s.metainfo for s in data_samples):
            center = np.stack([np.asarray(s.metainfo['center'], np.float32) for s in data_samples])
            scale = np.stack([np.asarray(s.metainfo['scale'], np.float32) for s in data_samples])
            kpts, scores = self.decode_crops(heatmaps, center, scale)
        else:   # no crop information: input-image pixels
            kpts, scores = self.decode_input(heatmaps)
        for i, s in enumerate(data_samples):
            s.pred_keypoints = kpts[i].cpu()
            s.keypoint_scores = scores[i].cpu()
        return list(data_samples)


__all__ = ['PoseBridge']
