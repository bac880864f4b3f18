"""OpenMMLab checkpoint layouts in ``load_weights``: mmseg (FCN and OCR decode heads), mmdet (HRFPN neck + Faster
R-CNN), mmpose 0.x (pose, and the face head with its extra conv).

The checkpoints in those layouts are made here from an hrvision model by a mapping written independently of
``hrvision.weight_formats`` (the tables below), whose names are checked against the key lists of the real files
(``tests/reference/zoo_keys``, made with the libraries' own model code by ``tests/make_zoo_keys.py``). Loading them
must give the model the same outputs as the hrvision-format weights: a wrong pairing, a missed class-order move or
a missed bias would change them. A conv bias that the OpenMMLab layer lacks (its BN follows) is folded into the BN's
running mean here, the exact equivalent, so the file differs from the hrvision one as a real one would.
"""
from __future__ import annotations

import copy
import gzip
import json
import re
from pathlib import Path

import pytest
import torch

import hrvision
from hrvision import zoo, zoo_download
from hrvision.weights import WeightsMismatchError, load_weights

REPO = Path(__file__).resolve().parents[1]
ZOO_KEYS = REPO / 'tests' / 'reference' / 'zoo_keys'
SMALL = {'model.backbone.arch': 'hrnet_w18_small_v1'}


# ------------------------------------------------------------------ hrvision -> OpenMMLab (the tests' own tables)

def _bn(ours: str, theirs: str) -> list[tuple[str, str]]:
    return [(ours + '.', theirs + '.')]


_OCB, _MM_OCB = 'head.ocr_distri_head.object_context_block.', 'decode_head.1.object_context_block.'
LAYOUTS = {
    'mmseg-fcn': dict(
        folds=[('head.last_layer.0', 'head.last_layer.1')],
        names=[('head.last_layer.0.', 'decode_head.convs.0.conv.'), ('head.last_layer.1.', 'decode_head.convs.0.bn.'),
               ('head.last_layer.3.', 'decode_head.conv_seg.')]),
    'mmseg-ocr': dict(
        folds=[('head.aux_head.0', 'head.aux_head.1'), ('head.conv3x3_ocr.0', 'head.conv3x3_ocr.1')],
        names=[('head.aux_head.0.', 'decode_head.0.convs.0.conv.'), ('head.aux_head.1.', 'decode_head.0.convs.0.bn.'),
               ('head.aux_head.3.', 'decode_head.0.conv_seg.'),
               ('head.conv3x3_ocr.0.', 'decode_head.1.bottleneck.conv.'),
               ('head.conv3x3_ocr.1.', 'decode_head.1.bottleneck.bn.'),
               *[(f'{_OCB}{ours}.{i}.', f'{_MM_OCB}{theirs}.{j}.')
                 for ours, theirs in (('f_pixel', 'query_project'), ('f_object', 'key_project'))
                 for i, j in (('0', '0.conv'), ('1.0', '0.bn'), ('2', '1.conv'), ('3.0', '1.bn'))],
               *[(f'{_OCB}{ours}.{i}.', f'{_MM_OCB}{theirs}.{j}.')
                 for ours, theirs in (('f_down', 'value_project'), ('f_up', 'out_project'))
                 for i, j in (('0', 'conv'), ('1.0', 'bn'))],
               ('head.ocr_distri_head.conv_bn_dropout.0.', f'{_MM_OCB}bottleneck.conv.'),
               ('head.ocr_distri_head.conv_bn_dropout.1.0.', f'{_MM_OCB}bottleneck.bn.'),
               ('head.cls_head.', 'decode_head.1.conv_seg.')]),
    'mmdet-faster-rcnn': dict(
        folds=[],
        names=[('neck.reduction_conv.', 'neck.reduction_conv.conv.'),
               *[(f'neck.fpn_convs.{i}.', f'neck.fpn_convs.{i}.conv.') for i in range(5)],
               ('head.rpn.head.conv.0.0.', 'rpn_head.rpn_conv.'), ('head.rpn.head.cls_logits.', 'rpn_head.rpn_cls.'),
               ('head.rpn.head.bbox_pred.', 'rpn_head.rpn_reg.'),
               ('head.roi_heads.box_head.fc6.', 'roi_head.bbox_head.shared_fcs.0.'),
               ('head.roi_heads.box_head.fc7.', 'roi_head.bbox_head.shared_fcs.1.'),
               ('head.roi_heads.box_predictor.cls_score.', 'roi_head.bbox_head.fc_cls.'),
               ('head.roi_heads.box_predictor.bbox_pred.', 'roi_head.bbox_head.fc_reg.')]),
    'mmpose0-face': dict(folds=[], names=[(f'head.head.{i}.', f'keypoint_head.final_layer.{i}.') for i in '013']),
    'mmpose0-pose': dict(folds=[], names=[('head.final_layer.', 'keypoint_head.final_layer.')]),
}


def to_openmmlab(sd: dict, layout: str) -> dict:
    """An hrvision state dict under the OpenMMLab names of ``layout`` (biases folded into the BN; mmdet: background
    class last, no box rows for it)."""
    spec = LAYOUTS[layout]
    sd = dict(sd)
    for conv, bn in spec['folds']:   # BN(Wx + b) == BN with running_mean - b over Wx
        sd[f'{bn}.running_mean'] = sd[f'{bn}.running_mean'] - sd.pop(f'{conv}.bias')
    if layout == 'mmdet-faster-rcnn':
        for s in ('weight', 'bias'):
            cls = sd[f'head.roi_heads.box_predictor.cls_score.{s}']
            sd[f'head.roi_heads.box_predictor.cls_score.{s}'] = torch.cat([cls[1:], cls[:1]])
            sd[f'head.roi_heads.box_predictor.bbox_pred.{s}'] = sd[f'head.roi_heads.box_predictor.bbox_pred.{s}'][4:]
    out = {}
    for k, v in sd.items():
        new = next((theirs + k[len(ours):] for ours, theirs in spec['names'] if k.startswith(ours)), k)
        out[new] = v
    return out


# ------------------------------------------------------------------ models

CASES = {   # layout: (config, extra options, input size, zoo alias of the full-size file)
    'mmseg-fcn': ('segmentation/hrnetv2_w48_cityscapes_512x1024.py', {}, 64, 'hrnetv2-w48-cityscapes'),
    'mmseg-ocr': ('segmentation/hrnetv2_w48_ocr_cityscapes_512x1024.py',
                  {'model.backbone.align_corners': False}, 64, 'hrnetv2-w48-ocr-cityscapes-mmseg'),
    'mmdet-faster-rcnn': ('detection/hrnetv2p_w32_faster_rcnn_coco.py', {}, 64, 'hrnetv2p-w32-faster-rcnn-coco'),
    'mmpose0-face': ('face/hrnetv2_w18_wflw.py', {}, 64, 'hrnetv2-w18-wflw'),
    'mmpose0-pose': ('pose/hrnet_w32_mpii_256x256.py', {}, 64, 'hrnet-w32-mpii-256x256'),
}
FORMAT = {'mmseg-fcn': ('mmseg', 'FCNHead'), 'mmseg-ocr': ('mmseg', 'OCRHead'),
          'mmdet-faster-rcnn': ('mmdet', 'Faster R-CNN'), 'mmpose0-face': ('mmpose', 'TopdownHeatmapSimpleHead'),
          'mmpose0-pose': ('mmpose', '')}


def build(config: str, options: dict, seed: int, size: int = 64):
    """A small model of the config (W18-Small-v1 widths) with every tensor random, and BN statistics measured on
    random images: features that vary over the image, so that the OCR head's soft object regions and its
    pixel-region attention are not uniform (uniform ones are blind to swapped query / key weights)."""
    model = hrvision.init_model(str(REPO / 'configs' / config), None, 'cpu', cfg_options={**SMALL, **options})
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
        bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None   # the plain average over the batches below
        model.train()
        for _ in range(2):
            model(torch.randn(2, 3, size, size, generator=g), mode='tensor')
        for m in bns:
            m.momentum = 0.1
    return model.eval()


def build_meta(config: str, options: dict | None = None):
    """The full-size model of a shipped config on the meta device (shapes only)."""
    from mmengine.registry import init_default_scope

    from hrvision.engine.config_checks import load_config_file
    from hrvision.engine.runner import apply_options
    from hrvision.registry import MODELS
    cfg = load_config_file(str(REPO / 'configs' / config))
    if options:
        cfg.merge_from_dict(options)
    apply_options(cfg, {})
    init_default_scope('hrvision')
    with torch.device('meta'):
        return MODELS.build(cfg.model).eval()


def outputs(model, x):
    with torch.no_grad():
        return model(x, mode='tensor')


def assert_same(a, b, where='output'):
    if isinstance(a, torch.Tensor):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5), f'{where}: max diff {(a - b).abs().max():.3g}'
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f'{where}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f'{where}[{i}]')
    else:
        assert a == b, where


def listing(alias: str) -> dict:
    index = json.loads((ZOO_KEYS / 'INDEX.json').read_text())
    with gzip.open(REPO / 'tests' / 'reference' / index[alias], 'rt', encoding='utf-8') as f:
        return json.load(f)


@pytest.fixture(scope='module')
def pairs():
    """layout -> (model A with random weights, its OpenMMLab state dict, input)."""
    out = {}
    for layout, (config, opts, size, _alias) in CASES.items():
        a = build(config, opts, seed=1)
        x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
        out[layout] = (a, to_openmmlab(a.state_dict(), layout), x)
    return out


# ------------------------------------------------------------------ the tests' tables are the real files' names

@pytest.mark.parametrize('layout', list(CASES))
def test_the_test_mapping_gives_the_real_files_keys(layout):
    """The OpenMMLab names this file writes, for the zoo's full-size model, are exactly the keys and shapes of the
    published file (listed with the library's own model code): the checkpoints below have the real layout."""
    config, opts, _size, alias = CASES[layout]
    entry = zoo.get_entry(alias)
    model = zoo_download.build_model(entry, meta=True)
    ours = {k: list(v.shape) for k, v in to_openmmlab(model.state_dict(), layout).items()}
    theirs = {k: s for k, s, _ in listing(alias)['state_dict']}
    assert sorted(set(ours) ^ set(theirs)) == []
    assert {k: s for k, s in ours.items() if theirs[k] != s} == {}


# ------------------------------------------------------------------ strict loads, same outputs

@pytest.mark.parametrize('layout', list(CASES))
def test_openmmlab_checkpoint_loads_strictly_with_the_same_outputs(layout, pairs, tmp_path):
    config, opts, _size, _alias = CASES[layout]
    a, sd, x = pairs[layout]
    path = tmp_path / f'{layout}.pth'
    torch.save({'meta': {'mmengine_version': '0.10.0'}, 'state_dict': sd}, path)   # as the libraries save
    b = build(config, opts, seed=3)
    report = load_weights(b, path, strict=True)
    fmt, variant = FORMAT[layout]
    assert report.format == fmt and variant in report.variant
    assert not report.missing_keys and not report.unexpected_keys
    folded = {f'{conv}.bias' for conv, _ in LAYOUTS[layout]['folds']}
    assert set(report.filled) == folded | ({'head.roi_heads.box_predictor.bbox_pred.weight',
                                            'head.roi_heads.box_predictor.bbox_pred.bias'}
                                           if layout == 'mmdet-faster-rcnn' else set())
    assert_same(outputs(a, x), outputs(b, x))
    renamed = [k for k in sd if not k.startswith('backbone.')]   # OpenMMLab backbones use the official names
    assert set(report.converted) == set(renamed)
    text = str(report)
    assert f'format: {fmt}' in text and f'renamed {len(renamed)}: keys of the {fmt} layout' in text
    if folded:
        assert f'filled {len(folded)}: zero bias' in text


def test_faster_rcnn_class_rows_follow_torchvision_order(pairs):
    """mmdet's background is its last class, torchvision's its first: the box classifier of the loaded model scores
    every class as model A does, and its box regression for every object class is A's."""
    a, sd, _x = pairs['mmdet-faster-rcnn']
    b = build(CASES['mmdet-faster-rcnn'][0], {}, seed=5)
    load_weights(b, sd, strict=True)
    feats = torch.randn(7, a.head.roi_heads.box_predictor.cls_score.in_features)
    with torch.no_grad():
        (sa, ra), (sb, rb) = a.head.roi_heads.box_predictor(feats), b.head.roi_heads.box_predictor(feats)
    assert torch.allclose(sa, sb) and torch.allclose(ra[:, 4:], rb[:, 4:])
    assert not rb[:, :4].any()   # the background's box rows: zeros (torchvision's inference discards them)


# ------------------------------------------------------------------ refusals

def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _unchanged(model, before):
    return all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_missing_key_is_refused_with_the_report(pairs):
    a, sd, _x = pairs['mmseg-fcn']
    sd = dict(sd)
    del sd['decode_head.conv_seg.bias']
    b = build(CASES['mmseg-fcn'][0], {}, seed=3)
    before = _state(b)
    with pytest.raises(WeightsMismatchError) as e:
        load_weights(b, sd, strict=True, name='fcn.pth')
    msg = str(e.value)
    assert 'fcn.pth leaves 1 of the model' in msg and 'head.last_layer.3.bias' in msg
    assert 'format: mmseg, FCNHead' in msg
    assert _unchanged(b, before)


def test_extra_key_is_refused_when_strict_and_reported_otherwise(pairs):
    a, sd, _x = pairs['mmseg-ocr']
    sd = dict(sd, **{'decode_head.1.extra_conv.weight': torch.zeros(3)})
    b = build(CASES['mmseg-ocr'][0], CASES['mmseg-ocr'][1], seed=3)
    before = _state(b)
    with pytest.raises(WeightsMismatchError) as e:
        load_weights(b, sd, strict=True, name='ocr.pth')
    msg = str(e.value)
    assert 'strict load of ocr.pth failed: 1 checkpoint keys' in msg and 'decode_head.1.extra_conv.weight' in msg
    assert 'format: mmseg, OCRHead' in msg
    assert _unchanged(b, before)
    report = load_weights(b, sd, strict=False)
    assert report.unexpected_keys == ['decode_head.1.extra_conv.weight']


def test_an_fcn_head_with_more_convs_is_refused_in_one_line(pairs):
    """hrvision's head is the official last_layer (one conv-BN-ReLU): an FCNHead with num_convs=2 has no place."""
    a, sd, _x = pairs['mmseg-fcn']
    w = sd['decode_head.convs.0.conv.weight']
    sd = dict(sd, **{'decode_head.convs.1.conv.weight': w.clone()},
              **{f'decode_head.convs.1.bn.{n}': sd[f'decode_head.convs.0.bn.{n}'].clone()
                 for n in ('weight', 'bias', 'running_mean', 'running_var')})
    b = build(CASES['mmseg-fcn'][0], {}, seed=3)
    with pytest.raises(WeightsMismatchError) as e:
        load_weights(b, sd, strict=True, name='fcn2.pth')
    assert '\n' not in str(e.value).strip("'\"") and 'num_convs > 1' in str(e.value)
    with pytest.raises(WeightsMismatchError, match='num_convs > 1'):   # not strict (test, infer): refused too
        load_weights(b, sd, strict=False, name='fcn2.pth')


def test_other_fuse_settings_are_refused(pairs):
    """mmseg's HRNet fuses with bilinear align_corners=False: a model built with align_corners=True would give
    other outputs from the same weights."""
    a, sd, _x = pairs['mmseg-fcn']
    b = build(CASES['mmseg-fcn'][0], {'model.backbone.align_corners': True}, seed=3)
    before = _state(b)
    with pytest.raises(WeightsMismatchError, match=r'align_corners=True \(mmseg: False\)'):
        load_weights(b, sd, strict=True, name='fcn.pth')
    assert _unchanged(b, before)


def test_a_head_of_another_task_is_refused(pairs):
    a, sd, _x = pairs['mmseg-fcn']
    face = build(CASES['mmpose0-face'][0], {}, seed=3)
    with pytest.raises(WeightsMismatchError, match=r'mmseg FCNHead checkpoint: its head \(decode_head\.[\w.]+, '
                                                   r'\.\.\.\) has no place in the FaceModel model, whose head is '
                                                   r'head\.head'):
        load_weights(face, sd, strict=True, name='fcn.pth')


def test_mmdet_fcos_is_refused_in_one_line_and_its_backbone_and_neck_load_partially():
    """mmdet's FCOS head differs from torchvision's in what it computes (scales, decoding, centerness tower): the
    published file's keys (the library's own model) are refused, or load without the head with allow_partial."""
    with gzip.open(ZOO_KEYS / 'fcos_hrnetv2p_w32_gn-head_4x4_1x_coco_20201211_134730-cb8055c0.json.gz', 'rt') as f:
        rows = json.load(f)['state_dict']
    sd = {k: torch.empty(s, dtype=getattr(torch, t), device='meta') for k, s, t in rows}
    model = build_meta('detection/hrnetv2p_w32_fcos_coco.py')
    with pytest.raises(WeightsMismatchError) as e:
        load_weights(model, sd, strict=True, name='fcos.pth')
    msg = str(e.value)
    assert '\n' not in msg and 'fcos.pth (mmdet FCOS (HRFPN + FCOSHead)) cannot load' in msg
    assert 'bbox_head.scales' in msg and 'centerness' in msg
    report = load_weights(model, sd, allow_partial=True, name='fcos.pth')
    assert report.missing_keys and all(k.startswith('head.') for k in report.missing_keys)
    assert {k.split('.')[0] for k in report.loaded_keys} == {'backbone', 'neck'}
    assert any('FCOSHead' in n for n in report.notes)


def test_hrvision_checkpoints_are_not_taken_for_openmmlab_ones(pairs):
    """The layouts are told apart by their keys: an hrvision file of each model reads as hrvision (or official)."""
    for layout, (a, _sd, _x) in pairs.items():
        report = load_weights(copy.deepcopy(a), a.state_dict(), strict=True)
        assert report.format in ('hrvision', 'official') and not report.converted and not report.filled, layout


def test_only_the_conversion_module_knows_the_layouts():
    """One place converts OpenMMLab keys (weight_formats, called by load_weights): no other module names them."""
    names = re.compile(r'decode_head\.1\.|rpn_head\.rpn_|roi_head\.bbox_head|object_context_block\.query_project')
    hits = [p.relative_to(REPO).as_posix() for d in ('hrvision', 'tasks', 'heads') for p in (REPO / d).rglob('*.py')
            if names.search(p.read_text(encoding='utf-8'))]
    assert hits == ['hrvision/weight_formats.py']
