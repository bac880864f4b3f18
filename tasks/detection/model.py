"""``DetectionModel``: HRNet + HRNetV2p + a torchvision detector head as an mmengine ``BaseModel`` (:class:`~hrvision.engine.model.TaskModel`).

The pipeline resizes (keeping aspect) and the data preprocessor normalises and pads; the model crops each image
back to its valid ``img_shape`` and pads the batch again to the head's ``size_divisible`` (the coarsest pyramid
stride, :class:`~hrvision.heads.detection.BatchOnlyTransform`: what torchvision's transform did inside its
detector), runs backbone + neck once and gives the head the pyramid and the image sizes. Predictions are divided
by the stored ``scale_factor`` to return boxes in original-image coordinates.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from mmengine.logging import MMLogger

from hrvision.engine.model import TaskModel
from hrvision.engine.preprocessor import build_module
from hrvision.errors import ConfigError
from hrvision.registry import MODELS, register_alias
from hrvision.shape import channels_of, fill
from hrvision.structures import DataSample
from hrvision.weights import load_weights

from .bridge import DetectionBridge


@MODELS.register_module()
class DetectionModel(TaskModel):
    """Args: ``backbone`` (HRNet config; ``type`` defaults to HRNet), ``neck`` (HRNetV2p config; ``in_channels``
    from the backbone's output shape), ``detector`` (DetectionHead kwargs: ``kind``, ``num_classes``,
    ``anchor_sizes``, score/NMS thresholds ...; its levels come from the neck's ``output_shape()``),
    ``channels_last``, ``pretrained`` (backbone weights in any format :func:`hrvision.load_weights` reads).

    Checkpoint keys: ``backbone.*`` (HRNet), ``neck.*`` (HRNetV2p), ``head.*`` (torchvision's parts); checkpoints
    of the earlier layout (``head.detector.backbone.{body,neck}.*``) are renamed by :func:`hrvision.load_weights`.
    """

    def __init__(self, backbone: dict, neck: dict, detector: dict, data_preprocessor: dict | None = None,
                 channels_last: bool = False, pretrained: str | None = None, init_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = build_module(dict(dict(type='HRNet'), **backbone) if isinstance(backbone, dict) else backbone)
        neck = fill(dict(dict(type='HRNetV2p'), **neck) if isinstance(neck, dict) else neck, 'in_channels',
                    channels_of(self.backbone.output_shape()), 'neck', 'the backbone outputs')
        self.neck = build_module(neck)
        # torchvision's detection models load here, not when hrvision starts (hrvision.heads.LAZY)
        from hrvision.heads.detection import BatchOnlyTransform, DetectionHead
        self.head = DetectionHead(self.neck.output_shape(), **detector)
        self.batcher = BatchOnlyTransform(self.head.size_divisible)
        self.channels_last = channels_last
        self.pretrained = pretrained

    def init_weights(self) -> None:
        """mmengine's hook point: default init, then ImageNet (official / timm / mmpose ...) weights for the
        HRNet branches from ``pretrained`` when given."""
        super().init_weights()
        if self.pretrained:
            report = load_weights(self.backbone, self.pretrained)
            MMLogger.get_current_instance().info(f'backbone weights from {self.pretrained}: {report}')

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    def check_dataset_meta(self, meta: dict | None, source: str) -> None:
        """The head's class count against the dataset's ``classes`` (:class:`ConfigError` naming both)."""
        classes = (meta or {}).get('classes')
        if classes is not None and len(classes) != self.num_classes:
            raise ConfigError(f'model.detector.num_classes={self.num_classes} but the dataset ({source}) has '
                              f'{len(classes)} classes')

    def extract_feat(self, inputs: Tensor):
        """The pyramid (``OrderedDict`` level -> map, as the neck's ``output_shape()`` states) of a batch."""
        if self.channels_last:   # oneDNN/cuDNN prefer NHWC
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        return self.neck(self.backbone(inputs))

    def tensor_forward(self, inputs: Tensor) -> dict:
        """Raw outputs: the pyramid levels (``features``) and the dense head's outputs."""
        feats = self.extract_feat(inputs)
        return {'features': feats, **self.head(feats)}

    def _batch(self, inputs: Tensor, data_samples: Sequence[DataSample] | None, mode: str):
        """Each image cropped to its valid ``img_shape``, padded again to ``size_divisible``; its pyramid."""
        if data_samples is None:
            raise ValueError(f"DetectionModel mode {mode!r} needs data_samples (with img_shape / gt_instances)")
        images = self.batcher(DetectionBridge.valid_images(inputs, data_samples))[0]
        return self.extract_feat(images.tensors), images

    @property
    def detector(self) -> nn.Module:
        """The head under its config key (``model.detector``): a zoo file's recorded settings are checked by it."""
        return self.head

    def loss(self, inputs: Tensor, data_samples: Sequence[DataSample]) -> dict:
        feats, images = self._batch(inputs, data_samples, 'loss')
        return self.head.loss(feats, images, DetectionBridge.targets(data_samples, inputs.device))

    def predict(self, inputs: Tensor, data_samples: Sequence[DataSample] | None = None) -> list[DataSample]:
        feats, images = self._batch(inputs, data_samples, 'predict')
        return DetectionBridge.predict(self.head.predict(feats, images), data_samples)


# Old names (one vocabulary per task, docs/ARCHITECTURE.md): configs and old checkpoints still build,
# with a warning once per name; the Python names stay importable.
register_alias(MODELS, 'HRNetDetector', DetectionModel)
HRNetDetector = DetectionModel

__all__ = ['DetectionModel']
