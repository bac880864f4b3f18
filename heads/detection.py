"""Detection on HRNetV2p with torchvision's FCOS / Faster R-CNN (anchors, matching, NMS, losses).

We only supply the backbone (:class:`Pyramid`: HRNetV2p over HRNet -> ``OrderedDict`` of levels; the task model
builds both parts from its config like every other task)
and a batching-only transform: images reach the detector already resized by our pipeline and
normalised by ``HRVDataPreprocessor``, so torchvision must neither resize nor normalise again.
Labels given to :class:`TorchvisionDetector` are 0-based; the Faster R-CNN background shift is
handled here.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from contextlib import contextmanager
from functools import partial
from typing import Iterator, Sequence

import torch
from torch import Tensor, nn
from torchvision.models.detection import FCOS, FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.fcos import FCOSClassificationHead, FCOSHead, FCOSRegressionHead
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops import MultiScaleRoIAlign

from hrvision.necks import HRNetV2p
from hrvision.registry import MODELS
from hrvision.shape import ShapeSpec, strides_of


class Pyramid(nn.Module):
    """torchvision's ``backbone``: the HRNetV2p ``neck`` over HRNet branches, the one pyramid wrapper.

    Single-task (:class:`~hrvision.tasks.detection.model.HRNetDetector`): ``body`` is the HRNet the task model
    built, run here on the batch torchvision padded. Multi-task: no ``body``; the model feeds the features
    it computed once, and the detector's call runs only the neck (the padded batch must have their size).
    Levels, channels and strides come from the neck's :meth:`output_shape`.
    """

    def __init__(self, neck: HRNetV2p, body: nn.Module | None = None, channels_last: bool = False) -> None:
        super().__init__()
        self.body = body
        self.neck = neck
        self.channels_last = channels_last
        self._feats = None
        self._size = None

    def output_shape(self) -> dict[str, ShapeSpec]:
        return self.neck.output_shape()

    @property
    def out_channels(self) -> int:
        """One int for all levels (torchvision's contract)."""
        return self.neck.out_channels

    @property
    def names(self) -> list[str]:
        return list(self.output_shape())

    @property
    def strides(self) -> list[int]:
        return strides_of(self.output_shape())

    def feed(self, feats: Sequence[Tensor], image_size) -> None:
        """Multi-task: the neck's input for the next call, computed from images of ``image_size``."""
        self._feats = feats
        self._size = tuple(image_size)

    def forward(self, x: Tensor) -> 'OrderedDict[str, Tensor]':
        if self._feats is not None:
            if tuple(x.shape[-2:]) != self._size:
                raise ValueError(f'the detector batched the images to {tuple(x.shape[-2:])} but the shared features '
                                 f'come from {self._size}: set data_preprocessor.pad_size_divisor to a multiple of '
                                 'the detector size_divisible (the coarsest pyramid stride)')
            feats, self._feats = self._feats, None
            return self.neck(feats)
        if self.body is None:
            raise RuntimeError('Pyramid has no body and no features: MultiTaskModel feeds them before calling the '
                               'detector')
        if self.channels_last:  # torchvision's batching returns NCHW; oneDNN/cuDNN prefer NHWC
            x = x.contiguous(memory_format=torch.channels_last)
        return self.neck(self.body(x))


class BatchOnlyTransform(GeneralizedRCNNTransform):
    """GeneralizedRCNNTransform minus normalisation and resizing: only pads and batches."""

    def __init__(self, size_divisible: int = 32) -> None:
        super().__init__(min_size=1, max_size=1, image_mean=[0.0, 0.0, 0.0], image_std=[1.0, 1.0, 1.0],
                         size_divisible=size_divisible)

    def normalize(self, image: Tensor) -> Tensor:
        return image

    def resize(self, image: Tensor, target: dict | None = None):
        return image, target

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(size_divisible={self.size_divisible})'


def fcos_head(channels: int, num_classes: int, num_convs: int = 4, norm_groups: int = 32) -> FCOSHead:
    """torchvision's FCOS head with GroupNorm groups that divide ``channels`` (32 for 256 channels)."""
    groups = math.gcd(norm_groups, channels)
    head = FCOSHead(channels, 1, num_classes, num_convs=0)
    norm = partial(nn.GroupNorm, groups)
    head.classification_head = FCOSClassificationHead(channels, 1, num_classes, num_convs, norm_layer=norm)
    head.regression_head = FCOSRegressionHead(channels, 1, num_convs, norm_layer=norm)
    return head


def _anchor_generator(sizes: Sequence[Sequence[int]], ratios: Sequence[float], n_levels: int) -> AnchorGenerator:
    if len(sizes) != n_levels:
        raise ValueError(f'anchor_sizes has {len(sizes)} tuples but the backbone returns {n_levels} pyramid '
                         'levels; torchvision needs one size tuple per level')
    return AnchorGenerator(tuple(tuple(int(s) for s in t) for t in sizes), (tuple(ratios),) * n_levels)


@MODELS.register_module()
class TorchvisionDetector(nn.Module):
    """A torchvision FCOS or Faster R-CNN around a pyramid backbone, exposing forward/loss/predict.

    Args:
        backbone: module returning an ``OrderedDict`` of levels, stating them by ``output_shape()``
            (a :class:`Pyramid`) and an int ``out_channels``.
        num_classes: object classes (no background).
        kind: ``'fcos'`` or ``'faster_rcnn'``.
        anchor_sizes: one tuple per pyramid level (default: the level strides for FCOS, 8x stride
            for Faster R-CNN, as in the FCOS / FPN papers).
        head_convs / head_norm_groups: FCOS tower depth and GroupNorm groups (gcd with the channels).
        size_divisible: batch padding multiple; default the coarsest stride, because torchvision's
            AnchorGenerator derives each level's stride as ``image_size // feature_size``.
        **det_kwargs: passed to the torchvision constructor (score_thresh, nms_thresh, ...).
    """

    def __init__(self, backbone: nn.Module, num_classes: int, kind: str = 'fcos',
                 anchor_sizes: Sequence[Sequence[int]] | None = None, aspect_ratios: Sequence[float] | None = None,
                 roi_levels: Sequence[str] | None = None, head_convs: int = 4, head_norm_groups: int = 32,
                 size_divisible: int | None = None, **det_kwargs) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        shape = backbone.output_shape()
        names, strides = list(shape), strides_of(shape)
        if len({s.channels for s in shape.values()}) != 1:
            raise ValueError(f'torchvision detectors need one channel count for all levels; the pyramid states '
                             f'{ {n: s.channels for n, s in shape.items()} }')
        self.kind = kind
        self.num_classes = num_classes
        # torchvision's constructors want min/max sizes; our transform ignores them
        if kind == 'fcos':
            sizes = anchor_sizes or [(s,) for s in strides]
            anchors = _anchor_generator(sizes, aspect_ratios or (1.0,), len(names))
            head = fcos_head(backbone.out_channels, num_classes, head_convs, head_norm_groups)
            self.detector = FCOS(backbone, num_classes, min_size=1, max_size=1,
                                 anchor_generator=anchors, head=head, **det_kwargs)
            self.label_offset = 0
        elif kind == 'faster_rcnn':
            sizes = anchor_sizes or [(8 * s,) for s in strides]
            anchors = _anchor_generator(sizes, aspect_ratios or (0.5, 1.0, 2.0), len(names))
            levels = list(roi_levels or names[:4])
            bad = [lv for lv in levels if lv not in names]
            if bad:
                raise ValueError(f'roi_levels {bad} are not backbone levels {names}')
            roi_pool = MultiScaleRoIAlign(featmap_names=levels, output_size=7, sampling_ratio=2)
            self.detector = FasterRCNN(backbone, num_classes + 1, min_size=1, max_size=1,
                                       rpn_anchor_generator=anchors, box_roi_pool=roi_pool, **det_kwargs)
            self.label_offset = 1  # torchvision reserves label 0 for background
        else:
            raise ValueError(f"detector kind must be 'fcos' or 'faster_rcnn', got {kind!r}")
        self.detector.transform = BatchOnlyTransform(size_divisible or max(strides))

    @contextmanager
    def _mode(self, training: bool) -> Iterator[None]:
        """Pick torchvision's loss or inference branch without touching BatchNorm's mode."""
        d = self.detector
        mods = [d, d.transform] + [m for m in (getattr(d, 'rpn', None), getattr(d, 'roi_heads', None)) if m is not None]
        old = [m.training for m in mods]
        for m in mods:
            m.training = training
        try:
            yield
        finally:
            for m, t in zip(mods, old):
                m.training = t

    def forward(self, images: Tensor) -> dict:
        """Raw outputs: pyramid features and the dense head outputs (FCOS head / RPN head)."""
        feats = self.detector.backbone(images)
        if self.kind == 'fcos':
            out = self.detector.head(list(feats.values()))
        else:
            objectness, deltas = self.detector.rpn.head(list(feats.values()))
            out = {'objectness': objectness, 'rpn_bbox_deltas': deltas}
        return {'features': feats, **out}

    def loss(self, images: list[Tensor], targets: list[dict[str, Tensor]]) -> dict[str, Tensor]:
        """``images``: normalised CHW tensors at their valid size; targets: 0-based ``labels``, xyxy ``boxes``."""
        shifted = [{'boxes': t['boxes'].float(), 'labels': t['labels'].long() + self.label_offset} for t in targets]
        with self._mode(True):
            losses = self.detector(images, shifted)
        # mmengine sums the entries whose name contains 'loss'; FCOS names them 'classification', ...
        return {k if k.startswith('loss') else f'loss_{k}': v for k, v in losses.items()}

    @torch.no_grad()
    def predict(self, images: list[Tensor]) -> list[dict[str, Tensor]]:
        """Boxes (xyxy, input-image coordinates), 0-based labels and scores per image."""
        with self._mode(False):
            dets = self.detector(images)
        for d in dets:
            d['labels'] = d['labels'] - self.label_offset
        return dets


__all__ = ['Pyramid', 'BatchOnlyTransform', 'TorchvisionDetector']
