"""HRNetV2 and HRNetV2p views of the four HRNet branches.

* :class:`HRNetV2Concat` (HRNetV2): upsample branches 2..4 to the stride-4 map and concatenate.
  The official seg/face heads do exactly this before their 1x1 convs.
* :class:`HRNetV2p` (HRNetV2p / HRFPN): HRNetV2 concat, a 1x1 reduction, then average pooling
  to a feature pyramid (strides 4, 8, 16, 32, 64 by default) with a 3x3 conv per level.

Both upsample to the exact target size (never ``scale_factor``), so any input size works.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checks import UPSAMPLE_MODES, check_bool, check_choice, check_int, check_int_list
from ..registry import MODELS
from ..shape import ShapeSpec, strides_of


def resize_concat(feats: Sequence[Tensor], mode: str = 'bilinear', align_corners: bool | None = False) -> Tensor:
    """Upsample every map to the first one's size and concatenate along channels."""
    ref = feats[0]
    size = ref.shape[-2:]
    ac = align_corners if mode in ('bilinear', 'bicubic') else None
    ups = [ref] + [f if f.shape[-2:] == size else F.interpolate(f, size=size, mode=mode, align_corners=ac)
                   for f in feats[1:]]
    return torch.cat(ups, dim=1)


class ConcatConv(nn.Module):
    """``conv(resize_concat(feats))`` for a 1x1 ``conv``, computed as ``sum_i resize(conv_i(feats[i])) + bias``.

    Why: the 1x1 conv after the HRNetV2 concat is the largest layer of the seg and face networks (15C x 15C at
    stride 4). Bilinear and nearest resizing are linear per channel with weights summing to one and a 1x1 conv
    mixes channels per pixel, so the two commute: each branch's slice of the conv runs at that branch's own
    resolution and only its output is resized (W48 seg at 1024x2048: 68 -> 8.5 G multiply-adds). Equal to
    float rounding; an inference-time rewrite (:func:`hrvision.fuse.fuse_for_inference`), like BN folding.
    """

    def __init__(self, conv: nn.Conv2d, in_channels: Sequence[int], mode: str = 'bilinear',
                 align_corners: bool | None = False) -> None:
        super().__init__()
        if conv.kernel_size != (1, 1) or conv.stride != (1, 1) or conv.groups != 1 or conv.padding not in ((0, 0), 0):
            raise ValueError(f'ConcatConv needs a plain 1x1 conv, got {conv}')
        if conv.in_channels != sum(in_channels):
            raise ValueError(f'ConcatConv: the conv reads {conv.in_channels} channels, the branches give '
                             f'{list(in_channels)} = {sum(in_channels)}')
        if mode not in ('bilinear', 'nearest'):
            raise ValueError(f"ConcatConv commutes with 'bilinear' or 'nearest' resizing only, got {mode!r}")
        self.mode = mode
        self.align_corners = align_corners if mode == 'bilinear' else None
        self.convs = nn.ModuleList()
        start = 0
        for i, c in enumerate(in_channels):
            part = nn.Conv2d(c, conv.out_channels, 1, bias=i == 0 and conv.bias is not None)
            part.weight = nn.Parameter(conv.weight.detach()[:, start:start + c].clone())
            if part.bias is not None:
                part.bias = nn.Parameter(conv.bias.detach().clone())
            self.convs.append(part)
            start += c

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        if len(feats) == 1 and len(self.convs) > 1:   # a map concatenated already (the multi-task shared concat)
            return F.conv2d(feats[0], torch.cat([c.weight for c in self.convs], 1), self.convs[0].bias)
        out = self.convs[0](feats[0])
        size = out.shape[-2:]
        for conv, f in zip(self.convs[1:], feats[1:]):
            y = conv(f)
            out = out + (y if y.shape[-2:] == size else
                         F.interpolate(y, size=size, mode=self.mode, align_corners=self.align_corners))
        return out


@MODELS.register_module()
class HRNetV2Concat(nn.Module):
    """HRNetV2 view: one stride-4 map with ``sum(in_channels)`` channels (no parameters).

    ``align_corners`` follows the official family: seg Cityscapes yaml False (config default
    True), face False.
    """

    def __init__(self, in_channels: Sequence[int] = (), mode: str = 'bilinear',
                 align_corners: bool | None = False) -> None:
        super().__init__()
        in_channels = check_int_list('HRNetV2Concat in_channels', in_channels, low=1, nonempty=False)
        check_choice('HRNetV2Concat mode', mode, UPSAMPLE_MODES)
        check_bool('HRNetV2Concat align_corners', align_corners, allow_none=True)
        self.mode = mode
        self.align_corners = align_corners
        self.in_channels = list(in_channels)

    def output_shape(self) -> dict[str, ShapeSpec]:
        """One stride-4 map with ``sum(in_channels)`` channels."""
        return {'concat': ShapeSpec(sum(self.in_channels), 4)}

    @property
    def out_channels(self) -> int:
        return self.output_shape()['concat'].channels

    @property
    def strides(self) -> list[int]:
        return [4]

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        return resize_concat(feats, self.mode, self.align_corners)


@MODELS.register_module()
class HRNetV2p(nn.Module):
    """HRNetV2p pyramid: concat -> 1x1 conv -> avg-pool 2^i -> 3x3 conv per level.

    Returns an ``OrderedDict`` ``{'p2': ..., 'p3': ..., ...}`` (what torchvision detectors take)
    and states its levels by :meth:`output_shape` (``out_channels`` an int, as torchvision expects, ``strides``
    and ``names`` derived from it).
    ``stride=2`` makes the 3x3 convs strided (mmdet HRFPN's option, used by FCOS): levels p3..p7.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int = 256, num_outs: int = 5,
                 pooling: str = 'avg', align_corners: bool | None = False, stride: int = 1) -> None:
        super().__init__()
        in_channels = check_int_list('HRNetV2p in_channels', in_channels, low=1)
        out_channels = check_int('HRNetV2p out_channels', out_channels, low=1)
        num_outs = check_int('HRNetV2p num_outs', num_outs, low=1)
        check_choice('HRNetV2p pooling', pooling, ('avg', 'max'))
        check_choice('HRNetV2p stride', stride, (1, 2))
        check_bool('HRNetV2p align_corners', align_corners, allow_none=True)
        self.align_corners = align_corners
        self.in_channels = list(in_channels)
        self.num_outs = num_outs
        self.pool = F.avg_pool2d if pooling == 'avg' else F.max_pool2d
        self.reduction_conv = nn.Conv2d(sum(in_channels), out_channels, 1)
        self.fpn_convs = nn.ModuleList(nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1)
                                       for _ in range(num_outs))
        first = 2 + (stride == 2)
        self._shape = {f'p{i + first}': ShapeSpec(out_channels, 4 * stride * 2 ** i) for i in range(num_outs)}
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, a=1)
                nn.init.zeros_(m.bias)

    def output_shape(self) -> dict[str, ShapeSpec]:
        """``{'p2': ShapeSpec(out_channels, 4), ...}`` (``p3..`` with ``stride=2``)."""
        return dict(self._shape)

    @property
    def out_channels(self) -> int:
        """One int for every level, as torchvision detectors expect."""
        return next(iter(self._shape.values())).channels

    @property
    def strides(self) -> list[int]:
        return strides_of(self._shape)

    @property
    def names(self) -> list[str]:
        return list(self._shape)

    def forward(self, feats: Sequence[Tensor]) -> 'OrderedDict[str, Tensor]':
        if isinstance(self.reduction_conv, ConcatConv):   # after hrvision.fuse.fuse_for_inference
            x = self.reduction_conv(feats)
        else:
            x = self.reduction_conv(resize_concat(feats, 'bilinear', self.align_corners))
        out: OrderedDict[str, Tensor] = OrderedDict()
        for i, (name, conv) in enumerate(zip(self.names, self.fpn_convs)):
            # ceil_mode keeps a level for every stride, also at sizes that are not multiples of 2^i
            level = x if i == 0 else self.pool(x, kernel_size=2 ** i, stride=2 ** i, ceil_mode=True)
            out[name] = conv(level)
        return out
