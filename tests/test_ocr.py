"""HRNet + OCR (issue 24): parity with the official ``seg_hrnet_ocr`` model (ocr_tiny_*), strict load of the official
W48 key list, ``from_official`` on its YAML, the auxiliary + OCR loss, test-time inference on the OCR output, a short
CPU training run that raises mIoU, ONNX export with onnxruntime / OpenVINO parity, the multi-task seg slot, the
concat-conv split refused with its reason, and an official OCR checkpoint refused by a plain seg model."""
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

import hrvision
from hrvision.errors import ConfigError
from hrvision.heads.ocr import OCRHead
from hrvision.heads.segmentation import ohem_cross_entropy
from hrvision.registry import MODELS, OFFICIAL_FAMILIES

from .conftest import REPO, load_ref, ref_json, ref_path

ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
W48_CONFIG = REPO / 'configs' / 'segmentation' / 'hrnetv2_w48_ocr_cityscapes_512x1024.py'
DEMO_CONFIG = REPO / 'configs' / 'segmentation' / 'demo_synthetic_ocr.py'
TINY = dict(STAGE1=dict(NUM_MODULES=1, BLOCK='BOTTLENECK', NUM_BLOCKS=[1], NUM_CHANNELS=[8]),
            STAGE2=dict(NUM_MODULES=1, BLOCK='BASIC', NUM_BLOCKS=[1, 1], NUM_CHANNELS=[4, 8]),
            STAGE3=dict(NUM_MODULES=1, BLOCK='BASIC', NUM_BLOCKS=[1, 1, 1], NUM_CHANNELS=[4, 8, 16]),
            STAGE4=dict(NUM_MODULES=1, BLOCK='BASIC', NUM_BLOCKS=[1, 1, 1, 1], NUM_CHANNELS=[4, 8, 16, 32]))
TRAIN_ITERS = 24


def _close(got, want):
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


@pytest.fixture(scope='module')
def ocr_cfg():
    return json.loads(ref_path('ocr_tiny_config.json').read_text())


@pytest.fixture(scope='module')
def io():
    return load_ref('ocr_tiny_io.pt')


@pytest.fixture(scope='module')
def state():
    return load_ref('ocr_tiny_state.pt')


@pytest.fixture(scope='module')
def official(ocr_cfg, state):
    """The tiny official OCR model (ALIGN_CORNERS True, the OCR yaml's value) with the official weights, eval."""
    return hrvision.from_official(ocr_cfg, state)


# ---- parity with the official model ------------------------------------------------------------------------------
@pytest.mark.parametrize('align, sfx', [(True, ''), (False, '_align_corners_false')])
def test_from_official_reproduces_aux_and_ocr_outputs(ocr_cfg, state, io, align, sfx):
    cfg = copy.deepcopy(ocr_cfg)
    cfg['MODEL']['ALIGN_CORNERS'] = align
    model = hrvision.from_official(cfg, state)
    assert isinstance(model.head, OCRHead) and not model.training
    assert model.load_report.missing_keys == [] and model.load_report.unexpected_keys == []
    with torch.no_grad():
        out = model(io['input'])                                  # what test / export / infer run: the OCR output
        aux, ocr = model.head.forward_all(model.extract_feat(io['input']))   # the official [out_aux, out]
    _close(out, io['output' + sfx])
    _close(ocr, io['output' + sfx])
    _close(aux, io['output_aux' + sfx])


def test_official_w48_key_list_loads_strictly():
    """Every key and shape of the official W48 OCR Cityscapes model, as the released file stores it (``model.``
    prefix), loads strictly into the model from_official builds and into the shipped config's (meta tensors)."""
    ref = ref_json('seg_ocr_cityscapes_w48_keys.json')
    sd = {'model.' + k: torch.empty(shape, device='meta') for k, shape, _ in ref['state_dict']}
    with torch.device('meta'):
        built = OFFICIAL_FAMILIES.lookup('seg_hrnet_ocr')({'MODEL': ref['model_config'],
                                                          'DATASET': {'NUM_CLASSES': ref['num_classes']}})
        shipped = MODELS.build(Config.fromfile(str(W48_CONFIG)).model)
    for model in (built, shipped):
        report = hrvision.load_weights(model, sd, strict=True)
        assert report.missing_keys == [] and report.unexpected_keys == []
        assert len(report.loaded_keys) == len(ref['state_dict']) == len(model.state_dict()) == 1890
        assert sum(p.numel() for p in model.parameters()) == ref['num_parameters']
        assert model.head.align_corners is True and model.neck.align_corners is True


def test_from_official_yaml_reads_the_ocr_and_loss_sections(ocr_cfg, state, io, tmp_path):
    import yaml
    cfg = copy.deepcopy(ocr_cfg)
    cfg['LOSS'] = dict(USE_OHEM=True, OHEMTHRES=0.7, OHEMKEEP=1000, BALANCE_WEIGHTS=[0.3, 1])
    path = tmp_path / 'seg_hrnet_ocr_tiny.yaml'
    path.write_text(yaml.safe_dump(cfg))
    sd = {'model.' + k: v for k, v in state.items()}   # the official FullModel checkpoint layout
    sd['loss.criterion.weight'] = torch.ones(19)
    ckpt = tmp_path / 'hrnet_ocr_cs_tiny.pth'
    torch.save({'state_dict': sd, 'epoch': 1}, ckpt)
    model = hrvision.from_official(str(path), str(ckpt))
    assert model.load_report.unexpected_keys == ['loss.criterion.weight']
    head = model.head
    assert (head.loss_type, head.loss_weights, head.ohem_thresh, head.ohem_min_kept) == ('ohem', (0.3, 1.0), 0.7, 1000)
    assert head.conv3x3_ocr[0].out_channels == 16 and head.ocr_distri_head.object_context_block.key_channels == 8
    with torch.no_grad():
        _close(model(io['input']), io['output'])
    cfg['LOSS'] = dict(USE_OHEM=True, BALANCE_WEIGHTS=[0.4, 1])   # the rest as the official config's defaults
    head = hrvision.from_official(cfg).head
    assert (head.ohem_thresh, head.ohem_min_kept) == (0.9, 100000)
    cfg['LOSS']['BALANCE_WEIGHTS'] = [1.0]
    with pytest.raises(ConfigError, match=r'LOSS.BALANCE_WEIGHTS .* \[aux, ocr\]'):
        hrvision.from_official(cfg)


OCR_DATASETS = [   # config, the dataset's preset, OCR-output loss, SGD lr, train crop (the HRNet-OCR branch yamls)
    ('hrnetv2_w48_ocr_pascal_context_59_520x520.py', 'pascal_context.py', 'ce', 1e-3, (520, 520)),
    ('hrnetv2_w48_ocr_pascal_context_60_520x520.py', 'pascal_context_60.py', 'ce', 1e-3, (520, 520)),
    ('hrnetv2_w48_ocr_lip_473x473.py', 'lip.py', 'ce', 7e-3, (473, 473)),
    ('hrnetv2_w48_ocr_ade20k_520x520.py', 'ade20k.py', 'ohem', 2e-2, (520, 520)),
]


@pytest.mark.parametrize('name, preset, loss, lr, crop', OCR_DATASETS)
def test_dataset_ocr_configs_build_the_official_model(name, preset, loss, lr, crop):
    """Each dataset's OCR config builds what from_official builds from the W48 OCR yaml with that dataset's class
    count (the official key list with the class rows resized loads strictly: hrnet_ocr_{pascal_ctx,lip,ade20k}_*
    files), with the OCR yamls' conventions (align_corners True, aux weight 0.4, no class weights), the recipe's loss,
    lr and crop, and a head as wide as the dataset preset's class list."""
    cfg = Config.fromfile(str(REPO / 'configs' / 'segmentation' / name))
    classes = Config.fromfile(str(REPO / 'configs' / '_base_' / 'datasets' / preset)).dataset_info['classes']
    n = len(classes)
    ref = ref_json('seg_ocr_cityscapes_w48_keys.json')
    resized = lambda k, shape: [n, *shape[1:]] if k.startswith(('cls_head.', 'aux_head.3.')) else shape  # noqa: E731
    sd = {'model.' + k: torch.empty(resized(k, shape), device='meta') for k, shape, _ in ref['state_dict']}
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
        official = OFFICIAL_FAMILIES.lookup('seg_hrnet_ocr')({'MODEL': ref['model_config'],
                                                             'DATASET': {'NUM_CLASSES': n}})
    assert {k: v.shape for k, v in model.state_dict().items()} == {k: v.shape for k, v in official.state_dict().items()}
    report = hrvision.load_weights(model, sd, strict=True)
    assert report.missing_keys == [] and report.unexpected_keys == [] and len(report.loaded_keys) == 1890
    model.check_dataset_meta(dict(classes=classes), preset)
    head = model.head
    assert isinstance(head, OCRHead) and head.num_classes == n and head.class_weight is None
    assert head.align_corners is True and model.neck.align_corners is True
    assert (head.loss_type, head.loss_weights) == (loss, (0.4, 1.0))
    if loss == 'ohem':
        assert (head.ohem_thresh, head.ohem_min_kept) == (0.9, 131072)
    assert cfg.optim_wrapper.optimizer.lr == lr
    crops = [t['crop_size'] for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'PadRandomCrop']
    assert [tuple(c) for c in crops] == [crop]
    if cfg.train_dataloader.dataset.get('num_classes') is not None:
        assert cfg.train_dataloader.dataset.num_classes == cfg.val_dataloader.dataset.num_classes == n


@pytest.mark.parametrize('name, scales, flip', [
    ('hrnetv2_w48_ocr_pascal_context_59_ms_flip_test.py', [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], True),
    ('hrnetv2_w48_ocr_pascal_context_60_ms_flip_test.py', [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], True),
    ('hrnetv2_w48_ocr_lip_flip_test.py', [1.0], True),
    ('hrnetv2_w48_ocr_ade20k_ms_flip_test.py', [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], True)])
def test_dataset_ocr_test_protocol_configs(name, scales, flip):
    """The README test protocols (TEST.SCALE_LIST, TEST.FLIP_TEST) on the OCR model."""
    cfg = Config.fromfile(str(REPO / 'configs' / 'segmentation' / name))
    assert cfg.model.head.type == 'OCRHead'
    assert (cfg.model.test_cfg.scales, cfg.model.test_cfg.flip) == (scales, flip)


def test_torch04_checkpoint_without_batch_counters_loads(ocr_cfg, state, io):
    """The LIP / ADE20K OCR releases are ``*_torch04.pth`` (PyTorch 0.4, InPlaceABNSync): no ``num_batches_tracked``.
    They load (nothing else missing) and give the official output."""
    sd = {'model.' + k: v for k, v in state.items() if not k.endswith('num_batches_tracked')}
    assert len(sd) < len(state)
    model = hrvision.from_official(ocr_cfg, sd)
    assert model.load_report.missing_keys == [] and model.load_report.unexpected_keys == []
    with torch.no_grad():
        _close(model(io['input']), io['output'])


# ---- loss and test-time inference --------------------------------------------------------------------------------
def test_loss_is_weighted_auxiliary_plus_ocr(official, io):
    head = official.head
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 19, (2, 128, 256), generator=g)
    labels[:, :10] = 255
    with torch.no_grad():
        feats = official.extract_feat(io['input'])
        losses = head.loss(feats, labels)
        aux, out = (F.interpolate(t, size=(128, 256), mode='bilinear', align_corners=True)
                    for t in head.forward_all(feats))
        ce = lambda t: F.cross_entropy(t, labels, weight=head.class_weight, ignore_index=255)  # noqa: E731
        assert set(losses) == {'loss_aux', 'loss_ce'}
        _close(losses['loss_aux'], 0.4 * ce(aux))
        _close(losses['loss_ce'], ce(out))
        head.loss_type, head.ohem_min_kept = 'ohem', 5000
        try:
            ohem = head.loss(feats, labels)
        finally:
            head.loss_type, head.ohem_min_kept = 'ce', 131072
    assert set(ohem) == {'loss_aux', 'loss_ohem'}
    _close(ohem['loss_aux'], losses['loss_aux'])   # the auxiliary output keeps CE
    _close(ohem['loss_ohem'], ohem_cross_entropy(out, labels, head.class_weight, 0.9, 5000))


def test_test_time_inference_reads_the_ocr_output(official, io):
    """Single scale: exp of the official OCR output upsampled (SPEC §4.2); multi-scale + flip: the same composition
    of the OCR output (never the auxiliary one)."""
    x = io['input'][:1]
    with torch.no_grad():
        single = official.inference(x, (128, 256))
        want = F.interpolate(io['output'][:1], size=(128, 256), mode='bilinear', align_corners=True).exp()
        torch.testing.assert_close(single, want, atol=1e-4 * float(want.abs().max()), rtol=1e-4)
        official.test_cfg.update(scales=[0.75, 1.0], flip=True)
        try:
            ms = official.inference(x, (128, 256))
        finally:
            official.test_cfg.update(scales=[1.0], flip=False)
        total = 0
        for s in (0.75, 1.0):
            size = (int(128 * s + 0.5), int(256 * s + 0.5))
            xs = F.interpolate(x, size=size, mode='bilinear', align_corners=True)
            up = lambda t: F.interpolate(  # noqa: E731
                official.head.forward_all(official.extract_feat(t))[1], size=size, mode='bilinear',
                align_corners=True)
            probs = ((up(xs) + up(xs.flip(-1)).flip(-1)) * 0.5).exp()
            total = total + F.interpolate(probs, size=(128, 256), mode='bilinear', align_corners=True)
    torch.testing.assert_close(ms, total, atol=1e-4 * float(total.abs().max()), rtol=1e-4)


def test_concat_conv_split_runs_the_auxiliary_conv_per_branch(official, io, monkeypatch):
    """fuse_for_inference folds every BN of the OCR head (also inside its Sequential(BN, ReLU)) and splits what
    commutes with the upsampling: aux_head's 1x1 conv runs per branch (a ConcatConv beside the concat map); the concat
    map stays for conv3x3_ocr, a 3x3 conv (logged with the reason). Outputs unchanged, fewer multiply-adds."""
    import mmengine.logging

    from hrvision.flops import count
    from hrvision.fuse import fuse_conv_bn, fuse_for_inference
    from hrvision.heads.ocr import ConcatAndConv
    from hrvision.necks import ConcatConv, HRNetV2Concat
    logged = []
    monkeypatch.setattr(mmengine.logging, 'print_log', lambda msg, *a, **k: logged.append(msg))
    fused = fuse_for_inference(copy.deepcopy(official))
    assert isinstance(fused.neck, ConcatAndConv)
    assert type(fused.neck.concat) is HRNetV2Concat and isinstance(fused.neck.conv, ConcatConv)
    assert isinstance(fused.head.aux_head[0], torch.nn.Identity)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert any('3x3' in m and 'does not commute' in m for m in logged), logged
    with torch.no_grad():
        _close(fused(io['input']), io['output'])
        aux, _ = fused.head.forward_all(fused.extract_feat(io['input']))
        _close(aux, io['output_aux'])
    # the split conv: C*C*HW at stride 4 -> C * sum_i(C_i * HW_i); here C = 60, branches 4/8/16/32
    c, hw = 60, 32 * 64
    saved = c * c * hw - c * (4 * hw + 8 * hw // 4 + 16 * hw // 16 + 32 * hw // 64)
    plain = fuse_conv_bn(copy.deepcopy(official))
    assert count(plain, (128, 256)).macs - count(fused, (128, 256)).macs == saved


# ---- training, export, infer, multi-task ---------------------------------------------------------------------------
@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """The demo OCR config at test size, trained TRAIN_ITERS iterations on synthetic Cityscapes through the runner:
    (mIoU scores before, after, config path, checkpoint path, data root)."""
    from hrvision.engine.runner import build_runner, prepare_config
    from hrvision.tasks.segmentation import synth as seg_synth
    tmp = tmp_path_factory.mktemp('ocr_train')
    root = str(tmp / 'data')
    seg_synth.write_synthetic(root, n_train=6, n_val=3, size=(64, 128), seed=1)
    opts = {f'{k}.dataset.data_root': root for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    opts.update({'model.backbone': dict(type='HRNet', extra=TINY, preset='segmentation', align_corners=True),
                 'model.head.mid_channels': 16, 'model.head.key_channels': 8,
                 'optim_wrapper.optimizer.lr': 1e-2, 'train_cfg.max_iters': TRAIN_ITERS,
                 'train_cfg.val_interval': 1000, 'param_scheduler.0.end': 5, 'param_scheduler.1.begin': 5,
                 'param_scheduler.1.end': TRAIN_ITERS, 'train_dataloader.batch_size': 2,
                 'train_dataloader.dataset.pipeline.1.base_size': 128,
                 'train_dataloader.dataset.pipeline.2.crop_size': (64, 128),
                 'default_hooks.checkpoint.interval': TRAIN_ITERS, 'default_hooks.logger.interval': 8})
    runner = build_runner(prepare_config(str(DEMO_CONFIG), work_dir=str(tmp / 'work'), cfg_options=opts))
    assert isinstance(runner.model.head, OCRHead)
    before = runner.val()
    runner.train()
    after = runner.val()
    cfg_path = str(tmp / 'ocr_tiny.py')
    runner.cfg.dump(cfg_path)
    return before, after, cfg_path, str(tmp / 'work' / f'iter_{TRAIN_ITERS}.pth'), root


def test_short_training_run_raises_miou(trained):
    before, after = trained[:2]
    assert after['seg/mIoU'] > before['seg/mIoU'] + 0.02, (before['seg/mIoU'], after['seg/mIoU'])
    assert after['seg/pixel_acc'] > before['seg/pixel_acc'] + 0.1


def test_onnx_export_and_onnxruntime_openvino_parity(trained, tmp_path):
    pytest.importorskip('onnxruntime')
    import onnx

    from hrvision.export import TensorForward, _flat, export_model, load_exported
    from hrvision.inference import Inferencer
    cfg, ckpt = trained[2:4]
    model = hrvision.init_model(cfg, ckpt, 'cpu')
    path = str(tmp_path / 'ocr.onnx')
    report = export_model(model, path, (64, 96), 'onnx', check_shape=(50, 67))
    assert set(report.checks) == {(64, 96), (50, 67)}
    assert not any(n.op_type == 'BatchNormalization' for n in onnx.load(path).graph.node)
    x = torch.randn(2, 3, 83, 61)   # a third size and batch
    with torch.no_grad():
        ref = _flat(TensorForward(model)(x))
    got = _flat(load_exported(path)(x))
    assert len(ref) == len(got) == 1
    np.testing.assert_allclose(got[0].numpy(), ref[0].numpy(), atol=1e-4 * max(1.0, float(ref[0].abs().max())))
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for h, w in ((64, 96), (75, 53))]
    torch_res = Inferencer(cfg, ckpt, device='cpu', seg_probs=True)(imgs)
    backends = ['onnxruntime'] + (['openvino'] if _has('openvino') else [])
    for backend in backends:
        res = Inferencer(cfg, None, device='cpu', backend=backend, onnx=path, seg_probs=True)(imgs)
        for a, b in zip(torch_res, res):   # labels agree except where two classes tie within float error
            assert a['sem_seg'].shape == b['sem_seg'].shape
            assert (a['sem_seg'] == b['sem_seg']).mean() > 0.999, backend
            assert np.abs(a['seg_probs'] - b['seg_probs']).max() < 1e-4, backend


def _has(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None


def test_multitask_model_trains_an_ocr_seg_head(tmp_path):
    """An OCRHead in the multi-task seg slot: both losses, one optimiser step changes its weights; predict writes
    masks; the concat-conv split leaves it on the concat map; the ONNX export (onnxruntime) gives its output."""
    from hrvision.backbones.hrnet import tiny_extra
    from hrvision.fuse import fuse_for_inference
    from hrvision.structures import DataSample
    from hrvision.tasks.multitask import MultiTaskModel
    torch.manual_seed(0)
    heads = dict(seg=dict(type='OCRHead', num_classes=3, mid_channels=16, key_channels=8),
                 pose=dict(type='PoseHead', num_keypoints=17, sigma=1.5,
                           codec=dict(input_size=(48, 64), heatmap_size=(12, 16))))
    m = MultiTaskModel(backbone=dict(type='HRNet', extra=tiny_extra(4), upsample_mode='bilinear',
                                     align_corners=False), heads=heads)
    assert isinstance(m.heads['seg'], OCRHead) and m.adapters['seg'].kind == 'segmentation'
    samples = []
    for seed in (0, 1):
        s = DataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), scale_factor=(1.0, 1.0), tasks=['seg']))
        s.gt_sem_seg = torch.randint(0, 3, (64, 64), generator=torch.Generator().manual_seed(seed))
        samples.append(s)
    x = torch.randn(2, 3, 64, 64)
    before = {k: v.detach().clone() for k, v in m.heads['seg'].named_parameters()}
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    losses = m(x, samples, mode='loss')
    assert {'seg.loss_aux', 'seg.loss_ce'} <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    opt.step()
    changed = [k for k, v in m.heads['seg'].named_parameters() if not torch.equal(v, before[k])]
    assert any(k.startswith('ocr_distri_head.') for k in changed) and any(k.startswith('aux_head.') for k in changed)
    m.eval()
    with torch.no_grad():
        preds = m(x, samples, mode='predict')
        ref = m(x)['seg']
        fused = fuse_for_inference(copy.deepcopy(m))
        assert fused.adapters['seg'].feature == 'concat'
        torch.testing.assert_close(fused(x)['seg'], ref, atol=1e-5 * max(1.0, float(ref.abs().max())), rtol=0)
    assert preds[0].pred_sem_seg.shape == (64, 64) and ref.shape == (2, 3, 16, 16)
    pytest.importorskip('onnxruntime')
    from hrvision.export import TensorForward, _flat, export_model, load_exported
    export_model(m, str(tmp_path / 'mt.onnx'), (64, 64), 'onnx', check_shape=(48, 80))
    x = torch.randn(1, 3, 72, 56)
    got = _flat(load_exported(str(tmp_path / 'mt.onnx'))(x))
    with torch.no_grad():
        want = _flat(TensorForward(m)(x))
    assert len(got) == len(want) == 2 and want[0].shape == (1, 3, 18, 14)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, atol=1e-5 * max(1.0, float(b.abs().max())), rtol=0)


def test_multitask_seg_slot_takes_the_official_ocr_weights(ocr_cfg, state, io):
    """The official OCR checkpoint (FullModel ``model.`` keys) imported into a multi-task model's OCR seg slot gives
    the official output; exported back, it loads strictly into the single-task model from_official builds."""
    from hrvision.tasks.multitask import MultiTaskModel
    from hrvision.tasks.multitask.weights import export_task_model, load_task_weights
    m = MultiTaskModel(backbone=dict(type='HRNet', extra=ocr_cfg['MODEL']['EXTRA'], preset='segmentation',
                                     align_corners=True),
                       heads=dict(seg=dict(type='OCRHead', num_classes=19, mid_channels=16, key_channels=8),
                                  pose=dict(type='PoseHead', num_keypoints=17, sigma=2.0,
                                            codec=dict(input_size=(192, 256), heatmap_size=(48, 64)))))
    report = load_task_weights(m, 'seg', {'model.' + k: v for k, v in state.items()})
    assert report.missing_keys == [] and report.unexpected_keys == []
    m.eval()
    with torch.no_grad():
        _close(m(io['input'])['seg'], io['output'])
    single = OFFICIAL_FAMILIES.lookup('seg_hrnet_ocr')(ocr_cfg).eval()
    export_task_model(m, 'seg', single)
    with torch.no_grad():
        _close(single(io['input']), io['output'])


# ---- the CLI: infer on the official files, and the refusal of an OCR checkpoint by a plain seg model -------------
@pytest.mark.slow
def test_cli_infer_official_ocr_and_refusal_in_a_plain_seg_model(ocr_cfg, state, trained, tmp_path):
    import yaml
    ocr_yaml, plain_yaml = tmp_path / 'ocr.yaml', tmp_path / 'plain.yaml'
    ocr_yaml.write_text(yaml.safe_dump(ocr_cfg))
    plain = copy.deepcopy(ocr_cfg)
    plain['MODEL']['NAME'] = 'seg_hrnet'
    plain_yaml.write_text(yaml.safe_dump(plain))
    ckpt = tmp_path / 'hrnet_ocr_cs_tiny.pth'
    torch.save({'state_dict': {'model.' + k: v for k, v in state.items()}}, ckpt)
    img = str(sorted((Path(trained[4]) / 'leftImg8bit' / 'val').rglob('*.png'))[0])   # a synthetic 64x128 scene
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'infer', str(ocr_yaml), str(ckpt), img, '--out',
                        str(tmp_path / 'out')], capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert list((tmp_path / 'out').rglob('*_labelIds.png')) and list((tmp_path / 'out').rglob('*_color.png'))
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'infer', str(plain_yaml), str(ckpt), img, '--out',
                        str(tmp_path / 'refused')], capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 2 and r.stdout == '', (r.returncode, r.stdout[-500:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('hrvision: error: '), r.stderr[-2000:]
    assert 'HRNet-OCR head (official seg_hrnet_ocr)' in lines[0] and "model.head.type='OCRHead'" in lines[0]
    assert 'Traceback' not in r.stderr
    # the folder holds only the manifest every --out run writes first, marked failed, listing no result
    assert [p.name for p in (tmp_path / 'refused').iterdir()] == ['hrvision_manifest.json']
    manifest = json.loads((tmp_path / 'refused' / 'hrvision_manifest.json').read_text())
    assert manifest['status'] == 'failed' and manifest['files'] == []
