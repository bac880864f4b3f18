"""The inference rewrite of the 1x1 conv after the HRNetV2 concat (``necks.ConcatConv``, ``fuse.split_concat_conv``,
``fuse.fuse_for_inference``): the same outputs as the model as trained, fewer multiply-adds, refusals."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

from hrvision.export import TensorForward, _flat
from hrvision.flops import count
from hrvision.fuse import fuse_for_inference
from hrvision.necks import ConcatConv, HRNetV2p, resize_concat
from hrvision.registry import MODELS
from tests.test_infer import ROOT, _overrides
from tests.test_necks_heads import _feats

CHANNELS = [4, 8, 16, 32]


@pytest.mark.parametrize('mode,align', [('bilinear', False), ('bilinear', True), ('nearest', None)])
@pytest.mark.parametrize('hw', [(24, 32), (25, 33)])
def test_concat_conv_equals_the_conv_after_the_concat(mode, align, hw):
    torch.manual_seed(0)
    conv = nn.Conv2d(sum(CHANNELS), 12, 1)
    feats = _feats(*hw, ch=CHANNELS)
    split = ConcatConv(conv, CHANNELS, mode, align)
    with torch.no_grad():
        ref = conv(resize_concat(feats, mode, align))
        out = split(feats)
        whole = split([resize_concat(feats, mode, align)])
    assert out.shape == ref.shape == (1, 12, *hw)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5 * float(ref.abs().max()))
    # a map concatenated already (the multi-task shared concat) gets the whole conv
    torch.testing.assert_close(whole, ref, rtol=0, atol=1e-5 * float(ref.abs().max()))
    # the branch convs run at the branch resolutions
    assert [c.in_channels for c in split.convs] == CHANNELS and split.convs[0].bias is not None
    assert all(c.bias is None for c in split.convs[1:])


def test_concat_conv_refuses_what_does_not_commute():
    with pytest.raises(ValueError, match='plain 1x1 conv'):
        ConcatConv(nn.Conv2d(60, 8, 3, padding=1), CHANNELS)
    with pytest.raises(ValueError, match='reads 60 channels'):
        ConcatConv(nn.Conv2d(60, 8, 1), [4, 8, 16])
    with pytest.raises(ValueError, match="'bilinear' or 'nearest'"):
        ConcatConv(nn.Conv2d(60, 8, 1), CHANNELS, 'bicubic')


def _model(task, tmp_path):
    init_default_scope('hrvision')
    base, opts = _overrides(task, tmp_path)
    cfg = Config.fromfile(str(ROOT / base))
    cfg.merge_from_dict(opts)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    for m in model.modules():   # BN statistics that are not the identity, so folding is exercised
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize('task', ['seg', 'face', 'det', 'multitask', 'pose'])
def test_fuse_for_inference_keeps_the_outputs(task, tmp_path):
    model = _model(task, tmp_path)
    fused = fuse_for_inference(copy.deepcopy(model))
    x = torch.randn(2, 3, 67, 83)   # odd sizes: every branch is resized
    with torch.no_grad():
        ref, got = _flat(TensorForward(model)(x)), _flat(TensorForward(fused)(x))
    assert len(ref) == len(got) > 0
    for a, b in zip(ref, got):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-5 * max(1.0, float(a.abs().max())))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    split = [m for m in fused.modules() if isinstance(m, ConcatConv)]
    if task in ('seg', 'face'):   # the rewrite happened; the concat conv does 1/8 of its work (widths C, 2C, 4C, 8C)
        assert isinstance(fused.neck, ConcatConv)
        conv = next(m for m in model.head.modules() if isinstance(m, nn.Conv2d))   # 15C -> 15C at 16x16
        layer = conv.in_channels * conv.out_channels * 16 * 16
        assert count(model, (64, 64)).macs - count(fused, (64, 64)).macs == layer - layer // 8
    elif task in ('det', 'multitask'):   # the HRNetV2p reduction conv of the detector
        assert split and all(isinstance(m.reduction_conv, ConcatConv) for m in fused.modules()
                             if isinstance(m, HRNetV2p))
    else:   # pose has no concat: left as it is
        assert not split
    if task == 'multitask':   # the seg head split too; every head reads the branches: no concat map computed
        assert isinstance(fused.heads['seg'].last_layer[0], ConcatConv)
        assert all(a.feature != 'concat' for a in fused.adapters.values())
        assert 'concat' not in fused.extract_feat(x)


def test_multitask_face_head_is_split_and_predicts_the_same(tmp_path):
    """A multi-task model with a face head next to a seg head: both split, the same seg logits and face heatmaps."""
    model = _model('multitask', tmp_path)
    cfg = Config.fromfile(str(ROOT / 'configs/multitask/demo_synthetic.py'))
    heads = dict(seg=cfg.model.heads.seg, face=dict(type='FaceHead', num_landmarks=5))
    torch.manual_seed(0)
    mt = MODELS.build(dict(type='MultiTaskModel', backbone=model.backbone, heads=heads)).eval()
    fused = fuse_for_inference(copy.deepcopy(mt))
    assert isinstance(fused.heads['face'].head[0], ConcatConv)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        ref, got = mt.tensor_forward(x), fused.tensor_forward(x)
    for k in ('seg', 'face'):
        torch.testing.assert_close(got[k], ref[k], rtol=0, atol=1e-5 * max(1.0, float(ref[k].abs().max())))
