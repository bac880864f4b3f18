"""HRNet + OCR segmentation head (object-contextual representations; official ``seg_hrnet_ocr.py``, SPEC §10).

On the HRNetV2 concat map ``feats`` (C channels, stride 4):

1. ``aux_head``: 1x1 conv (C->C, bias) - BN - ReLU - 1x1 conv (C->K, bias): soft object regions (K classes).
2. ``conv3x3_ocr``: 3x3 conv (C->M, bias) - BN - ReLU (M = ``mid_channels``).
3. ``ocr_gather_head`` (no parameters): a softmax over the pixels of each region map weights the pixel features
   into one representation per object region.
4. ``ocr_distri_head``: pixel-region relation (query from the pixels, key and value from the regions, scaled dot
   product, softmax over the regions), the object context brought back to M channels, then the augmented
   representation: ``cat([context, feats])`` - 1x1 conv - BN - ReLU - Dropout2d.
5. ``cls_head``: 1x1 conv (M->K, bias).

Module names are the official checkpoint's keys (``aux_head.*``, ``conv3x3_ocr.*``, ``ocr_distri_head.
object_context_block.f_pixel.1.0.*``, ``cls_head.*``; ``head.`` prefixed here), so official ``hrnet_ocr_cs_*``
weights load strictly. ``forward`` returns the OCR output only (what the official test reads, ``OUTPUT_INDEX``
-1), so everything that runs a seg head (multi-scale + flip, export, infer, multi-task) runs this one;
:meth:`OCRHead.forward_all` returns ``(aux, out)`` as the official model does.

The concat-conv split of :mod:`hrvision.fuse` applies in part (:meth:`OCRHead.split_neck_conv`): ``aux_head``'s
first 1x1 conv runs per branch before the upsampling (:class:`~hrvision.necks.ConcatConv`, W48 at 1024x2048: 68 ->
8.5 G multiply-adds), but ``conv3x3_ocr`` is a 3x3 conv over the concat map, which does not commute with the
upsampling, so the concat map is still built for it (:attr:`OCRHead.concat_split`). Measured on the W48 stride-4
part of a 512x1024 input, one thread (concat + that conv vs the split): onnxruntime 2.7 -> 0.66 s, OpenVINO 1.7 ->
0.75 s (what ``hrvision export`` writes); eager torch 3.0 -> 4.0 s (its bilinear resize of the three 720-channel
maps costs more than the conv saves), so only the inference rewrite splits.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hrvision.checks import check_int
from hrvision.registry import MODELS

from .segmentation import ohem_cross_entropy


def _bn_relu(channels: int) -> nn.Sequential:
    """The official ``ModuleHelper.BNReLU``: a Sequential (BN, ReLU), hence keys like ``f_pixel.1.0.weight``."""
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


class SpatialGather(nn.Module):
    """Object region representations: ``softmax(scale * regions)`` over the pixels, times the pixel features.

    ``feats`` (N, M, H, W), ``regions`` (N, K, H, W) -> (N, M, K, 1)."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, feats: Tensor, regions: Tensor) -> Tensor:
        probs = F.softmax(self.scale * regions.flatten(2), dim=2)          # N, K, HW
        ctx = torch.matmul(probs, feats.flatten(2).transpose(1, 2))        # N, K, M
        return ctx.transpose(1, 2).unsqueeze(3)


class ObjectContextBlock(nn.Module):
    """Pixel-region relation and the object context per pixel (official ``ObjectAttentionBlock2D``, scale 1)."""

    def __init__(self, in_channels: int, key_channels: int) -> None:
        super().__init__()
        self.key_channels = key_channels

        def transform():   # conv-BN-ReLU twice (query of the pixels, key of the regions)
            return nn.Sequential(nn.Conv2d(in_channels, key_channels, 1, bias=False), _bn_relu(key_channels),
                                 nn.Conv2d(key_channels, key_channels, 1, bias=False), _bn_relu(key_channels))
        self.f_pixel = transform()
        self.f_object = transform()
        self.f_down = nn.Sequential(nn.Conv2d(in_channels, key_channels, 1, bias=False), _bn_relu(key_channels))
        self.f_up = nn.Sequential(nn.Conv2d(key_channels, in_channels, 1, bias=False), _bn_relu(in_channels))

    def forward(self, x: Tensor, proxy: Tensor) -> Tensor:
        query = self.f_pixel(x).flatten(2).transpose(1, 2)                # N, HW, Kc
        key = self.f_object(proxy).flatten(2)                             # N, Kc, K
        value = self.f_down(proxy).flatten(2).transpose(1, 2)             # N, K, Kc
        sim = F.softmax(torch.matmul(query, key) * self.key_channels ** -0.5, dim=-1)   # N, HW, K
        context = torch.matmul(sim, value).transpose(1, 2)                 # N, Kc, HW
        context = context.reshape(x.shape[0], self.key_channels, x.shape[2], x.shape[3])
        return self.f_up(context)


class SpatialOCR(nn.Module):
    """The augmented representation: ``cat([object context, pixel features])`` - 1x1 conv - BN - ReLU - dropout."""

    def __init__(self, in_channels: int, key_channels: int, out_channels: int, dropout: float = 0.05) -> None:
        super().__init__()
        self.object_context_block = ObjectContextBlock(in_channels, key_channels)
        self.conv_bn_dropout = nn.Sequential(nn.Conv2d(2 * in_channels, out_channels, 1, bias=False),
                                             _bn_relu(out_channels), nn.Dropout2d(dropout))

    def forward(self, feats: Tensor, proxy: Tensor) -> Tensor:
        context = self.object_context_block(feats, proxy)
        return self.conv_bn_dropout(torch.cat([context, feats], 1))


class ConcatAndConv(nn.Module):
    """The neck of a split OCR model: ``(concat(feats), conv(feats))`` from the same branches -- the concat map for
    ``conv3x3_ocr`` and ``aux_head``'s first 1x1 conv computed per branch (a :class:`~hrvision.necks.ConcatConv`).
    Inference only (:meth:`OCRHead.split_neck_conv`)."""

    def __init__(self, concat: nn.Module, conv: nn.Module) -> None:
        super().__init__()
        self.concat = concat
        self.conv = conv

    def forward(self, feats: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        return self.concat(feats), self.conv(feats)


@MODELS.register_module()
class OCRHead(nn.Module):
    """HRNet-OCR segmentation head. Input: the HRNetV2 concat map; output: (N, classes, H/4, W/4) OCR logits.

    Args:
        in_channels: channels of the concat map (15C for HRNet-WC; 720 for W48).
        num_classes: 19 for Cityscapes.
        mid_channels / key_channels / dropout / scale: official ``MODEL.OCR`` ``MID_CHANNELS`` (512),
            ``KEY_CHANNELS`` (256), ``DROPOUT`` (0.05), ``SCALE`` (1).
        momentum: BN momentum of ``aux_head`` (the HRNet-OCR branch: 0.1; the OCR modules use PyTorch's 0.1).
        align_corners: upsampling of logits to label size (the OCR yamls keep the default True).
        loss: 'ce' (class-weighted CE, the OCR yamls) or 'ohem' (official OHEM CE on the OCR output; the auxiliary
            output keeps CE, as the official criterion applies OHEM to the last output only).
        loss_weights: (auxiliary, OCR) weights, official ``LOSS.BALANCE_WEIGHTS`` [0.4, 1].
        class_weight / ohem_thresh / ohem_min_kept / ignore_index: as :class:`SegmentationHead`.
    """

    concat_split = ('of OCRHead: aux_head.0 (1x1) runs per branch; conv3x3_ocr is a 3x3 conv over the HRNetV2 concat '
                    'map, which does not commute with the upsampling, so the concat map is still computed for it')

    def __init__(self, in_channels: int, num_classes: int = 19, mid_channels: int = 512, key_channels: int = 256,
                 dropout: float = 0.05, scale: float = 1.0, momentum: float = 0.1, align_corners: bool = True,
                 loss: str = 'ce', loss_weights: Sequence[float] = (0.4, 1.0),
                 class_weight: Sequence[float] | None = None, ohem_thresh: float = 0.9, ohem_min_kept: int = 131072,
                 ignore_index: int = 255) -> None:
        super().__init__()
        if loss not in ('ce', 'ohem'):
            raise ValueError(f"OCRHead loss must be 'ce' or 'ohem', got {loss!r}")
        in_channels = check_int('OCRHead in_channels', in_channels, low=1)
        num_classes = check_int('OCRHead num_classes', num_classes, low=1)
        mid_channels = check_int('OCRHead mid_channels', mid_channels, low=1)
        key_channels = check_int('OCRHead key_channels', key_channels, low=1)
        if not (isinstance(loss_weights, (list, tuple)) and len(loss_weights) == 2):
            raise ValueError(f'OCRHead loss_weights must be (auxiliary, ocr), two numbers; got {loss_weights!r}')
        if class_weight is not None and len(class_weight) != num_classes:
            raise ValueError(f'class_weight has {len(class_weight)} entries, expected num_classes={num_classes}')
        # definition order = the official state-dict order
        self.conv3x3_ocr = nn.Sequential(nn.Conv2d(in_channels, mid_channels, 3, 1, 1, bias=True),
                                         nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True))
        self.ocr_gather_head = SpatialGather(scale)
        self.ocr_distri_head = SpatialOCR(mid_channels, key_channels, mid_channels, dropout)
        self.cls_head = nn.Conv2d(mid_channels, num_classes, 1, bias=True)
        self.aux_head = nn.Sequential(nn.Conv2d(in_channels, in_channels, 1, bias=True),
                                      nn.BatchNorm2d(in_channels, momentum=momentum), nn.ReLU(inplace=True),
                                      nn.Conv2d(in_channels, num_classes, 1, bias=True))
        self.num_classes = num_classes
        self.align_corners = align_corners
        self.loss_type = loss
        self.loss_weights = tuple(float(w) for w in loss_weights)
        self.ohem_thresh = ohem_thresh
        self.ohem_min_kept = ohem_min_kept
        self.ignore_index = ignore_index
        if class_weight is not None:
            self.register_buffer('class_weight', torch.tensor(class_weight, dtype=torch.float32), persistent=False)
        else:
            self.class_weight = None

    def split_neck_conv(self, neck: nn.Module) -> nn.Module | None:
        """The hook :func:`hrvision.fuse.split_concat_conv` calls (inference only, after loading weights): the neck
        that replaces ``neck`` (an :class:`~hrvision.necks.HRNetV2Concat`), giving the concat map and ``aux_head``'s
        first 1x1 conv computed per branch; that conv becomes an ``Identity`` here. None (nothing changed) when the
        neck or the conv does not allow it."""
        from hrvision.necks.hrnetv2 import ConcatConv, HRNetV2Concat
        first = self.aux_head[0]
        if not (isinstance(neck, HRNetV2Concat) and neck.mode in ('bilinear', 'nearest')
                and isinstance(first, nn.Conv2d) and first.kernel_size == (1, 1)
                and first.in_channels == sum(neck.in_channels)):
            return None
        conv = ConcatConv(first, neck.in_channels, neck.mode, neck.align_corners)
        self.aux_head[0] = nn.Identity()
        return ConcatAndConv(neck, conv)

    def forward_all(self, x: Tensor | tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """``(aux, out)``: the soft object regions and the OCR logits (the official model's ``[out_aux, out]``).
        ``x``: the concat map, or after :meth:`split_neck_conv` the pair (concat map, ``aux_head.0`` of it)."""
        concat, pre = x if isinstance(x, (tuple, list)) else (x, x)
        aux = self.aux_head(pre)
        feats = self.conv3x3_ocr(concat)
        context = self.ocr_gather_head(feats, aux)
        out = self.cls_head(self.ocr_distri_head(feats, context))
        return aux, out

    def forward(self, x: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        return self.forward_all(x)[1]

    def upsample(self, logits: Tensor, size) -> Tensor:
        if tuple(logits.shape[-2:]) == tuple(size):
            return logits
        return F.interpolate(logits, size=size, mode='bilinear', align_corners=self.align_corners)

    def _ce(self, logits: Tensor, labels: Tensor) -> Tensor:
        return F.cross_entropy(logits, labels, weight=self.class_weight, ignore_index=self.ignore_index)

    def loss(self, x: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """``labels``: (N, H, W) long train ids, 255 ignored. Both outputs upsampled to the labels, weighted by
        ``loss_weights``."""
        aux, out = (self.upsample(t, labels.shape[-2:]).float() for t in self.forward_all(x))
        w_aux, w_out = self.loss_weights
        if self.loss_type == 'ohem':
            main = ohem_cross_entropy(out, labels, self.class_weight, self.ohem_thresh, self.ohem_min_kept,
                                      self.ignore_index)
        else:
            main = self._ce(out, labels)
        return {'loss_aux': w_aux * self._ce(aux, labels),
                'loss_ce' if self.loss_type == 'ce' else 'loss_ohem': w_out * main}
