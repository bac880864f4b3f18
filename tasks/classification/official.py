"""Official HRNet-Image-Classification config -> :class:`ClassificationModel` (cls_hrnet family).

Nearest fuse upsampling, BN momentum 0.1. The official head widths are hard-coded
((32, 64, 128, 256), 2048, 1000 classes); an optional ``HEAD`` section (HEAD_CHANNELS,
FINAL_CHANNELS, NUM_CLASSES) overrides them, as the reference's tiny model does.
"""
from __future__ import annotations

from hrvision.backbones.hrnet import HRNet
from hrvision.heads.classification import ClassificationHead
from hrvision.registry import register_official

from .model import ClassificationModel


@register_official('cls_hrnet')
def model_from_official(cfg: dict) -> ClassificationModel:
    head_cfg = cfg.get('HEAD', {})
    backbone = HRNet(extra=cfg['MODEL']['EXTRA'], preset='classification')
    head = ClassificationHead(backbone.out_channels, head_cfg.get('HEAD_CHANNELS', (32, 64, 128, 256)),
                              head_cfg.get('FINAL_CHANNELS', 2048), head_cfg.get('NUM_CLASSES', 1000))
    return ClassificationModel(backbone, head)
