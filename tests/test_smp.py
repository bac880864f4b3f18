"""hrvision HRNet as a segmentation-models-pytorch encoder: contract, every architecture, weights, save/load."""
import copy

import pytest
import torch

smp = pytest.importorskip('segmentation_models_pytorch')

import hrvision  # noqa: E402
from hrvision.backbones.hrnet import ALIASES, VARIANTS  # noqa: E402
from hrvision.errors import InputError  # noqa: E402
from hrvision.integrations import smp as hsmp  # noqa: E402

# smp architectures that take a custom encoder (DPT takes only timm ViT encoders: 'tu-' names).
ARCHS = ['Unet', 'UnetPlusPlus', 'FPN', 'PSPNet', 'DeepLabV3', 'DeepLabV3Plus', 'Linknet', 'PAN', 'MAnet',
         'UPerNet', 'Segformer']
SIZE = {'PAN': 128}  # PAN's pyramid attention pools the stride-32 map 8x further


def tiny_form(name: str) -> dict:
    """The variant's widths with one block and one module per stage (fast on a CPU)."""
    extra = copy.deepcopy(VARIANTS[name])
    for st in extra.values():
        st['NUM_MODULES'] = 1
        st['NUM_BLOCKS'] = [1] * len(st['NUM_BLOCKS'])
    return extra


@pytest.fixture(scope='module')
def tiny_names():
    names = []
    for n in VARIANTS:
        key = f'test_tiny_{n}'
        smp.encoders.encoders[key] = dict(encoder=hsmp.HRNetEncoder, pretrained_settings={},
                                          params=dict(extra=tiny_form(n)))
        names.append(key)
    yield names
    for key in names:
        smp.encoders.encoders.pop(key, None)


def test_every_variant_registered():
    for n in list(VARIANTS) + list(ALIASES):
        assert 'hrvision_' + n in smp.encoders.get_encoder_names()
    assert hsmp.register() == hsmp.encoder_names()


def test_import_hrvision_does_not_import_smp():
    import subprocess
    import sys
    code = 'import sys, hrvision; assert "segmentation_models_pytorch" not in sys.modules'
    subprocess.run([sys.executable, '-c', code], check=True)


def test_encoder_contract():
    enc = smp.encoders.get_encoder('hrvision_hrnet_w18_small_v1', depth=5)
    assert enc.out_channels == [3, 64, 16, 32, 64, 128] and enc.output_stride == 32
    x = torch.randn(1, 3, 64, 96)
    feats = enc(x)
    assert feats[0] is x
    assert [f.shape[1] for f in feats] == enc.out_channels
    assert [f.shape[-1] for f in feats] == [96 // s for s in (1, 2, 4, 8, 16, 32)]
    # the four branches are hrvision's backbone with the same weights
    net = hrvision.build_backbone('hrnet_w18_small_v1')
    hrvision.load_weights(net, enc.backbone.state_dict())
    net.eval(), enc.eval()
    for a, b in zip(enc(x)[2:], net(x)):
        torch.testing.assert_close(a, b)
    for depth in (3, 4):
        enc = smp.encoders.get_encoder('hrvision_hrnet_w18_small_v1', depth=depth)
        assert len(enc(x)) == depth + 1 and enc.out_channels == [3, 64, 16, 32, 64, 128][:depth + 1]
        assert enc.output_stride == 2 ** depth


@pytest.mark.parametrize('os_', [16, 8])
def test_make_dilated(os_):
    enc = smp.encoders.get_encoder('hrvision_hrnet_w18_small_v1', output_stride=os_)
    assert enc.output_stride == os_
    feats = enc(torch.randn(1, 3, 64, 64))
    assert [f.shape[-1] for f in feats] == [64 // min(s, os_) for s in (1, 2, 4, 8, 16, 32)]


def test_refusals():
    enc = smp.encoders.get_encoder('hrvision_hrnet_w18_small_v1')
    with pytest.raises(InputError, match='output_stride'):
        enc.make_dilated(4)
    with pytest.raises(InputError, match='depth'):
        smp.encoders.get_encoder('hrvision_hrnet_w18_small_v1', depth=6)
    with pytest.raises(KeyError, match='Wrong pretrained weights'):  # smp's own error: 'imagenet' or None
        smp.Unet('hrvision_hrnet_w18_small_v1', encoder_weights='ssl')


@pytest.mark.parametrize('in_ch', [1, 4])
def test_in_channels(in_ch):
    m = smp.Unet('hrvision_hrnet_w18_small_v1', encoder_weights=None, in_channels=in_ch, classes=2)
    assert m.encoder.out_channels[0] == in_ch
    assert m(torch.randn(2, in_ch, 64, 64)).shape == (2, 2, 64, 64)


@pytest.mark.parametrize('arch', ARCHS)
def test_every_arch_every_width(arch, tiny_names):
    """Build, forward, backward on CPU with each width's tiny form; output = input size."""
    s = SIZE.get(arch, 64)
    for name in tiny_names:
        m = getattr(smp, arch)(name, encoder_weights=None, classes=3)
        x = torch.randn(2, 3, s, s)
        y = m(x)
        assert y.shape == (2, 3, s, s), (arch, name)
        y.mean().backward()
        assert m.encoder.backbone.conv1.weight.grad is not None
    odd = (s - 1, s + 3)
    x = torch.randn(2, 3, *odd)
    if m.requires_divisible_input_shape:  # smp's own rule for this architecture
        with pytest.raises(RuntimeError, match='divisible'):
            m(x)
    else:
        assert m(x).shape[-2:] == odd


def _weights_in_formats(tmp_path):
    """One random HRNet-W18-small in the official, timm and mmpose layouts."""
    timm = pytest.importorskip('timm')
    tm = timm.create_model('hrnet_w18_small', pretrained=False)
    sd = tm.state_dict()
    official = tmp_path / 'official.pth'
    torch.save({k: v for k, v in sd.items() if not k.startswith(('incre', 'downsamp', 'final_layer', 'classifier'))},
               official)
    mmpose = {'backbone.' + k: v for k, v in sd.items()}
    mmpose['keypoint_head.final_layer.weight'] = torch.zeros(17, 16, 1, 1)
    ours = {'backbone.' + k: v for k, v in sd.items() if not k.startswith(('incre', 'downsamp', 'final_layer', 'class'))}
    ours['head.last_layer.3.weight'] = torch.zeros(19, 240, 1, 1)   # an hrvision segmentation checkpoint
    return sd, {'official': str(official), 'timm': sd, 'mmpose': mmpose, 'hrvision': ours}


FORMATS = {'official': 'official', 'timm': 'timm/official-cls', 'mmpose': 'mmpose', 'hrvision': 'hrvision'}


def test_load_weights_into_encoder(tmp_path):
    sd, sources = _weights_in_formats(tmp_path)
    net = hrvision.build_backbone('hrnet_w18_small_v1')
    hrvision.load_weights(net, sd)
    net.eval()
    x = torch.randn(1, 3, 64, 64)
    for fmt, src in sources.items():
        m = smp.FPN('hrvision_hrnet_w18_small_v1', encoder_weights=None, classes=2).eval()
        report = hrvision.load_weights(m.encoder, src)
        assert not report.missing_keys and report.format == FORMATS[fmt], (fmt, str(report))
        for a, b in zip(m.encoder(x)[2:], net(x)):
            torch.testing.assert_close(a, b)
    # a whole smp model refuses a backbone-only file (load into .encoder instead)
    with pytest.raises(ValueError, match='FPN model'):
        hrvision.load_weights(smp.FPN('hrvision_hrnet_w18_small_v1', encoder_weights=None), sources['official'])


def test_encoder_weights_imagenet_from_the_hub_cache(tmp_path):
    """smp's own download path (a fresh process: huggingface_hub reads the environment at import) puts timm's
    default ImageNet weights of the variant into the encoder through load_weights."""
    import json
    import os
    import subprocess
    import sys

    from tests.test_timm_conventions import DEFAULT_TAG, make_hub_cache
    timm = pytest.importorskip('timm')
    path = make_hub_cache(tmp_path, DEFAULT_TAG, timm.create_model('hrnet_w18_small', pretrained=False).state_dict())
    (path.parent / 'config.json').write_text(json.dumps({'architecture': 'hrnet_w18_small'}))
    code = (
        'import torch, timm, segmentation_models_pytorch as smp, hrvision.integrations.smp\n'
        'm = smp.Unet("hrvision_hrnet_w18_small", encoder_weights="imagenet", classes=2).eval()\n'
        f'ref = timm.create_model("hrnet_w18_small", pretrained=True, pretrained_cfg_overlay=dict(file=r"{path}"),\n'
        '                         features_only=True, feature_location="", out_indices=(1, 2, 3, 4)).eval()\n'
        'x = torch.randn(1, 3, 64, 64)\n'
        'print(max((a - b).abs().max().item() for a, b in zip(m.encoder(x)[2:], ref(x))))\n')
    env = dict(os.environ, HF_HUB_CACHE=str(tmp_path), HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1')
    r = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert float(r.stdout.split()[-1]) == 0.0


def test_smp_save_load_round_trip(tmp_path):
    m = smp.Unet('hrvision_hrnet_w18_small_v1', encoder_weights=None, classes=3).eval()
    m.save_pretrained(str(tmp_path / 'm'))
    back = smp.from_pretrained(str(tmp_path / 'm')).eval()
    assert isinstance(back.encoder, hsmp.HRNetEncoder)
    x = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(back(x), m(x))


# ------------------------------------------------------------------ hrvision's SMPSegmentationModel on the runner
@pytest.mark.slow
def test_smp_fpn_config_trains_and_evaluates_with_the_cityscapes_metric(tmp_path):
    """`hrvision train` (subprocess) on the shipped smp FPN config at test size: the loss falls and the
    Cityscapes metric (mIoU and boundary IoU) is well above chance (1/19) after 30 iterations."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from hrvision.tasks.segmentation import synth as seg_synth
    data = tmp_path / 'data'
    seg_synth.write_synthetic(str(data), n_train=8, n_val=4, size=(64, 128), seed=1)
    cfg = Path(__file__).parent / 'configs' / 'seg_smp_tiny.py'
    roots = [f'{k}.dataset.data_root={data}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    env = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1')
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'train', str(cfg), '--work-dir', str(tmp_path / 'wd'),
                        '--cfg-options', *roots], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    scalars = next((tmp_path / 'wd').glob('*/vis_data/scalars.json'))
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    losses = [row['loss'] for row in rows if 'loss' in row]
    scores = next(row for row in rows if 'seg/mIoU' in row)
    assert losses[-1] < 0.5 * losses[0], losses
    assert scores['seg/mIoU'] > 0.15 and scores['seg/mBIoU'] > 0.08, scores
    assert (tmp_path / 'wd' / 'iter_30.pth').is_file()


def test_smp_model_any_input_size_and_weights(tmp_path):
    from hrvision.registry import MODELS
    m = MODELS.build(dict(type='SMPSegmentationModel', decoder='Unet', arch='hrnet_w18_small_v1', num_classes=3,
                          decoder_cfg=dict(decoder_channels=(32, 16, 16, 8, 8)))).eval()
    assert m(torch.rand(1, 3, 50, 70) * 255).shape == (1, 3, 50, 70)  # padded to stride 32 inside, cropped back
    net = hrvision.build_backbone('hrnet_w18_small_v1')
    report = hrvision.load_weights(m.backbone.net.encoder, net.state_dict())
    assert not report.missing_keys
    # `pretrained` goes into the encoder when mmengine initialises the model (init_weights), as in every task model
    path = tmp_path / 'w.pth'
    torch.save(net.state_dict(), path)
    m2 = MODELS.build(dict(type='SMPSegmentationModel', decoder='FPN', arch='hrnet_w18_small_v1', num_classes=3,
                           pretrained=str(path)))
    m2.init_weights()
    torch.testing.assert_close(m2.backbone.net.encoder.backbone.conv1.weight, net.conv1.weight)
    with pytest.raises(InputError, match='decoder'):
        MODELS.build(dict(type='SMPSegmentationModel', decoder='DPT'))


def test_lovasz_config_builds_with_the_smp_loss():
    from mmengine.config import Config

    from hrvision.registry import MODELS
    cfg = Config.fromfile('configs/segmentation/hrnetv2_w48_cityscapes_512x1024_lovasz.py')
    assert cfg.model.head.aux_loss == dict(type='lovasz', weight=1.0)
    cfg.model.backbone.arch = 'hrnet_w18_small_v1'   # the same head on a small backbone, for speed
    cfg.model.neck.in_channels = [16, 32, 64, 128]
    cfg.model.head.in_channels = 240
    model = MODELS.build(cfg.model)
    labels = torch.randint(0, 19, (2, 64, 64))
    losses = model.head.loss(model.extract_feat(torch.randn(2, 3, 64, 64)), labels)
    assert set(losses) >= {'loss_ce', 'loss_lovasz'} and all(torch.isfinite(v) for v in losses.values())
