"""HRNetV2 segmentation head (official ``last_layer``) with CE / OHEM-CE / smp losses.

Layers: HRNetV2 concat (a neck) -> 1x1 conv(15C->15C, bias) -> BN -> ReLU -> 1x1 conv(->classes).
The Sequential is called ``last_layer`` so official checkpoint keys map to ``head.last_layer.*``.
Logits stay at stride 4; the loss and prediction upsample them to label size (bilinear,
``align_corners`` as configured), as the official code does.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hrvision.checks import check_int
from hrvision.registry import MODELS


class ConcatHeadLayers(nn.Sequential):
    """The official seg/face head layers; the head applies them first thing to the HRNetV2 concat map, so
    :func:`hrvision.fuse.fuse_for_inference` may move their first (1x1) conv into the neck (a ``ConcatConv``)."""

    def split_first_conv(self, concat: nn.Module):
        """The hook :func:`hrvision.fuse.concat_head_conv` calls (the core knows no head class): the first 1x1
        conv rebuilt as a :class:`~hrvision.necks.ConcatConv` over the branches ``concat`` (an
        :class:`~hrvision.necks.HRNetV2Concat`) concatenates; None when the concat or the conv does not allow it."""
        from hrvision.necks.hrnetv2 import ConcatConv, HRNetV2Concat
        first = self[0]
        if not (isinstance(concat, HRNetV2Concat) and concat.mode in ('bilinear', 'nearest')
                and isinstance(first, nn.Conv2d) and first.kernel_size == (1, 1)
                and first.in_channels == sum(concat.in_channels)):
            return None
        return ConcatConv(first, concat.in_channels, concat.mode, concat.align_corners)


def concat_head_layers(in_channels: int, out_channels: int, kernel: int = 1, momentum: float = 0.1) -> nn.Sequential:
    """1x1 conv-BN-ReLU then a ``kernel`` conv to ``out_channels``: the official seg/face head."""
    return ConcatHeadLayers(
        nn.Conv2d(in_channels, in_channels, 1, 1, 0, bias=True),
        nn.BatchNorm2d(in_channels, momentum=momentum),
        nn.ReLU(inplace=True),
        nn.Conv2d(in_channels, out_channels, kernel, 1, kernel // 2, bias=True),
    )


def ohem_cross_entropy(logits: Tensor, labels: Tensor, weight: Tensor | None, thresh: float, min_kept: int,
                       ignore_index: int = 255) -> Tensor:
    """Official ``OhemCrossEntropy``: keep pixels whose target probability is below a threshold.

    threshold = max(sorted_p[min(min_kept, n_valid - 1)], thresh); the loss is the *plain mean*
    of the class-weighted per-pixel CE of kept pixels (not weight-normalised); 0 when none is kept.
    Computed with masks and tensor indices only: no ``.item()`` or boolean indexing, so a CUDA step does not wait
    for the GPU here (ignored pixels sort last as probability 2).
    """
    pixel_loss = F.cross_entropy(logits, labels, weight=weight, ignore_index=ignore_index, reduction='none').flatten()
    with torch.no_grad():
        valid = (labels != ignore_index).flatten()
        tgt = labels.masked_fill(labels == ignore_index, 0)
        p = logits.softmax(1).gather(1, tgt.unsqueeze(1)).flatten()
        sorted_p, _ = p.masked_fill(~valid, 2.0).sort()
        k = (valid.sum() - 1).clamp(min=0, max=min_kept)
        threshold = sorted_p.gather(0, k.view(1)).clamp(min=thresh)
        kept = valid & (p < threshold)
    return torch.where(kept, pixel_loss, 0.0).sum() / kept.sum().clamp(min=1)


@MODELS.register_module()
class SegmentationHead(nn.Module):
    """HRNetV2 segmentation head. Input: the HRNetV2 concat map; output: (N, classes, H/4, W/4).

    Args:
        in_channels: channels of the concat map (15C for HRNet-WC).
        num_classes: 19 for Cityscapes.
        align_corners: upsampling of logits to label size (official Cityscapes yaml: False).
        loss: 'ce' (class-weighted CE) or 'ohem' (official OHEM CE).
        class_weight: per-class CE weights (the official Cityscapes weights by default: None = unweighted).
        ohem_thresh / ohem_min_kept: OHEM settings (official: 0.9 / 131072).
        aux_loss: optional dict(type='lovasz'|'dice', weight=w) from segmentation_models_pytorch.
    """

    def __init__(self, in_channels: int, num_classes: int = 19, kernel: int = 1, momentum: float = 0.1,
                 align_corners: bool = False, loss: str = 'ce', class_weight: Sequence[float] | None = None,
                 ohem_thresh: float = 0.9, ohem_min_kept: int = 131072, ignore_index: int = 255,
                 aux_loss: dict | None = None) -> None:
        super().__init__()
        if loss not in ('ce', 'ohem'):
            raise ValueError(f"SegmentationHead loss must be 'ce' or 'ohem', got {loss!r}")
        num_classes = check_int('SegmentationHead num_classes', num_classes, low=1)
        if class_weight is not None and len(class_weight) != num_classes:
            raise ValueError(f'class_weight has {len(class_weight)} entries, expected num_classes={num_classes}')
        self.last_layer = concat_head_layers(in_channels, num_classes, kernel, momentum)
        self.num_classes = num_classes
        self.align_corners = align_corners
        self.loss_type = loss
        self.ohem_thresh = ohem_thresh
        self.ohem_min_kept = ohem_min_kept
        self.ignore_index = ignore_index
        if class_weight is not None:
            self.register_buffer('class_weight', torch.tensor(class_weight, dtype=torch.float32), persistent=False)
        else:
            self.class_weight = None
        self.aux = self._build_aux(aux_loss)

    def _build_aux(self, cfg: dict | None):
        if not cfg:
            return None
        import segmentation_models_pytorch as smp
        kind = cfg.get('type', '').lower()
        if kind == 'lovasz':
            fn = smp.losses.LovaszLoss('multiclass', ignore_index=self.ignore_index)
        elif kind == 'dice':
            fn = smp.losses.DiceLoss('multiclass', ignore_index=self.ignore_index)
        else:
            raise ValueError(f"aux_loss.type must be 'lovasz' or 'dice', got {cfg.get('type')!r}")
        self.aux_weight = float(cfg.get('weight', 1.0))
        self.aux_name = f'loss_{kind}'
        return fn

    def forward(self, x: Tensor) -> Tensor:
        return self.last_layer(x)

    def upsample(self, logits: Tensor, size) -> Tensor:
        if tuple(logits.shape[-2:]) == tuple(size):
            return logits
        return F.interpolate(logits, size=size, mode='bilinear', align_corners=self.align_corners)

    def loss(self, x: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """``labels``: (N, H, W) long train ids, 255 ignored."""
        logits = self.upsample(self.forward(x), labels.shape[-2:]).float()
        if self.loss_type == 'ohem':
            main = ohem_cross_entropy(logits, labels, self.class_weight, self.ohem_thresh, self.ohem_min_kept,
                                      self.ignore_index)
        else:
            main = F.cross_entropy(logits, labels, weight=self.class_weight, ignore_index=self.ignore_index)
        losses = {'loss_ce' if self.loss_type == 'ce' else 'loss_ohem': main}
        if self.aux is not None:
            losses[self.aux_name] = self.aux_weight * self.aux(logits, labels)
        return losses
