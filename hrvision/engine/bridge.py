"""What every task bridge shares: the input-pixel -> original-pixel rescaling of a resized image.

A bridge (``hrvision.tasks.<task>.bridge``) turns data samples into its head's targets and the head's
outputs into predictions in original-image coordinates; the single-task model and the multi-task model
call the same bridge, so each conversion exists once.
"""
from __future__ import annotations

from torch import Tensor


def scale_factor(sample) -> tuple[float, float]:
    """``metainfo['scale_factor']`` (x, y) of a resized image; (1, 1) when the pipeline did not resize."""
    sx, sy = sample.metainfo.get('scale_factor', (1.0, 1.0))
    return float(sx), float(sy)


def to_original(xy: Tensor, sample) -> Tensor:
    """Points (..., 2) or xyxy boxes (..., 4) in resized-input pixels -> original-image pixels."""
    sx, sy = scale_factor(sample)
    div = xy.new_tensor([sx, sy] * (xy.shape[-1] // 2))
    return xy / div


__all__ = ['scale_factor', 'to_original']
