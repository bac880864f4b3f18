"""Detection heads on a feature pyramid with torchvision's FCOS / Faster R-CNN parts (anchors, matching, NMS, losses).

The head owns no backbone (detectron2's shape): the task model runs HRNet and the HRNetV2p neck once and hands
the head the pyramid (``OrderedDict`` level name -> tensor, stated by the neck's ``output_shape()``) together
with the batch's image sizes (torchvision's ``ImageList``). Images reach the model already resized by our
pipeline and normalised by ``HRVDataPreprocessor``; :class:`BatchOnlyTransform` only pads and batches them (what
torchvision's transform did inside its detector). Labels given to :class:`DetectionHead` are 0-based; the
Faster R-CNN background shift is handled here.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from functools import partial
from typing import Iterator, Mapping, Sequence

import torch
from torch import Tensor, nn
from torchvision.models.detection import FCOS, FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.fcos import FCOSClassificationHead, FCOSHead, FCOSRegressionHead
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops import MultiScaleRoIAlign

from hrvision.registry import MODELS, register_alias
from hrvision.shape import ShapeSpec, strides_of


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


class UnroundedAnchorGenerator(AnchorGenerator):
    """torchvision's anchors without rounding the base anchors to whole pixels (mmdetection's AnchorGenerator keeps
    ``size * sqrt(ratio)`` as it is: a 0.5-ratio anchor of size 32 is 45.25 x 22.63 there, 46 x 22 in torchvision)."""

    def generate_anchors(self, scales, aspect_ratios, dtype=torch.float32, device=torch.device('cpu')) -> Tensor:
        scales = torch.as_tensor(scales, dtype=dtype, device=device)
        ratios = torch.as_tensor(aspect_ratios, dtype=dtype, device=device)
        h = torch.sqrt(ratios)
        ws = (scales[None, :] / h[:, None]).reshape(-1)
        hs = (scales[None, :] * h[:, None]).reshape(-1)
        return torch.stack([-ws, -hs, ws, hs], dim=1) / 2


def _anchor_generator(sizes: Sequence[Sequence[int]], ratios: Sequence[float], n_levels: int,
                      round_anchors: bool = True) -> AnchorGenerator:
    if len(sizes) != n_levels:
        raise ValueError(f'anchor_sizes has {len(sizes)} tuples but the backbone returns {n_levels} pyramid '
                         'levels; torchvision needs one size tuple per level')
    cls = AnchorGenerator if round_anchors else UnroundedAnchorGenerator
    return cls(tuple(tuple(int(s) for s in t) for t in sizes), (tuple(ratios),) * n_levels)


class LevelRoIAlign(MultiScaleRoIAlign):
    """Multi-level RoIAlign with the half-pixel offset (``aligned=True``, ``sampling_ratio=0``: adaptive), as
    mmcv's RoIAlign in mmdetection's models. Level of a box: ``floor(log2(sqrt(area) / 56))`` clamped to the levels
    (mmdetection's ``finest_scale`` 56; torchvision's mapper gives the same levels); each level's scale is
    1 / its stride, stated by the pyramid."""

    def __init__(self, featmap_names: Sequence[str], strides: Sequence[int], output_size: int = 7,
                 sampling_ratio: int = 0, finest_scale: float = 56.0) -> None:
        super().__init__(featmap_names=list(featmap_names), output_size=output_size, sampling_ratio=sampling_ratio)
        self.level_scales = [1.0 / float(s) for s in strides]
        self.finest_scale = float(finest_scale)

    def forward(self, x: Mapping[str, Tensor], boxes: list[Tensor], image_shapes) -> Tensor:
        from torchvision.ops import roi_align
        feats = [x[name] for name in self.featmap_names]
        rois = torch.cat([torch.cat([torch.full_like(b[:, :1], i), b], dim=1) for i, b in enumerate(boxes)], 0)
        side = ((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2])).clamp(min=0).sqrt()
        levels = torch.floor(torch.log2(side / self.finest_scale + 1e-6)).clamp(0, len(feats) - 1).long()
        out = feats[0].new_zeros((len(rois), feats[0].shape[1], *self.output_size))
        for level, (feat, scale) in enumerate(zip(feats, self.level_scales)):
            idx = torch.where(levels == level)[0]
            out[idx] = roi_align(feat, rois[idx], self.output_size, scale, self.sampling_ratio,
                                 aligned=True).to(out.dtype)
        return out


class _Channels(nn.Module):
    """What torchvision's constructors ask of a backbone (an int ``out_channels``); never run."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_channels = channels


FCOS_SETTINGS = ('center_sampling_radius', 'score_thresh', 'nms_thresh', 'detections_per_img', 'topk_candidates')


def _check_targets(targets: Sequence[dict]) -> None:
    """What torchvision's detectors check before a loss: (N, 4) boxes with x2 > x1 and y2 > y1."""
    for i, t in enumerate(targets):
        boxes = t['boxes']
        if boxes.dim() != 2 or boxes.shape[-1] != 4:
            raise ValueError(f'target {i}: boxes must be (N, 4) xyxy, got shape {tuple(boxes.shape)}')
        bad = (boxes[:, 2:] <= boxes[:, :2]).any(dim=1)
        if bad.any():
            raise ValueError(f'target {i}: box {boxes[bad][0].tolist()} has no positive width and height '
                             '(x2 > x1 and y2 > y1 needed)')


@MODELS.register_module()
class DetectionHead(nn.Module):
    """FCOS or Faster R-CNN on a given feature pyramid: ``forward``/``loss``/``predict`` like the other heads.

    Args:
        in_shape: the pyramid the head reads, ``{level name: ShapeSpec}`` (the neck's ``output_shape()``; a module
            stating it, such as the neck itself, is taken too).
        num_classes: object classes (no background).
        kind: ``'fcos'`` or ``'faster_rcnn'``.
        anchor_sizes: one tuple per pyramid level (default: the level strides for FCOS, 8x stride
            for Faster R-CNN, as in the FCOS / FPN papers).
        head_convs / head_norm_groups: FCOS tower depth and GroupNorm groups (gcd with the channels).
        size_divisible: batch padding multiple the task model pads with (:class:`BatchOnlyTransform`); default
            the coarsest stride, because torchvision's AnchorGenerator derives each level's stride as
            ``image_size // feature_size``.
        roi_align: Faster R-CNN's RoI features and anchors as ``'torchvision'`` computes them (RoIAlign
            ``aligned=False``, 2 samples per bin, base anchors rounded to whole pixels) or as ``'mmdet'`` does
            (:class:`LevelRoIAlign`: ``aligned=True``, adaptive sampling; :class:`UnroundedAnchorGenerator`), for
            weights trained there (the mmdetection zoo entry sets it).
        **det_kwargs: torchvision's FCOS / FasterRCNN settings (score_thresh, nms_thresh, ...).

    The parts are torchvision's, under torchvision's names (FCOS: ``head``, ``anchor_generator``; Faster R-CNN:
    ``rpn``, ``roi_heads``), built by torchvision's own constructor (so its defaults hold); FCOS's loss and
    decoding are torchvision's ``FCOS.compute_loss`` / ``FCOS.postprocess_detections`` on these parts.
    """

    def __init__(self, in_shape: Mapping[str, ShapeSpec] | nn.Module, num_classes: int, kind: str = 'fcos',
                 anchor_sizes: Sequence[Sequence[int]] | None = None, aspect_ratios: Sequence[float] | None = None,
                 roi_levels: Sequence[str] | None = None, head_convs: int = 4, head_norm_groups: int = 32,
                 size_divisible: int | None = None, roi_align: str = 'torchvision', **det_kwargs) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        shape = dict(in_shape.output_shape() if hasattr(in_shape, 'output_shape') else in_shape)
        names, strides = list(shape), strides_of(shape)
        if len({s.channels for s in shape.values()}) != 1:
            raise ValueError(f'torchvision detectors need one channel count for all levels; the pyramid states '
                             f'{ {n: s.channels for n, s in shape.items()} }')
        channels = next(iter(shape.values())).channels
        self.in_shape = shape
        self.kind = kind
        self.num_classes = num_classes
        self.roi_align = roi_align
        self.size_divisible = int(size_divisible or max(strides))
        stub = _Channels(channels)   # torchvision's constructors want a backbone and min/max sizes; unused
        if kind == 'fcos':
            sizes = anchor_sizes or [(s,) for s in strides]
            anchors = _anchor_generator(sizes, aspect_ratios or (1.0,), len(names))
            det = FCOS(stub, num_classes, min_size=1, max_size=1, anchor_generator=anchors,
                       head=fcos_head(channels, num_classes, head_convs, head_norm_groups), **det_kwargs)
            self.head, self.anchor_generator, self.box_coder = det.head, det.anchor_generator, det.box_coder
            for key in FCOS_SETTINGS:
                setattr(self, key, getattr(det, key))
            self.label_offset = 0
        elif kind == 'faster_rcnn':
            if roi_align not in ('torchvision', 'mmdet'):
                raise ValueError(f"roi_align must be 'torchvision' or 'mmdet', got {roi_align!r}")
            sizes = anchor_sizes or [(8 * s,) for s in strides]
            anchors = _anchor_generator(sizes, aspect_ratios or (0.5, 1.0, 2.0), len(names),
                                        round_anchors=roi_align == 'torchvision')
            levels = list(roi_levels or names[:4])
            bad = [lv for lv in levels if lv not in names]
            if bad:
                raise ValueError(f'roi_levels {bad} are not backbone levels {names}')
            if roi_align == 'mmdet':
                roi_pool = LevelRoIAlign(levels, [shape[lv].stride for lv in levels])
            else:
                roi_pool = MultiScaleRoIAlign(featmap_names=levels, output_size=7, sampling_ratio=2)
            det = FasterRCNN(stub, num_classes + 1, min_size=1, max_size=1, rpn_anchor_generator=anchors,
                             box_roi_pool=roi_pool, **det_kwargs)
            self.rpn, self.roi_heads = det.rpn, det.roi_heads
            self.label_offset = 1  # torchvision reserves label 0 for background
        else:
            raise ValueError(f"detector kind must be 'fcos' or 'faster_rcnn', got {kind!r}")

    @property
    def levels(self) -> list[str]:
        """The pyramid level names the head reads, in order."""
        return list(self.in_shape)

    @property
    def strides(self) -> list[int]:
        return strides_of(self.in_shape)

    def _levels(self, feats: Mapping[str, Tensor]) -> list[Tensor]:
        if list(feats) != self.levels:
            raise ValueError(f'the detector head reads pyramid levels {self.levels}; it was given {list(feats)}')
        return list(feats.values())

    @contextmanager
    def _mode(self, training: bool) -> Iterator[None]:
        """Pick torchvision's loss or inference branch (RPN / RoI heads read ``self.training``) without
        touching the mode of anything else."""
        mods = [m for m in (getattr(self, 'rpn', None), getattr(self, 'roi_heads', None)) if m is not None]
        old = [m.training for m in mods]
        for m in mods:
            m.training = training
        try:
            yield
        finally:
            for m, t in zip(mods, old):
                m.training = t

    def forward(self, feats: Mapping[str, Tensor]) -> dict:
        """Raw outputs of the dense head: FCOS class logits, box regression and centerness; Faster R-CNN RPN
        objectness and box deltas per level."""
        levels = self._levels(feats)
        if self.kind == 'fcos':
            return self.head(levels)
        objectness, deltas = self.rpn.head(levels)
        return {'objectness': objectness, 'rpn_bbox_deltas': deltas}

    def _fcos_outputs(self, feats, images: ImageList):
        levels = self._levels(feats)
        outputs = self.head(levels)
        anchors = self.anchor_generator(images, levels)
        return outputs, anchors, [x.size(2) * x.size(3) for x in levels]

    def loss(self, feats: Mapping[str, Tensor], images: ImageList,
             targets: Sequence[dict[str, Tensor]]) -> dict[str, Tensor]:
        """``feats``: the pyramid of the padded batch ``images``; targets: 0-based ``labels``, xyxy ``boxes`` in
        the pixels of ``images.image_sizes``."""
        shifted = [{'boxes': t['boxes'].float(), 'labels': t['labels'].long() + self.label_offset} for t in targets]
        _check_targets(shifted)
        if self.kind == 'fcos':
            outputs, anchors, per_level = self._fcos_outputs(feats, images)
            losses = FCOS.compute_loss(self, shifted, outputs, anchors, per_level)
        else:
            with self._mode(True):
                proposals, proposal_losses = self.rpn(images, feats, shifted)
                _, losses = self.roi_heads(feats, proposals, images.image_sizes, shifted)
            losses = {**losses, **proposal_losses}
        # mmengine sums the entries whose name contains 'loss'; FCOS names them 'classification', ...
        return {k if k.startswith('loss') else f'loss_{k}': v for k, v in losses.items()}

    @torch.no_grad()
    def predict(self, feats: Mapping[str, Tensor], images: ImageList) -> list[dict[str, Tensor]]:
        """Boxes (xyxy, in the pixels of ``images.image_sizes``), 0-based labels and scores per image."""
        if self.kind == 'fcos':
            outputs, anchors, per_level = self._fcos_outputs(feats, images)
            split = {k: list(v.split(per_level, dim=1)) for k, v in outputs.items()}
            dets = FCOS.postprocess_detections(self, split, [list(a.split(per_level)) for a in anchors],
                                               images.image_sizes)
        else:
            with self._mode(False):
                proposals, _ = self.rpn(images, feats)
                dets, _ = self.roi_heads(feats, proposals, images.image_sizes)
        for d in dets:
            d['labels'] = d['labels'] - self.label_offset
        return dets


# Old names (one vocabulary per task, docs/ARCHITECTURE.md): configs and old checkpoints still build,
# with a warning once per name; the Python names stay importable.
register_alias(MODELS, 'TorchvisionDetector', DetectionHead)
TorchvisionDetector = DetectionHead

__all__ = ['BatchOnlyTransform', 'DetectionHead', 'ImageList', 'LevelRoIAlign', 'UnroundedAnchorGenerator']
