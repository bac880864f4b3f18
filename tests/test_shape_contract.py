"""The shape contract (issue 13): backbones and necks state their outputs one way; parts fill from it."""
import pytest
import torch

import hrvision
from hrvision.backbones.hrnet import FUSE_PRESETS, tiny_extra
from hrvision.errors import ConfigError
from hrvision.necks import HRNetV2Concat, HRNetV2p
from hrvision.registry import MODELS
from hrvision.shape import ShapeSpec

TINY = tiny_extra(4)


def test_hrnet_output_shape_and_derived_properties():
    m = hrvision.HRNet(extra=TINY, out_indices=(1, 3)).eval()
    assert m.output_shape() == {'stage2': ShapeSpec(8, 8), 'stage4': ShapeSpec(32, 32)}
    assert m.out_channels == [8, 32] and m.strides == [8, 32]
    assert m.feature_info.channels() == [8, 32] and m.feature_info.reduction() == [8, 32]
    outs = m(torch.zeros(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == m.out_channels and [64 // o.shape[-1] for o in outs] == m.strides
    pose = hrvision.HRNet(extra=TINY, multi_scale_output=False, out_indices=(0,))
    assert list(pose.output_shape()) == ['stage1'] and len(pose.feature_info) == 1


def test_feature_info_matches_timm_branches():
    """Our branch i is timm's features_only index i + 1 with feature_location='' (timm's index 0 is the stem)."""
    timm = pytest.importorskip('timm')
    t = timm.create_model('hrnet_w18_small', features_only=True, pretrained=False, feature_location='',
                          out_indices=(1, 2, 3, 4))
    ours = hrvision.HRNet(arch='hrnet_w18_small', out_indices=(0, 1, 2, 3))
    keys = ('num_chs', 'reduction', 'module')
    assert ours.feature_info.get_dicts(keys) == t.feature_info.get_dicts(keys)


def test_necks_state_their_outputs():
    concat = HRNetV2Concat([4, 8, 16, 32])
    assert concat.output_shape() == {'concat': ShapeSpec(60, 4)} and concat.out_channels == 60
    p = HRNetV2p([4, 8, 16, 32], out_channels=16, num_outs=3, stride=2)
    assert p.output_shape() == {'p3': ShapeSpec(16, 8), 'p4': ShapeSpec(16, 16), 'p5': ShapeSpec(16, 32)}
    assert (p.out_channels, p.names, p.strides) == (16, ['p3', 'p4', 'p5'], [8, 16, 32])


def seg_cfg(**head):
    return dict(type='SegmentationModel', backbone=dict(type='HRNet', extra=TINY, preset='segmentation'),
                neck=dict(type='HRNetV2Concat'), head=dict(type='SegmentationHead', num_classes=3, **head))


def test_task_model_fills_inputs_from_the_contract():
    m = MODELS.build(seg_cfg()).eval()
    assert m.neck.in_channels == [4, 8, 16, 32] and m.neck.align_corners is False
    assert m.head.last_layer[0].in_channels == 60 and m.head.align_corners is False
    assert m(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 8, 8)


@pytest.mark.parametrize('head,words', [(dict(in_channels=48), ['head.in_channels=48', '60']),
                                        (dict(align_corners=True), ['head.align_corners=True', 'False'])])
def test_contradiction_is_a_build_error_naming_both(head, words):
    with pytest.raises(ConfigError) as e:
        MODELS.build(seg_cfg(**head))
    assert all(w in str(e.value) for w in words), str(e.value)


def test_presets_and_precedence():
    face = hrvision.HRNet(extra=TINY, preset='face')
    assert (face.upsample_mode, face.align_corners, face.bn1.momentum) == ('bilinear', False, 0.01)
    assert hrvision.HRNet(extra=TINY, preset='face', norm_momentum=0.1).bn1.momentum == 0.1   # explicit wins
    plain = hrvision.HRNet(extra=TINY)
    assert (plain.upsample_mode, plain.align_corners, plain.bn1.momentum) == ('nearest', None, 0.1)
    assert set(FUSE_PRESETS) == {'pose', 'segmentation', 'face', 'classification', 'timm'}
    with pytest.raises(KeyError, match="unknown HRNet preset 'segmentaton'.*did you mean 'segmentation'"):
        hrvision.HRNet(extra=TINY, preset='segmentaton')


def test_detection_uses_the_shared_parts_and_one_pyramid_wrapper():
    """DetectionModel builds HRNet + HRNetV2p from its config like every task and owns them (the head owns no
    backbone: it is built from the neck's output shape); checkpoint keys are backbone.* / neck.* / head.*; the
    multi-task detector's neck is the model's too (necks.<name>)."""
    import hrvision.tasks.detection  # noqa: F401  (registration)
    import hrvision.tasks.multitask  # noqa: F401
    from hrvision.necks import HRNetV2p
    det = MODELS.build(dict(type='DetectionModel', backbone=dict(extra=TINY), neck=dict(out_channels=8, num_outs=3),
                            detector=dict(kind='fcos', num_classes=2)))
    assert isinstance(det.backbone, hrvision.HRNet) and isinstance(det.neck, HRNetV2p)
    assert det.neck.output_shape() == {'p2': ShapeSpec(8, 4), 'p3': ShapeSpec(8, 8), 'p4': ShapeSpec(8, 16)}
    assert det.head.in_shape == det.neck.output_shape() and not any(
        isinstance(m, (hrvision.HRNet, HRNetV2p)) for m in det.head.modules())
    assert {k.split('.')[0] for k in det.state_dict()} == {'backbone', 'neck', 'head'}
    mt = MODELS.build(dict(type='MultiTaskModel', backbone=dict(type='HRNet', extra=TINY),
                           heads=dict(det=dict(type='DetectionHead', num_classes=2,
                                               neck=dict(out_channels=8, num_outs=3)))))
    assert isinstance(mt.necks['det'], HRNetV2p) and mt.heads['det'].levels == ['p2', 'p3', 'p4']
    assert not any(isinstance(m, HRNetV2p) for m in mt.heads['det'].modules())
    with pytest.raises(ConfigError, match=r'neck.in_channels=\[1, 2, 3, 4\] contradicts'):
        MODELS.build(dict(type='DetectionModel', backbone=dict(extra=TINY), neck=dict(in_channels=[1, 2, 3, 4]),
                          detector=dict(kind='fcos', num_classes=2)))
