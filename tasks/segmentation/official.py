"""Official HRNet-Semantic-Segmentation config -> :class:`SegmentationModel` (seg_hrnet family).

Conventions of that code: bilinear fuse upsampling with ``MODEL.ALIGN_CORNERS`` (config
default True; the Cityscapes yamls set False), BN momentum 0.1 (HRNet-OCR branch), head keys
``last_layer.*`` (-> ``head.last_layer.*``). ``model(images)`` returns the stride-4 logits.
"""
from __future__ import annotations

from hrvision.backbones.hrnet import HRNet
from hrvision.errors import ConfigError
from hrvision.heads.ocr import OCRHead
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


@register_official('seg_hrnet_ocr')
def ocr_model_from_official(cfg: dict, bn_momentum: float = 0.1) -> SegmentationModel:
    """HRNet + OCR (``seg_hrnet_ocr``, SPEC §10): the seg backbone and concat, then :class:`OCRHead` from ``MODEL.OCR``
    (official defaults 512 / 256 / 0.05 / 1) and ``LOSS`` (``BALANCE_WEIGHTS`` [0.4, 1], ``USE_OHEM`` with
    ``OHEMTHRES`` / ``OHEMKEEP``). ``model(images)`` returns the OCR output (the official ``out``, index -1)."""
    model_cfg = cfg['MODEL']
    align = bool(model_cfg.get('ALIGN_CORNERS', True))
    num_classes = int(cfg.get('DATASET', {}).get('NUM_CLASSES', 19))
    ocr = dict(model_cfg.get('OCR') or {})
    loss = dict(cfg.get('LOSS') or {})
    weights = loss.get('BALANCE_WEIGHTS', [0.4, 1])
    if not (isinstance(weights, (list, tuple)) and len(weights) == 2):
        raise ConfigError(f'LOSS.BALANCE_WEIGHTS of a seg_hrnet_ocr config must be [aux, ocr] (two numbers), '
                          f'got {weights!r}')
    backbone = HRNet(extra=model_cfg['EXTRA'], preset='segmentation', align_corners=align, norm_momentum=bn_momentum)
    neck = HRNetV2Concat(backbone.out_channels, mode='bilinear', align_corners=align)
    head = OCRHead(neck.out_channels, num_classes, mid_channels=int(ocr.get('MID_CHANNELS', 512)),
                   key_channels=int(ocr.get('KEY_CHANNELS', 256)), dropout=float(ocr.get('DROPOUT', 0.05)),
                   scale=float(ocr.get('SCALE', 1)), momentum=bn_momentum, align_corners=align,
                   loss='ohem' if loss.get('USE_OHEM') else 'ce', loss_weights=[float(w) for w in weights],
                   ohem_thresh=float(loss.get('OHEMTHRES', 0.9)), ohem_min_kept=int(loss.get('OHEMKEEP', 100000)),
                   class_weight=CLASS_WEIGHTS if num_classes == 19 else None)
    return SegmentationModel(backbone, neck, head)
