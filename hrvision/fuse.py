"""Inference-time rewrites that keep the outputs (to float rounding) and cut the work.

* :func:`fuse_conv_bn`: fold BatchNorm into the preceding convolution.
* :func:`split_concat_conv`: run the 1x1 conv after the HRNetV2 concat per branch, before the upsampling
  (:class:`~hrvision.necks.ConcatConv`).
* :func:`fuse_for_inference`: both (what ``hrvision export --format onnx`` writes).


An eval-mode BN is an affine map per channel, so ``bn(conv(x)) == conv'(x)`` with
``w' = w * g / sqrt(v + eps)`` and ``b' = beta + (b - mean) * g / sqrt(v + eps)``. Folding removes one
memory pass per conv: a real speed-up on CPUs and at small batches. Outputs stay equal to
float rounding; parameter names change, so fold *after* loading weights, for inference only.
"""
from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight.mul_(scale.view(-1, 1, 1, 1))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    new_bias = bn.bias + (bias - bn.running_mean) * scale
    conv.bias = nn.Parameter(new_bias)


def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """Fold every ``Conv2d -> BatchNorm2d`` pair (in Sequentials and ``convN``/``bnN`` block pairs) in place.

    The model must be in eval mode (training needs the batch statistics). Returns ``model``.
    """
    if model.training:
        raise RuntimeError('fuse_conv_bn needs an eval-mode model (BatchNorm uses running statistics)')
    for mod in list(model.modules()):
        if isinstance(mod, nn.Sequential):
            items = list(mod._modules.items())
            for (_, a), (name_b, b) in zip(items, items[1:]):
                if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                    _fold(a, b)
                    mod._modules[name_b] = nn.Identity()
                elif isinstance(a, nn.Conv2d) and isinstance(b, nn.Sequential) and len(b) \
                        and isinstance(b[0], nn.BatchNorm2d):   # conv then Sequential(BN, ReLU) (the OCR head)
                    _fold(a, b[0])
                    b[0] = nn.Identity()
        for k in range(1, 4):
            conv, bn = getattr(mod, f'conv{k}', None), getattr(mod, f'bn{k}', None)
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                _fold(conv, bn)
                setattr(mod, f'bn{k}', nn.Identity())
    return model


def concat_head_conv(head: nn.Module, concat: nn.Module):
    """``(layers, conv)``: the one child of ``head`` with a ``split_first_conv(concat)`` hook (the seg/face
    :class:`~hrvision.heads.segmentation.ConcatHeadLayers`; the head owns what can be split, the core names no
    head) and the ``ConcatConv`` it returns for the branches ``concat`` concatenates; None when the head or the
    concat does not allow it. The caller puts the ``ConcatConv`` in place (in the neck, or in ``layers[0]``)."""
    layers = [m for m in head.children() if callable(getattr(m, 'split_first_conv', None))]
    if len(layers) != 1:
        return None
    conv = layers[0].split_first_conv(concat)
    return None if conv is None else (layers[0], conv)


def split_concat_conv(model: nn.Module) -> nn.Module:
    """Move the 1x1 conv that reads the HRNetV2 concat map in front of the upsampling, in place.

    A model whose ``neck`` is :class:`~hrvision.necks.HRNetV2Concat` and whose ``head`` starts with
    :class:`~hrvision.heads.segmentation.ConcatHeadLayers` (seg, face): the neck becomes a ``ConcatConv`` and the
    head's first conv an ``Identity`` (:func:`concat_head_conv`). A head that reads the concat map beside a 1x1 conv
    of it splits itself through its ``split_neck_conv(neck)`` hook, which returns the new neck
    (:class:`~hrvision.heads.ocr.OCRHead`: its auxiliary 1x1 conv per branch, the concat map kept for its 3x3 conv);
    its ``concat_split`` text (what could not be split and why) is logged. Every :class:`~hrvision.necks.HRNetV2p`: its
    reduction conv. Then the model's own ``split_concat_conv()`` when it has one (a task whose wiring the core does
    not know: multi-task). Anything else is left as it is. Parameter names change: inference only, after loading
    weights. Returns ``model``.
    """
    from .necks.hrnetv2 import ConcatConv, HRNetV2p
    neck, head = getattr(model, 'neck', None), getattr(model, 'head', None)
    found = None
    if callable(getattr(head, 'split_neck_conv', None)):   # the head rewires itself (OCR: concat + split 1x1 conv)
        new_neck = head.split_neck_conv(neck)
        if new_neck is not None:
            model.neck = new_neck
    elif isinstance(head, nn.Module):
        found = concat_head_conv(head, neck)
    if isinstance(getattr(head, 'concat_split', None), str):   # what the head could not split, and why (OCR)
        from mmengine.logging import print_log
        print_log(f'concat-conv split {head.concat_split}', logger='current')
    if found:
        layers, conv = found
        model.neck, layers[0] = conv, nn.Identity()
    for mod in list(model.modules()):
        if isinstance(mod, HRNetV2p) and isinstance(mod.reduction_conv, nn.Conv2d):
            mod.reduction_conv = ConcatConv(mod.reduction_conv, mod.in_channels, 'bilinear', mod.align_corners)
    if callable(getattr(model, 'split_concat_conv', None)):
        model.split_concat_conv()
    return model


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """:func:`fuse_conv_bn` then :func:`split_concat_conv`, in place (eval mode); returns ``model``."""
    return split_concat_conv(fuse_conv_bn(model))
