"""Official HRNet-Facial-Landmark-Detection config (``MODEL.NAME: hrnet``) -> hrvision face model.

Face-family conventions (SPEC §1.2): bilinear fuse upsampling with ``align_corners=False``,
BatchNorm momentum 0.01, the HRNetV2 concat head named ``head`` (keys ``head.0..3``). The flip test follows
the YAML's ``TEST.FLIP_TEST`` (official default and every official experiment: false).
"""
from __future__ import annotations

from typing import Any, Mapping

from hrvision.backbones.hrnet import HRNet
from hrvision.necks import HRNetV2Concat
from hrvision.heads.face import FaceHead
from hrvision.registry import register_official

from .model import FaceModel


@register_official('hrnet', 'face_hrnet')
def model_from_official(cfg: Mapping[str, Any]) -> FaceModel:
    """Build the eval-ready face model of an official experiment config (weights not loaded).

    ``model(images)`` (normalised (N, 3, 256, 256)) returns the official heatmaps (N, K, 64, 64).
    """
    m = cfg.get('MODEL')
    if not isinstance(m, Mapping) or 'EXTRA' not in m:
        raise KeyError('official face config needs MODEL.EXTRA (the STAGE2..4 structure)')
    extra = dict(m['EXTRA'])
    num_joints = int(m.get('NUM_JOINTS', 98))
    kernel = int(extra.get('FINAL_CONV_KERNEL', 1))
    image_size = tuple(m.get('IMAGE_SIZE', (256, 256)))
    heatmap_size = tuple(m.get('HEATMAP_SIZE', (64, 64)))
    sigma = float(m.get('SIGMA', 1.5))
    flip = (cfg.get('TEST') or {}).get('FLIP_TEST', False)   # lib/config/defaults.py: False
    backbone = HRNet(extra=extra, preset='face')   # bilinear, align_corners=False, BN momentum 0.01
    neck = HRNetV2Concat(backbone.out_channels, align_corners=False)
    head = FaceHead(sum(backbone.out_channels), num_joints, kernel=kernel, momentum=0.01)
    model = FaceModel(backbone=backbone, neck=neck, head=head,
                              codec=dict(type='FaceHeatmapCodec', input_size=image_size, heatmap_size=heatmap_size,
                                         sigma=sigma),
                              test_cfg=dict(flip_test=flip))
    return model.eval()
