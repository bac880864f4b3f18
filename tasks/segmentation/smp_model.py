"""A segmentation-models-pytorch decoder (FPN, Unet, UPerNet, ...) on hrvision's HRNet, on the common runner.

The smp model (encoder ``hrvision_<arch>``, see :mod:`hrvision.integrations.smp`) is the model's
``backbone``; its full-resolution logits go through :class:`SegmentationModel`'s loss (CE / OHEM /
smp Lovasz-Dice auxiliaries, via the HRNetV2 head's loss code) and official test-time inference
(multi-scale, flip, sliding window). Inputs of any size: the smp model is fed a copy padded to its
output stride and the logits are cropped back.
"""
from __future__ import annotations

import torch.nn.functional as F
from mmengine.logging import MMLogger
from torch import Tensor, nn

from hrvision.checks import check_choice
from hrvision.engine.model import TaskModel
from hrvision.heads.segmentation import SegmentationHead
from hrvision.registry import MODELS
from hrvision.weights import load_weights

from .model import SegmentationModel

DECODERS = ('Unet', 'UnetPlusPlus', 'FPN', 'PSPNet', 'DeepLabV3', 'DeepLabV3Plus', 'Linknet', 'PAN', 'MAnet',
            'UPerNet', 'Segformer')


class LogitsLoss(SegmentationHead):
    """The HRNetV2 head's losses on logits the smp model already made (no layers of its own)."""

    def __init__(self, **loss_cfg) -> None:
        super().__init__(in_channels=1, **loss_cfg)
        del self.last_layer

    def forward(self, x: Tensor) -> Tensor:
        return x


class PadToStride(nn.Module):
    """Runs an smp model on inputs of any size (pad to its output stride, crop the logits)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        s = self.net.encoder.output_stride if self.net.requires_divisible_input_shape else 1
        h, w = x.shape[-2:]
        ph, pw = -h % s, -w % s
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        return self.net(x)[..., :h, :w]


@MODELS.register_module()
class SMPSegmentationModel(SegmentationModel):
    """Args:
        decoder: smp architecture name (one of :data:`DECODERS`).
        arch: HRNet variant (``hrnet_w18``, ...), used as smp encoder ``hrvision_<arch>``.
        num_classes: output classes.
        decoder_cfg: extra keyword arguments of the smp architecture (``decoder_channels``, ...).
        loss_cfg: :class:`~hrvision.heads.segmentation.SegmentationHead` loss options (``loss``,
            ``class_weight``, ``aux_loss``, ``align_corners``, ...).
        pretrained: backbone weights in any supported format, loaded into the encoder.
    """

    def __init__(self, decoder: str = 'FPN', arch: str = 'hrnet_w18', num_classes: int = 19,
                 decoder_cfg: dict | None = None, loss_cfg: dict | None = None, data_preprocessor=None,
                 test_cfg: dict | None = None, pretrained: str | None = None, init_cfg=None) -> None:
        import segmentation_models_pytorch as smp

        from hrvision.integrations.smp import PREFIX, register
        check_choice('SMPSegmentationModel decoder', decoder, DECODERS)
        register()
        net = getattr(smp, decoder)(PREFIX + arch, encoder_weights=None, classes=num_classes, **(decoder_cfg or {}))
        head = LogitsLoss(num_classes=num_classes, **(loss_cfg or {}))
        # SegmentationModel's loss / inference / predict, with the smp model in place of backbone + neck + head
        # layers (its constructor derives neck and head configs from an HRNet backbone: not this case)
        TaskModel.__init__(self, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone, self.neck, self.head = PadToStride(net), nn.Identity(), head
        self.test_cfg = dict(scales=[1.0], flip=False, base_size=None, crop_size=None, stride=None)
        self.test_cfg.update(test_cfg or {})
        self.pretrained = pretrained

    def init_weights(self) -> None:
        """mmengine's hook point (as every task model): default init, then ``pretrained`` into the encoder."""
        TaskModel.init_weights(self)
        if self.pretrained:
            report = load_weights(self.backbone.net.encoder, self.pretrained)
            MMLogger.get_current_instance().info(f'encoder weights: {report}')
