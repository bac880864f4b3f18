"""HRNetV2 semantic segmentation model on the common runner.

data preprocessor -> HRNet -> HRNetV2Concat -> SegmentationHead -> (loss | official test-time inference).

Test-time inference follows the official Cityscapes ``multi_scale_inference`` (SPEC §4.2):
for each scale the image is resized (long side ``base_size * s``); images larger than
``crop_size`` are processed by a sliding window with ``stride`` (official: stride = window,
windows at the border shifted back inside, overlaps averaged); logits are upsampled to the window,
flip-averaged, exponentiated, upsampled to the original size and summed over scales.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from torch import Tensor

from hrvision.checks import merge_known
from hrvision.errors import ConfigError
from hrvision.engine.model import TaskModel
from hrvision.engine.preprocessor import build_module as _build
from hrvision.registry import MODELS
from hrvision.shape import fill, fill_concat_neck, fuse_align_corners, neck_channels
from hrvision.structures import DataSample
from hrvision.weights import load_weights

from .bridge import SegmentationBridge


@MODELS.register_module()
class SegmentationModel(TaskModel):
    """Args:
        backbone / neck / head: module configs (or modules); the neck's ``in_channels`` / ``align_corners`` and the
            head's ``in_channels`` / ``align_corners`` come from the backbone's contract (a config value that
            contradicts it is an error).
        test_cfg: ``scales`` (list of floats, 1.0 = native size), ``flip`` (bool), ``base_size``
            (long side at scale 1; None = the image's own long side), ``crop_size`` / ``stride``
            ((H, W) sliding window; None = whole image).
        pretrained: weights for the backbone (ImageNet or any supported checkpoint format).
    """

    def __init__(self, backbone, neck, head, data_preprocessor=None, test_cfg: dict | None = None,
                 pretrained: str | None = None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = _build(backbone)
        self.neck = _build(fill_concat_neck(self.backbone, neck))
        head = fill(head, 'in_channels', neck_channels(self.neck), 'head', 'the neck output')
        ac = fuse_align_corners(self.backbone)
        self.head = _build(head if ac is None else fill(head, 'align_corners', ac, 'head',
                                                          'the backbone fuse align_corners'))
        self.test_cfg = merge_known('model.test_cfg', test_cfg, dict(scales=[1.0], flip=False, base_size=None,
                                                                     crop_size=None, stride=None))
        self.pretrained = pretrained

    def init_weights(self) -> None:
        """mmengine's hook point: default init, then the backbone weights from ``pretrained`` when given."""
        super().init_weights()
        if self.pretrained:
            report = load_weights(self.backbone, self.pretrained)
            MMLogger.get_current_instance().info(f'backbone weights: {report}')

    def check_dataset_meta(self, meta: dict, source: str) -> None:
        """The head's class count vs the dataset's ``classes`` (a 19-class head on 5 classes would train and score
        silently wrong)."""
        classes = (meta or {}).get('classes')
        n = getattr(self.head, 'num_classes', None)
        if classes is not None and n is not None and len(classes) != int(n):
            more = ', ...' if len(classes) > 4 else ''
            raise ConfigError(f'model.head.num_classes={n} but the dataset ({source}) has {len(classes)} classes '
                              f'(metainfo.classes: {", ".join(list(classes)[:4])}{more})')

    # ---- 'tensor' mode: what the official model returns --------------------------------------
    def extract_feat(self, inputs: Tensor) -> Tensor:
        """The HRNetV2 concat map (what the head reads)."""
        return self.neck(self.backbone(inputs))

    extract = extract_feat   # older name, still used by tests/test_smp.py

    def logits(self, inputs: Tensor) -> Tensor:
        """Stride-4 logits (N, C, H/4, W/4), the official model's output."""
        return self.head(self.extract_feat(inputs))

    tensor_forward = logits

    # ---- training -----------------------------------------------------------------------------
    def loss(self, inputs: Tensor, data_samples: Sequence[DataSample]) -> dict[str, Tensor]:
        labels = SegmentationBridge.targets(data_samples, inputs.shape[-2:])
        return self.head.loss(self.extract_feat(inputs), labels)

    # ---- inference ----------------------------------------------------------------------------
    def _window_probs(self, img: Tensor, flip: bool) -> Tensor:
        """exp of (flip-averaged) logits upsampled to the window size."""
        size = img.shape[-2:]
        pred = self.head.upsample(self.logits(img), size)
        if flip:
            pred = (pred + self.head.upsample(self.logits(img.flip(-1)), size).flip(-1)) * 0.5
        # float32 first: exp overflows fp16 above logit 11 (AMP / half test); in place: a C x H x W copy at full
        # size costs more than the exp (``.float()`` of a float32 map is the map itself)
        return pred.float().exp_()

    def _slide(self, img: Tensor, flip: bool) -> Tensor:
        crop = self.test_cfg.get('crop_size')
        h, w = img.shape[-2:]
        if not crop or (h <= crop[0] and w <= crop[1]):
            return self._window_probs(img, flip)
        ch, cw = crop
        sh, sw = self.test_cfg.get('stride') or crop
        rows = max(math.ceil((h - ch) / sh), 0) + 1
        cols = max(math.ceil((w - cw) / sw), 0) + 1
        out = img.new_zeros((img.shape[0], self.head.num_classes, h, w), dtype=torch.float32)   # the probs' dtype
        count = img.new_zeros((1, 1, h, w), dtype=torch.float32)
        for r in range(rows):
            for c in range(cols):
                y0 = min(r * sh, max(h - ch, 0))
                x0 = min(c * sw, max(w - cw, 0))
                y1, x1 = min(y0 + ch, h), min(x0 + cw, w)
                out[..., y0:y1, x0:x1] += self._window_probs(img[..., y0:y1, x0:x1], flip)
                count[..., y0:y1, x0:x1] += 1
        return out / count

    def inference(self, img: Tensor, out_size) -> Tensor:
        """Summed per-scale scores (N, C, *out_size) for images of one size (official protocol)."""
        cfg = self.test_cfg
        h, w = img.shape[-2:]
        base = cfg.get('base_size') or max(h, w)
        ac = self.head.align_corners
        total = None
        for s in cfg.get('scales') or [1.0]:
            long_side = int(base * s + 0.5)
            scale = long_side / max(h, w)
            size = (int(h * scale + 0.5), int(w * scale + 0.5))
            x = img if size == (h, w) else F.interpolate(img, size=size, mode='bilinear', align_corners=ac)
            probs = self._slide(x, cfg.get('flip', False))
            if tuple(probs.shape[-2:]) != tuple(out_size):
                probs = F.interpolate(probs, size=out_size, mode='bilinear', align_corners=ac)
            total = probs if total is None else total + probs
        return total

    def predict(self, inputs: Tensor, data_samples: Sequence[DataSample] | None = None) -> list[DataSample]:
        """Per image: crop the batch padding, run the official inference at label / original size."""
        if data_samples is None:
            data_samples = [DataSample(metainfo=dict(img_shape=tuple(inputs.shape[-2:]),
                                                     ori_shape=tuple(inputs.shape[-2:]))) for _ in inputs]
        out = []
        for img, sample in zip(inputs, data_samples):
            ih, iw = SegmentationBridge.valid_shape(sample)
            scores = self.inference(img[None, :, :ih, :iw], SegmentationBridge.output_size(sample))[0]
            SegmentationBridge.write(sample, scores)
            out.append(sample)
        return out
