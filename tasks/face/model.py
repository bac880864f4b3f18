"""Face alignment model on the runner: HRNet -> HRNetV2 concat -> landmark head -> face codec.

``forward(inputs, data_samples, mode)``:
* ``'tensor'``: the raw heatmaps (N, K, 64, 64), what the official model returns;
* ``'loss'``: ``{'loss_heatmap'}``, the official MSE against the codec targets packed per sample;
* ``'predict'``: data samples with ``pred_keypoints`` (K, 2) in original-image pixels (the official
  ``decode_preds``: integers, SPEC §3.2) and ``keypoint_scores`` (K,) = heatmap maxima.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor, nn

from hrvision.codecs import build_codec
from hrvision.engine.model import TaskModel
from hrvision.engine.preprocessor import build_module
from hrvision.registry import MODELS
from hrvision.shape import fill, fill_concat_neck, neck_channels, norm_momentum
from hrvision.weights import load_weights

from .bridge import FaceBridge


@MODELS.register_module()
class FaceLandmarkModel(TaskModel):
    """Top-down face landmark model.

    Args:
        backbone: HRNet config or module (face family: ``upsample_mode='bilinear'``,
            ``align_corners=False``, ``norm_momentum=0.01``).
        neck: HRNetV2 concat config or module.
        head: :class:`~hrvision.heads.landmark.LandmarkHead` config or module; ``in_channels``
            comes from the neck's output shape (the neck's ``in_channels`` / ``align_corners`` from the backbone's),
            ``momentum`` from the backbone's BatchNorm momentum (its preset; a contradicting value is refused).
        codec: codec config or object (default :class:`~hrvision.codecs.FaceHeatmapCodec`: input 256,
            heatmap 64, sigma 1.5).
        data_preprocessor: usually ``dict(type='HRVDataPreprocessor')`` (ImageNet mean/std).
        pretrained: ImageNet weights for the backbone (official: ``hrnetv2_w18_imagenet_pretrained.pth``;
            official / timm / hrvision layouts load through :func:`hrvision.load_weights`).
    """

    def __init__(self, backbone: dict | nn.Module, head: dict | nn.Module,
                 neck: dict | nn.Module | None = None, codec: dict | None = None,
                 data_preprocessor: dict | nn.Module | None = None, pretrained: str | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = build_module(backbone)
        if neck is None:
            neck = dict(type='HRNetV2Concat')
        self.neck = build_module(fill_concat_neck(self.backbone, neck))
        head = fill(head, 'in_channels', neck_channels(self.neck), 'head', 'the neck output')
        momentum = norm_momentum(self.backbone)
        if momentum is not None:   # the face preset's BatchNorm momentum, stated once (on the backbone)
            head = fill(head, 'momentum', momentum, 'head', 'the backbone norm_momentum')
        self.head = build_module(head)
        self.codec = build_codec(codec, default='FaceHeatmapCodec')
        self.bridge = FaceBridge(self.codec)
        self.pretrained = pretrained

    def init_weights(self) -> None:
        """mmengine's hook point: default init, then the backbone weights from ``pretrained`` when given."""
        super().init_weights()
        if self.pretrained:
            from mmengine.logging import MMLogger
            MMLogger.get_current_instance().info(f'backbone weights: {load_weights(self.backbone, self.pretrained)}')

    def extract_feat(self, inputs: Tensor) -> Tensor:
        return self.neck(self.backbone(inputs))

    def tensor_forward(self, inputs: Tensor) -> Tensor:
        return self.head(self.extract_feat(inputs))

    def loss(self, inputs: Tensor, data_samples: Sequence[Any]) -> dict:
        target = self.bridge.targets(data_samples, inputs.device)
        return self.head.loss(self.extract_feat(inputs), target)

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Sequence[Any] | None = None) -> list:
        if not data_samples:
            raise ValueError("mode='predict' needs data_samples with center/scale metainfo")
        return self.bridge.predict(self.head(self.extract_feat(inputs)).float(), data_samples)
