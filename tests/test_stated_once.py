"""Issue 13, "a config states each value once": the multi-task concat alignment and the face head's BN momentum
follow the backbone preset / contract; a contradicting explicit value is refused at build time naming both."""
import pytest

from hrvision.backbones.hrnet import tiny_extra
from hrvision.errors import ConfigError
from hrvision.registry import MODELS

HEADS = dict(seg=dict(type='SegmentationHead', num_classes=3))


def _multi(**kw):
    return MODELS.build(dict(type='MultiTaskModel', heads=HEADS, **kw))


@pytest.mark.parametrize('ac', [False, True])
def test_multitask_concat_alignment_follows_the_backbone(ac):
    m = _multi(backbone=dict(type='HRNet', extra=tiny_extra(4), upsample_mode='bilinear', align_corners=ac))
    assert m.concat.align_corners is ac
    assert _multi(backbone=dict(type='HRNet', extra=tiny_extra(4), preset='segmentation')).concat.align_corners is False
    # a nearest fuse states nothing: the old default, or what is given
    assert _multi(backbone=dict(type='HRNet', extra=tiny_extra(4))).concat.align_corners is False
    assert _multi(backbone=dict(type='HRNet', extra=tiny_extra(4)), concat_align_corners=True).concat.align_corners


def test_multitask_concat_alignment_contradiction_is_refused():
    with pytest.raises(ConfigError, match=r'concat_align_corners=True contradicts the backbone fuse align_corners '
                                          r'\(False\)'):
        _multi(backbone=dict(type='HRNet', extra=tiny_extra(4), preset='segmentation'), concat_align_corners=True)


def _face(backbone, **head):
    return MODELS.build(dict(type='FaceModel', backbone=dict(type='HRNet', extra=tiny_extra(4), **backbone),
                             head=dict(type='FaceHead', num_landmarks=3, **head)))


def _head_momenta(model):
    return {m.momentum for m in model.head.modules() if hasattr(m, 'running_mean')}


def test_face_head_momentum_follows_the_backbone_preset():
    assert _head_momenta(_face(dict(preset='face'))) == {0.01}
    assert _head_momenta(_face(dict(preset='face', norm_momentum=0.1))) == {0.1}   # explicit backbone value
    assert _head_momenta(_face(dict(preset='face'), momentum=0.01)) == {0.01}      # stated twice, agreeing


def test_face_head_momentum_contradiction_is_refused():
    with pytest.raises(ConfigError, match=r'head.momentum=0.1 contradicts the backbone norm_momentum \(0.01\)'):
        _face(dict(preset='face'), momentum=0.1)


def test_face_configs_state_the_momentum_once():
    from mmengine.config import Config

    from .conftest import REPO
    for name, want in (('hrnetv2_w18_wflw.py', 0.01), ('demo_synthetic_wflw.py', 0.1)):
        cfg = Config.fromfile(str(REPO / 'configs' / 'face' / name))
        assert 'momentum' not in cfg.model.head, name
        assert _head_momenta(MODELS.build(dict(cfg.model, backbone=dict(cfg.model.backbone, arch=None,
                                                                           extra=tiny_extra(4))))) == {want}
