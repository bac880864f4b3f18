"""Official deep-high-resolution-net config (``MODEL.NAME: pose_hrnet``) -> :class:`PoseModel`.

Pose-family conventions (SPEC §1.2): nearest fuse upsampling, BN momentum 0.1, the last stage-4
module fuses only the highest-resolution row (``multi_scale_output=False``), head ``final_layer``
(-> ``head.final_layer.*``). ``model(images)`` returns the official heatmaps (N, K, H/4, W/4).
The flip test follows the YAML's ``TEST.FLIP_TEST`` and ``TEST.SHIFT_HEATMAP``; where a YAML leaves them out,
both are on, as in every official experiment YAML (``lib/config/default.py`` has them off, and each
experiment turns them on; SPEC §3.1, §4.1).
"""
from __future__ import annotations

from typing import Any, Mapping

from hrvision.backbones.hrnet import HRNet
from hrvision.heads.pose import PoseHead
from hrvision.registry import register_official

from .model import PoseModel


@register_official('pose_hrnet')
def model_from_official(cfg: Mapping[str, Any]) -> PoseModel:
    m = cfg.get('MODEL')
    if not isinstance(m, Mapping) or 'EXTRA' not in m:
        raise KeyError('official pose config needs MODEL.EXTRA (the STAGE2..4 structure)')
    extra = dict(m['EXTRA'])
    image_size = tuple(int(v) for v in m.get('IMAGE_SIZE', (192, 256)))
    heatmap_size = tuple(int(v) for v in m.get('HEATMAP_SIZE', (image_size[0] // 4, image_size[1] // 4)))
    backbone = HRNet(extra=extra, multi_scale_output=False, out_indices=(0,), preset='pose')
    test = cfg.get('TEST') or {}
    head = PoseHead(backbone.out_channels[0], int(m.get('NUM_JOINTS', 17)),
                        kernel=int(extra.get('FINAL_CONV_KERNEL', 1)),
                        shift_heatmap=bool(test.get('SHIFT_HEATMAP', True)))
    codec = dict(type='PoseHeatmapCodec', input_size=image_size, heatmap_size=heatmap_size,
                 sigma=float(m.get('SIGMA', 2)))
    model = PoseModel(backbone=backbone, head=head, codec=codec,
                      test_cfg=dict(flip_test=bool(test.get('FLIP_TEST', True)))).eval()
    dataset = str((cfg.get('DATASET') or {}).get('DATASET', 'coco')).lower()
    presets = {('coco', 17): 'coco', ('mpii', 16): 'mpii'}   # the flip test's pairs: the dataset preset's metadata
    preset = presets.get((dataset, head.num_keypoints))
    if preset:
        from hrvision.data.metainfo import parse_metainfo
        model.dataset_meta = parse_metainfo(dict(from_file=f'_base_/datasets/{preset}.py'),
                                            f'official {preset.upper()} pose config')
    return model
