"""Official HRNet-Semantic-Segmentation config -> :class:`SegmentationModel` (seg_hrnet family).

Conventions of that code: bilinear fuse upsampling with ``MODEL.ALIGN_CORNERS`` (config
default True; the Cityscapes yamls set False), BN momentum 0.1 (HRNet-OCR branch), head keys
``last_layer.*`` (-> ``head.last_layer.*``). ``model(images)`` returns the stride-4 logits.
"""
from __future__ import annotations

from hrvision.backbones.hrnet import HRNet
from hrvision.heads.segmentation import SegmentationHead
from hrvision.necks.hrnetv2 import HRNetV2Concat
from hrvision.registry import register_official

from .labels import CLASS_WEIGHTS
from .model import SegmentationModel


@register_official('seg_hrnet')
def model_from_official(cfg: dict, bn_momentum: float = 0.1) -> SegmentationModel:
    model_cfg = cfg['MODEL']
    extra = model_cfg['EXTRA']
    align = bool(model_cfg.get('ALIGN_CORNERS', True))
    num_classes = int(cfg.get('DATASET', {}).get('NUM_CLASSES', 19))
    # preset 'segmentation' (bilinear fuse); the yaml's ALIGN_CORNERS and the branch's BN momentum override it
    backbone = HRNet(extra=extra, preset='segmentation', align_corners=align, norm_momentum=bn_momentum)
    neck = HRNetV2Concat(backbone.out_channels, mode='bilinear', align_corners=align)
    head = SegmentationHead(neck.out_channels, num_classes, kernel=int(extra.get('FINAL_CONV_KERNEL', 1)),
                            momentum=bn_momentum, align_corners=align,
                            class_weight=CLASS_WEIGHTS if num_classes == 19 else None)
    return SegmentationModel(backbone, neck, head)
