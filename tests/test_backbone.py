"""HRNet backbone: variants, official/timm parity, any input size, options, bad input."""
import json

import pytest
import torch
from torch import nn

import hrvision
from hrvision.backbones.hrnet import VARIANTS, tiny_extra
from hrvision.registry import MODELS, OFFICIAL_FAMILIES

from .conftest import load_ref, ref_json, ref_path

TINY = dict(extra=tiny_extra(4))


def test_list_and_build_every_variant_on_meta():
    names = hrvision.list_backbones()
    assert names == sorted(['hrnet_w18_small_v1', 'hrnet_w18_small_v2', 'hrnet_w18', 'hrnet_w30', 'hrnet_w32',
                            'hrnet_w40', 'hrnet_w44', 'hrnet_w48', 'hrnet_w64'])
    for name in names:
        with torch.device('meta'):
            m = hrvision.build_backbone(name)
        c = VARIANTS[name]['STAGE4']['NUM_CHANNELS']
        assert m.out_channels == c and m.strides == [4, 8, 16, 32]


def test_registry_build_by_arch_and_by_name():
    with torch.device('meta'):
        a = MODELS.build(dict(type='HRNet', arch='hrnet_w32'))
        b = MODELS.build(dict(type='hrnet_w18_small_v2', out_indices=(0, 3)))
    assert a.out_channels == [32, 64, 128, 256]
    assert b.out_channels == [18, 144] and b.strides == [4, 32]


def test_unknown_name_lists_available():
    with pytest.raises(KeyError) as e:
        hrvision.build_backbone('hrnet_w99')
    assert 'hrnet_w18_small_v1' in str(e.value) and 'hrnet_w64' in str(e.value)


@pytest.mark.parametrize('x, msg', [(torch.zeros(3, 64, 64), '4-D'), (torch.zeros(1, 4, 64, 64), 'input channels')])
def test_bad_input_tensor(x, msg):
    m = hrvision.HRNet(**TINY).eval()
    with pytest.raises(ValueError, match=msg):
        m(x)


@pytest.mark.parametrize('name', ['hrnet_w18_small', 'hrnet_w18'])
def test_timm_parity(name):
    timm = pytest.importorskip('timm')
    torch.manual_seed(0)
    t = timm.create_model(name, features_only=True, feature_location='', out_indices=(1, 2, 3, 4)).eval()
    for mod in t.modules():  # random BN statistics so that the comparison is not trivially about zeros
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
    m = hrvision.build_backbone(name).eval()
    report = hrvision.load_weights(m, t.state_dict())
    assert report.missing_keys == [] and report.unexpected_keys == []
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for a, b in zip(t(x), m(x)):
            assert a.shape == b.shape
            # multiples of 32: exact-size upsampling equals timm's scale_factor path bit for bit
            torch.testing.assert_close(b, a, atol=0, rtol=0)


FAMILY_KW = {
    'pose': dict(multi_scale_output=False, out_indices=(0,)),
    'seg': dict(upsample_mode='bilinear', align_corners=False),
    'face': dict(upsample_mode='bilinear', align_corners=False, norm_momentum=0.01),
    'cls': dict(),
}


@pytest.mark.parametrize('family', ['pose', 'seg', 'face', 'cls'])
def test_tiny_official_stage4_outputs(family):
    cfg = json.loads(ref_path(f'{family}_tiny_config.json').read_text())
    io = load_ref(f'{family}_tiny_io.pt')
    m = hrvision.HRNet(extra=cfg['MODEL']['EXTRA'], **FAMILY_KW[family]).eval()
    report = hrvision.load_weights(m, load_ref(f'{family}_tiny_state.pt'))
    assert report.missing_keys == []
    assert all(not k.startswith(('conv', 'bn', 'layer1', 'transition', 'stage')) for k in report.unexpected_keys)
    with torch.no_grad():
        out = m(io['input'])
    assert len(out) == len(io['stage4_outputs'])
    for a, b in zip(out, io['stage4_outputs']):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


KEY_FILES = ['pose_w32_256x192_keys.json', 'pose_w48_384x288_keys.json', 'seg_cityscapes_w48_keys.json',
             'seg_cityscapes_w18_small_v1_keys.json', 'seg_cityscapes_w18_small_v2_keys.json',
             'face_wflw_w18_keys.json', 'cls_w18_keys.json', 'cls_w18_small_v1_keys.json',
             'cls_w18_small_v2_keys.json', 'cls_w32_keys.json', 'cls_w48_keys.json']


@pytest.mark.parametrize('key_file', KEY_FILES)
def test_full_size_official_keys_params_flops(key_file):
    """Every official key exists with its shape; parameters, GFLOPs and BN momenta equal the official figures."""
    ref = ref_json(key_file)
    model_from_official = OFFICIAL_FAMILIES.lookup(ref['model_config']['NAME'].lower())
    with torch.device('meta'):
        model = model_from_official({'MODEL': ref['model_config']})
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    mapped, unexpected = hrvision.weights.map_state_dict(
        {k: torch.empty(shape, device='meta') for k, shape, _ in ref['state_dict']}, model)
    assert unexpected == []
    assert len(mapped) == len(ref['state_dict']) == len(ours)
    assert sum(p.numel() for p in model.parameters()) == ref['num_parameters']
    momenta = {}
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            momenta[str(mod.momentum)] = momenta.get(str(mod.momentum), 0) + 1
    assert momenta == ref['batchnorm_count_by_momentum']
    for setting in ref['flops'].values():
        c = hrvision.count(model, tuple(setting['input'][2:]))
        assert c.params == setting['official_total_parameters']
        assert c.gflops == pytest.approx(setting['official_reported_GFLOPs'], rel=1e-9)
        assert c.macs == setting['conv_linear_macs']


@pytest.mark.parametrize('size', [(97, 131), (64, 64), (33, 190)])
@pytest.mark.parametrize('mode', ['nearest', 'bilinear'])
def test_any_input_size(size, mode):
    m = hrvision.HRNet(upsample_mode=mode, align_corners=False if mode == 'bilinear' else None, **TINY).eval()
    with torch.no_grad():
        out = m(torch.randn(1, 3, *size))
    h, w = size
    for o, s in zip(out, m.strides):
        expect = (h, w)
        for _ in range({4: 2, 8: 3, 16: 4, 32: 5}[s]):
            expect = (-(-expect[0] // 2), -(-expect[1] // 2))
        assert tuple(o.shape[-2:]) == expect


def test_channels_last_and_checkpointing_match():
    torch.manual_seed(0)
    m = hrvision.HRNet(**TINY)
    x = torch.randn(2, 3, 64, 96)
    m.eval()
    with torch.no_grad():
        ref = m(x)
        cl = m.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    for a, b in zip(ref, cl):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    m = m.to(memory_format=torch.contiguous_format).train()
    mcp = hrvision.HRNet(with_cp=True, **TINY).train()
    mcp.load_state_dict(m.state_dict())
    outs = [sum(o.sum() for o in net(x)) for net in (m, mcp)]
    for o in outs:
        o.backward()
    torch.testing.assert_close(outs[0], outs[1])
    torch.testing.assert_close(m.conv1.weight.grad, mcp.conv1.weight.grad, atol=1e-5, rtol=1e-4)


def test_frozen_stages_and_norm_eval():
    m = hrvision.HRNet(frozen_stages=2, norm_eval=True, **TINY).train()
    assert not any(p.requires_grad for p in m.stage2.parameters())
    assert not any(p.requires_grad for p in m.layer1.parameters())
    assert all(p.requires_grad for p in m.stage3.parameters())
    assert not m.stage2.training
    assert all(not b.training for b in m.modules() if isinstance(b, nn.BatchNorm2d))
    m2 = hrvision.HRNet(frozen_stages=0, **TINY).train()
    assert not m2.conv1.weight.requires_grad and m2.layer1[0].conv1.weight.requires_grad
    assert m2.stage4.training


def test_pose_single_scale_last_module_has_no_lower_fuse_rows():
    m = hrvision.HRNet(multi_scale_output=False, out_indices=(0,), **TINY)
    keys = m.state_dict().keys()
    assert not any(k.startswith('stage4.1.fuse_layers.1.') for k in keys)
    assert any(k.startswith('stage4.1.fuse_layers.0.') for k in keys)
    with pytest.raises(ValueError, match='out_indices'):
        hrvision.HRNet(multi_scale_output=False, out_indices=(0, 1), **TINY)


def test_fuse_conv_bn_keeps_outputs():
    from hrvision.fuse import fuse_conv_bn
    torch.manual_seed(0)
    m = hrvision.HRNet(**TINY)
    for b in m.modules():
        if isinstance(b, nn.BatchNorm2d):
            b.running_mean.uniform_(-0.2, 0.2)
            b.running_var.uniform_(0.5, 2.0)
            b.weight.data.uniform_(0.5, 1.5)
    m.eval()
    x = torch.randn(1, 3, 64, 80)
    with torch.no_grad():
        ref = m(x)
        fused = fuse_conv_bn(m)(x)
    assert not any(isinstance(b, nn.BatchNorm2d) for b in m.modules())
    for a, b in zip(ref, fused):
        torch.testing.assert_close(b, a, atol=1e-4, rtol=1e-4)
    with pytest.raises(RuntimeError, match='eval'):
        fuse_conv_bn(hrvision.HRNet(**TINY).train())


def test_tiny_official_cls_logits():
    """The whole classification model (backbone + head) built from the official config gives the official logits."""
    io = load_ref('cls_tiny_io.pt')
    cfg = json.loads(ref_path('cls_tiny_config.json').read_text())
    model = hrvision.from_official(cfg, load_ref('cls_tiny_state.pt'))
    assert model.load_report.missing_keys == [] and model.load_report.unexpected_keys == []
    with torch.no_grad():
        logits = model(io['input'])
    assert logits.shape == io['output'].shape == (2, 100)
    torch.testing.assert_close(logits, io['output'], rtol=1e-4, atol=1e-4 * io['output'].abs().max().item())
