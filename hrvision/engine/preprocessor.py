"""Data preprocessor shared by every task: device move, batching, normalisation.

Transforms hand over ``uint8``/float CHW tensors in RGB order (0-255). Normalisation happens
here, on the device, once per batch; images of different sizes are zero-padded (bottom/right)
to a common size that is a multiple of ``pad_size_divisor``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor

from ..registry import MODELS

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class HRVDataPreprocessor(BaseDataPreprocessor):
    """Stack, pad and normalise images; data samples move to the device untouched.

    Args:
        mean / std: per-channel, 0-255 scale, RGB order (ImageNet by default).
        pad_size_divisor: pad H and W up to a multiple of this (1 = only to the batch max).
        pad_value: value of padded pixels *before* normalisation.
        channels_last: return the batch in ``torch.channels_last`` memory format.
        non_blocking: asynchronous host-to-GPU copies; they overlap compute only from pinned memory, which
            :func:`hrvision.engine.runner.prepare_config` turns on for the dataloaders of CUDA machines.
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
                 pad_size_divisor: int = 1, pad_value: float = 0.0, channels_last: bool = False,
                 non_blocking: bool = True) -> None:
        super().__init__(non_blocking)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), persistent=False)
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value
        self.channels_last = channels_last

    def stack(self, images: Sequence[torch.Tensor]) -> torch.Tensor:
        h = max(int(im.shape[-2]) for im in images)
        w = max(int(im.shape[-1]) for im in images)
        d = self.pad_size_divisor
        h, w = -(-h // d) * d, -(-w // d) * d
        padded = [im if im.shape[-2:] == (h, w) else
                  F.pad(im, (0, w - im.shape[-1], 0, h - im.shape[-2]), value=self.pad_value) for im in images]
        return torch.stack(padded)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            batch = self.stack([im.float() for im in inputs])
        else:
            batch = inputs.float()
        if batch.dim() != 4 or batch.shape[1] != self.mean.shape[0]:
            raise ValueError(f'data preprocessor expects images of shape (N, {self.mean.shape[0]}, H, W); '
                             f'got {tuple(batch.shape)}')
        batch = (batch - self.mean) / self.std
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return {'inputs': batch, 'data_samples': data.get('data_samples')}


def build_module(cfg):
    """A module, or a config built from hrvision's registry (works without a default scope)."""
    if cfg is None or isinstance(cfg, torch.nn.Module):
        return cfg
    return MODELS.build(cfg)


def build_data_preprocessor(cfg=None) -> BaseDataPreprocessor:
    """``None`` -> the default :class:`HRVDataPreprocessor`; dicts are built from hrvision's registry.

    mmengine's ``BaseModel`` would build a dict from its *root* registry, which cannot see
    hrvision's classes unless a default scope is set; passing the module avoids that.
    """
    return build_module(cfg) if cfg is not None else HRVDataPreprocessor()
