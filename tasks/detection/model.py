"""``HRNetDetector``: HRNet + HRNetV2p + a torchvision detector as an mmengine ``BaseModel`` (:class:`~hrvision.engine.model.TaskModel`).

The pipeline resizes (keeping aspect) and the data preprocessor normalises and pads, so the
detector sees each image cropped to its valid ``img_shape``; predictions are divided by the
stored ``scale_factor`` to return boxes in original-image coordinates.
"""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from mmengine.logging import MMLogger

from hrvision.engine.model import TaskModel
from hrvision.engine.preprocessor import build_module
from hrvision.heads.detection import Pyramid, TorchvisionDetector
from hrvision.registry import MODELS
from hrvision.shape import channels_of, fill
from hrvision.structures import DataSample
from hrvision.weights import load_weights

from .bridge import DetBridge


@MODELS.register_module()
class HRNetDetector(TaskModel):
    """Args: ``backbone`` (HRNet config; ``type`` defaults to HRNet), ``neck`` (HRNetV2p config; ``in_channels``
    from the backbone's output shape), ``detector`` (TorchvisionDetector
    kwargs: ``kind``, ``num_classes``, ``anchor_sizes``, score/NMS thresholds ...), ``channels_last``,
    ``pretrained`` (backbone weights in any format :func:`hrvision.load_weights` reads)."""

    def __init__(self, backbone: dict, neck: dict, detector: dict, data_preprocessor: dict | None = None,
                 channels_last: bool = False, pretrained: str | None = None, init_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        body = build_module(dict(dict(type='HRNet'), **backbone) if isinstance(backbone, dict) else backbone)
        neck = fill(dict(dict(type='HRNetV2p'), **neck) if isinstance(neck, dict) else neck, 'in_channels',
                    channels_of(body.output_shape()), 'neck', 'the backbone outputs')
        # torchvision runs its `backbone` on the batch it pads, so the pyramid holds both parts: their weights
        # stay at head.detector.backbone.{body,neck} (the layout of every hrvision detection checkpoint)
        self.head = TorchvisionDetector(Pyramid(build_module(neck), body, channels_last=channels_last), **detector)
        self.pretrained = pretrained

    def init_weights(self) -> None:
        """mmengine's hook point: default init, then ImageNet (official / timm / mmpose ...) weights for the
        HRNet branches from ``pretrained`` when given."""
        super().init_weights()
        if self.pretrained:
            report = load_weights(self.backbone, self.pretrained)
            MMLogger.get_current_instance().info(f'backbone weights from {self.pretrained}: {report}')

    @property
    def backbone(self) -> nn.Module:
        """The HRNet (inside the detector's pyramid)."""
        return self.head.detector.backbone.body

    @property
    def neck(self) -> nn.Module:
        """The HRNetV2p (inside the detector's pyramid)."""
        return self.head.detector.backbone.neck

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    def tensor_forward(self, inputs: Tensor):
        return self.head(inputs)

    @staticmethod
    def _images(inputs: Tensor, data_samples: Sequence[DataSample] | None, mode: str) -> list[Tensor]:
        if data_samples is None:
            raise ValueError(f"HRNetDetector mode {mode!r} needs data_samples (with img_shape / gt_instances)")
        return DetBridge.valid_images(inputs, data_samples)

    def loss(self, inputs: Tensor, data_samples: Sequence[DataSample]) -> dict:
        images = self._images(inputs, data_samples, 'loss')
        targets = DetBridge.targets(data_samples, inputs.device)
        return self.head.loss(images, targets)

    def predict(self, inputs: Tensor, data_samples: Sequence[DataSample] | None = None) -> list[DataSample]:
        dets = self.head.predict(self._images(inputs, data_samples, 'predict'))
        return DetBridge.predict(dets, data_samples)

__all__ = ['HRNetDetector']
