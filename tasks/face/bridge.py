"""``FaceBridge``: data samples <-> :class:`~hrvision.heads.face.FaceHead` (targets, decoding).

Used by :class:`~hrvision.tasks.face.model.FaceModel` and by the multi-task landmark adapter (whole-image
variant, :meth:`FaceBridge.decode_input`): both decode with the face codec, so the same weights give the same
landmarks.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor

from hrvision.codecs import BaseHeatmapCodec


class FaceBridge:
    """Args: ``codec``: the face codec object (official ``decode_preds`` through center/scale)."""

    def __init__(self, codec: BaseHeatmapCodec) -> None:
        self.codec = codec

    @staticmethod
    def targets(data_samples: Sequence[Any], device) -> Tensor:
        """Packed codec targets -> (N, K, h, w) heatmaps on ``device``."""
        if not data_samples:
            raise ValueError("mode='loss' needs data_samples carrying gt_heatmaps")
        return torch.stack([ds.gt_heatmaps for ds in data_samples]).to(device)

    def decode_input(self, heatmaps: Tensor) -> tuple[Tensor, Tensor]:
        """Heatmaps -> landmarks in network-input pixels, the box = the whole input (the face convention)."""
        return self.codec.decode_input(heatmaps)

    def predict(self, heatmaps: Tensor, data_samples: Sequence[Any] | None) -> list:
        """Write ``pred_keypoints`` (K, 2) in original-image pixels and ``keypoint_scores`` (K,)."""
        if not data_samples:
            raise ValueError("mode='predict' needs data_samples with center/scale metainfo")
        center = torch.as_tensor(
            [[float(v) for v in ds.metainfo['center']] for ds in data_samples], dtype=torch.float64)
        scale = torch.as_tensor([float(ds.metainfo['scale']) for ds in data_samples], dtype=torch.float64)
        preds, maxvals = self.codec.decode(heatmaps, center.to(heatmaps.device), scale.to(heatmaps.device))
        for ds, p, m in zip(data_samples, preds.cpu(), maxvals.cpu()):
            ds.pred_keypoints = p.float()
            ds.keypoint_scores = m.float()
        return list(data_samples)


__all__ = ['FaceBridge']
