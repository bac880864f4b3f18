"""Detection as a head like the others: the model owns HRNet (``backbone``) and HRNetV2p (``neck``), the head is built
from the neck's output shape and takes the pyramid + image sizes; checkpoints of the earlier layout
(``head.detector.backbone.{body,neck}.*``, multi-task ``heads.<name>.detector.*``) still load to identical outputs;
class counts are checked against the dataset's metadata; a batch the multi-task detector cannot use is named."""
import types
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config

import hrvision
import hrvision.tasks.detection  # noqa: F401  (registration)
from hrvision.engine.loading import HRVRunner
from hrvision.errors import ConfigError
from hrvision.heads.detection import BatchOnlyTransform
from hrvision.necks import HRNetV2p
from hrvision.registry import MODELS
from hrvision.weights import CheckpointError, WeightsMismatchError, load_weights
from tests.test_detection_model import TINY, _batch
from tests.test_multitask_model import sample, tiny_model


def _cfg(kind):
    det = dict(kind=kind, num_classes=3, **({'score_thresh': 0.05} if kind == 'fcos' else {'box_score_thresh': 0.0}))
    return dict(type='DetectionModel', backbone=dict(extra=TINY), neck=dict(out_channels=16, stride=2 if kind == 'fcos'
                                                                         else 1),
                detector=det, data_preprocessor=dict(type='HRVDataPreprocessor', pad_size_divisor=32))


def _det(kind, seed):
    torch.manual_seed(seed)
    return MODELS.build(_cfg(kind))


def _old_single(sd):
    """The layout of hrvision detection checkpoints before the head owned no backbone."""
    out = OrderedDict()
    for k, v in sd.items():
        part, rest = k.split('.', 1)
        out[{'backbone': 'head.detector.backbone.body.', 'neck': 'head.detector.backbone.neck.',
             'head': 'head.detector.'}[part] + rest] = v
    return out


def _old_multitask(sd, heads):
    """The earlier multi-task layout, in its order: the detector's neck inside its head (``heads``: head names)."""
    out = OrderedDict((k, v) for k, v in sd.items() if not k.startswith(('necks.', 'heads.')))
    for name in heads:
        for k, v in sd.items():
            if k.startswith(f'necks.{name}.'):
                out[f'heads.{name}.detector.backbone.neck.' + k[len(f'necks.{name}.'):]] = v
        for k, v in sd.items():
            if k.startswith(f'heads.{name}.'):
                out[f'heads.{name}.detector.' + k[len(f'heads.{name}.'):] if name == 'det' else k] = v
    assert len(out) == len(sd)
    return out


def _outputs(model):
    """Losses (train mode, fixed sampling seed) and detections (eval) on a fixed batch."""
    model.train()
    torch.manual_seed(1)
    losses = {k: v.detach() for k, v in model(**model.data_preprocessor(_batch(), True), mode='loss').items()}
    model.eval()
    with torch.no_grad():
        preds = model(**model.data_preprocessor(_batch(), False), mode='predict')
    return losses, [(p.pred_instances.bboxes, p.pred_instances.scores, p.pred_instances.labels) for p in preds]


@pytest.fixture(scope='module', params=['fcos', 'faster_rcnn'])
def pair(request):
    """(kind, a model, its outputs, its state dict before they ran) for each detector kind."""
    model = _det(request.param, 0)
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    return request.param, sd, _outputs(model)


def test_model_owns_backbone_and_neck_head_reads_the_pyramid(pair):
    kind, sd, _ = pair
    model = _det(kind, 0).eval()
    assert {k.split('.')[0] for k in sd} == {'backbone', 'neck', 'head'}
    assert not any(isinstance(m, (hrvision.HRNet, HRNetV2p)) for m in model.head.modules())
    assert model.head.in_shape == model.neck.output_shape()
    x = torch.randn(2, 3, 64, 64)   # two images: GroupNorm needs more than one value on the 1x1 level
    with torch.no_grad():
        feats = model.extract_feat(x)
        out = model(x)
    assert list(feats) == model.head.levels == list(out['features'])
    raw = model.head(feats)   # the head alone on the model's pyramid: the model's raw outputs
    for k, v in raw.items():
        torch.testing.assert_close(out[k], v, rtol=0, atol=0)
    with pytest.raises(ValueError, match='reads pyramid levels'):
        model.head(OrderedDict(list(feats.items())[:2]))


def test_old_layout_checkpoint_loads_to_identical_outputs(pair, tmp_path):
    kind, sd, (losses, dets) = pair
    path = tmp_path / 'old.pth'
    torch.save({'state_dict': _old_single(sd)}, path)
    torch.manual_seed(5)   # the path users take: hrvision.init_model (other random weights before the load)
    fresh = hrvision.init_model(Config(dict(model=_cfg(kind))), str(path), 'cpu')
    report = fresh.load_report
    assert not report.missing_keys and not report.unexpected_keys and report.order_kept
    assert report.renamed['head.detector.backbone.body.conv1.weight'] == 'backbone.conv1.weight'
    assert 'detection layout before the detector became a head' in str(report)
    got_losses, got_dets = _outputs(fresh)
    assert list(got_losses) == list(losses)
    for k in losses:
        assert torch.equal(got_losses[k], losses[k]), k
    for a, b in zip(got_dets, dets):
        assert len(a[0]) > 0 and all(torch.equal(x, y) for x, y in zip(a, b))
    # an old checkpoint missing a tensor is still refused, naming today's key; allow_partial reports it
    partial = _old_single(sd)
    partial.pop('head.detector.backbone.neck.reduction_conv.weight')
    with pytest.raises(WeightsMismatchError, match='leaves 1 of'):
        load_weights(_det(kind, 5), partial)
    assert load_weights(_det(kind, 5), partial, allow_partial=True).missing_keys == ['neck.reduction_conv.weight']


def test_old_multitask_checkpoint_loads_and_resume_refuses_its_order(tmp_path):
    mt = tiny_model().eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = mt(x)['det']
    old = _old_multitask(mt.state_dict(), list(mt.heads))
    assert any(k.startswith('heads.det.detector.backbone.neck.') for k in old)
    fresh = tiny_model()
    torch.manual_seed(9)
    for p in fresh.parameters():
        p.data.normal_()
    report = load_weights(fresh.eval(), old, strict=True)
    assert not report.missing_keys and not report.unexpected_keys and report.renamed
    with torch.no_grad():
        got = fresh(x)['det']
    for k in ('cls_logits', 'bbox_regression', 'bbox_ctrness'):
        assert torch.equal(got[k], ref[k])
    # its parameters come in another order than today's (the neck moved out of the head): --resume would hand
    # the optimizer state to other parameters, so it is refused; load_from (weights only) is fine
    assert not report.order_kept
    torch.save({'state_dict': old}, tmp_path / 'iter_10.pth')
    stub = types.SimpleNamespace(model=fresh, cfg={}, _resume=True, call_hook=lambda *a, **k: None,
                                 logger=types.SimpleNamespace(info=print, warning=print))
    for p in fresh.parameters():   # other values than the checkpoint's: the refusal must leave them as they are
        p.data.normal_()
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    with pytest.raises(CheckpointError, match=r'--resume cannot continue a checkpoint of an earlier layout '
                                              r'\(detection layout .*e\.g\. heads\.det\..* -> .*load_from'):
        HRVRunner.load_checkpoint(stub, str(tmp_path / 'iter_10.pth'))
    assert all(torch.equal(v, before[k]) for k, v in fresh.state_dict().items())   # refused before any weight
    stub._resume = False
    HRVRunner.load_checkpoint(stub, str(tmp_path / 'iter_10.pth'))


def test_multitask_import_of_an_old_single_task_checkpoint():
    """``load_task_weights`` reads the earlier single-task layout too (the multi-task view has today's)."""
    from hrvision.tasks.multitask import MultiTaskModel, export_task, load_task_weights
    sd = _det('fcos', 0).state_dict()
    mt = MultiTaskModel(backbone=dict(type='HRNet', extra=TINY),
                        heads=dict(det=dict(type='DetectionHead', kind='fcos', num_classes=3,
                                            score_thresh=0.05, neck=dict(out_channels=16, stride=2))))
    report = load_task_weights(mt, 'det', _old_single(sd))
    assert not report.missing_keys and not report.unexpected_keys
    exported = export_task(mt, 'det')   # today's single-task layout, the same tensors
    assert list(exported) == list(sd) and all(torch.equal(exported[k], v) for k, v in sd.items())


def test_dataset_meta_class_count(pair):
    model = _det(pair[0], 0)
    model.check_dataset_meta({'classes': ('a', 'b', 'c')}, 'train_dataloader')
    model.check_dataset_meta({}, 'train_dataloader')   # nothing stated: nothing to compare
    with pytest.raises(ConfigError, match=r'model.detector.num_classes=3 but the dataset \(val_dataloader\) has 2 '
                                          'classes'):
        model.check_dataset_meta({'classes': ('a', 'b')}, 'val_dataloader')


def test_multitask_batch_must_fit_the_pyramid_and_boxes_must_be_boxes():
    mt = tiny_model()   # fcos neck stride 2, 3 levels: p3..p5, coarsest stride 32
    with pytest.raises(ConfigError, match=r'heads.det: the multi-task batch is padded to 48x48, not a multiple of '
                                          r'the detector size_divisible 32.*pad_size_divisor'):
        mt(torch.randn(1, 3, 48, 48), [sample(['det'], size=48)], mode='loss')
    bad = sample(['det'])
    bad.gt_instances.bboxes = torch.tensor([[30., 6., 4., 40.]])
    with pytest.raises(ValueError, match=r'target 0: box \[30.0, 6.0, 4.0, 40.0\] has no positive width'):
        mt(torch.randn(1, 3, 64, 64), [bad], mode='loss')


def test_head_builds_from_a_shape_alone():
    shape = HRNetV2p([4, 8, 16, 32], out_channels=16, num_outs=3).output_shape()
    head = MODELS.build(dict(type='DetectionHead', in_shape=shape, num_classes=2, kind='faster_rcnn'))
    assert head.levels == ['p2', 'p3', 'p4'] and head.size_divisible == 16
    feats = OrderedDict((n, torch.randn(1, 16, 64 // s.stride, 64 // s.stride)) for n, s in shape.items())
    images = BatchOnlyTransform(head.size_divisible)([torch.zeros(3, 60, 50)])[0]
    dets = head.predict(feats, images)
    assert len(dets) == 1 and set(dets[0]) == {'boxes', 'labels', 'scores'}
    assert (dets[0]['boxes'][:, 2] <= 50).all() and (dets[0]['boxes'][:, 3] <= 60).all()
    losses = head.loss(feats, images, [{'boxes': torch.tensor([[2., 3., 20., 30.]]), 'labels': torch.tensor([1])}])
    assert list(losses) == ['loss_classifier', 'loss_box_reg', 'loss_objectness', 'loss_rpn_box_reg']



# Real keys of models built by the code before the detector became a head (``git archive`` of commit e7e1f21, tiny
# widths of tests/test_detection_model.TINY, neck out_channels 16, 3 classes), with their shapes: the renaming rules
# must send each to a tensor of that shape in today's models (a test that inverts the rules cannot catch a wrong one).
OLD_KEYS = {
    'fcos': [('head.detector.backbone.body.conv1.weight', (64, 3, 3, 3)),
             ('head.detector.backbone.body.bn2.running_var', (64,)),
             ('head.detector.backbone.body.stage2.0.branches.1.0.conv1.weight', (8, 8, 3, 3)),
             ('head.detector.backbone.body.stage4.0.fuse_layers.0.3.0.weight', (4, 32, 1, 1)),
             ('head.detector.backbone.body.transition3.3.0.0.weight', (32, 16, 3, 3)),
             ('head.detector.backbone.neck.reduction_conv.weight', (16, 60, 1, 1)),
             ('head.detector.backbone.neck.fpn_convs.4.weight', (16, 16, 3, 3)),
             ('head.detector.head.classification_head.conv.1.weight', (16,)),
             ('head.detector.head.classification_head.cls_logits.weight', (3, 16, 3, 3)),
             ('head.detector.head.regression_head.bbox_reg.weight', (4, 16, 3, 3)),
             ('head.detector.head.regression_head.bbox_ctrness.bias', (1,))],
    'faster_rcnn': [('head.detector.backbone.body.conv1.weight', (64, 3, 3, 3)),
                    ('head.detector.backbone.neck.fpn_convs.2.bias', (16,)),
                    ('head.detector.rpn.head.conv.0.0.weight', (16, 16, 3, 3)),
                    ('head.detector.rpn.head.bbox_pred.weight', (12, 16, 1, 1)),
                    ('head.detector.roi_heads.box_head.fc6.weight', (1024, 784)),
                    ('head.detector.roi_heads.box_predictor.cls_score.weight', (4, 1024)),
                    ('head.detector.roi_heads.box_predictor.bbox_pred.bias', (16,))],
    'multitask': [('heads.det.detector.backbone.neck.reduction_conv.weight', (16, 60, 1, 1)),
                  ('heads.det.detector.backbone.neck.fpn_convs.2.weight', (16, 16, 3, 3)),
                  ('heads.det.detector.head.classification_head.conv.1.weight', (16,)),
                  ('heads.det.detector.head.regression_head.bbox_reg.weight', (4, 16, 3, 3))],
}


@pytest.mark.parametrize('kind', sorted(OLD_KEYS))
def test_frozen_old_keys_map_to_todays_tensors(kind):
    from hrvision.weights import legacy_name
    target = (tiny_model() if kind == 'multitask' else _det(kind, 0)).state_dict()
    for old, shape in OLD_KEYS[kind]:
        new = legacy_name(old)
        assert new in target and tuple(target[new].shape) == shape, (old, new)


def test_mmdet_roi_align_and_anchors_for_weights_trained_there():
    """``roi_align='mmdet'``: mmcv's RoIAlign (half-pixel offset, adaptive sampling) at mmdetection's levels
    (``floor(log2(sqrt(area) / 56))``) and base anchors kept unrounded; torchvision's own mode is unchanged."""
    from torchvision.ops import roi_align
    from hrvision.heads.detection import LevelRoIAlign
    shape = HRNetV2p([4, 8, 16, 32], out_channels=8, num_outs=4).output_shape()
    torch.manual_seed(0)
    feats = OrderedDict((n, torch.randn(1, 8, 256 // s.stride, 320 // s.stride)) for n, s in shape.items())
    boxes = torch.tensor([[3., 4., 30., 40.], [10., 10., 150., 120.], [0., 0., 300., 250.], [50., 60., 90., 100.]])
    got = LevelRoIAlign(list(shape), [s.stride for s in shape.values()])(feats, [boxes], [(256, 320)])
    side = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sqrt()
    levels = [min(max(int(torch.floor(torch.log2(v / 56))), 0), 3) for v in side]
    assert levels == [0, 1, 2, 0]
    for i, lv in enumerate(levels):   # each box on its level, sampled as mmcv does
        stride = 4 * 2 ** lv
        want = roi_align(feats[f'p{lv + 2}'], [boxes[i:i + 1]], 7, 1 / stride, 0, aligned=True)[0]
        torch.testing.assert_close(got[i], want, rtol=0, atol=0)
    plain = roi_align(feats['p2'], [boxes[:1]], 7, 0.25, 2, aligned=False)[0]
    assert (got[0] - plain).abs().max() > 1e-3   # not torchvision's own pooling
    mm = MODELS.build(dict(type='DetectionHead', in_shape=shape, num_classes=2, kind='faster_rcnn', roi_align='mmdet'))
    tv = MODELS.build(dict(type='DetectionHead', in_shape=shape, num_classes=2, kind='faster_rcnn'))
    assert isinstance(mm.roi_heads.box_roi_pool, LevelRoIAlign) and not isinstance(tv.roi_heads.box_roi_pool,
                                                                                   LevelRoIAlign)
    half = 16 * 2 ** 0.5   # a 0.5-ratio anchor of size 32 (stride 4): 45.25 x 22.63
    torch.testing.assert_close(mm.rpn.anchor_generator.cell_anchors[0][0],
                               torch.tensor([-half, -half / 2, half, half / 2]))
    assert tv.rpn.anchor_generator.cell_anchors[0][0].tolist() == [-23.0, -11.0, 23.0, 11.0]
    assert list(mm.state_dict()) == list(tv.state_dict())   # the same weights load into either
    images = BatchOnlyTransform(mm.size_divisible)([torch.zeros(3, 120, 150)])[0]
    mm.load_state_dict(tv.state_dict())
    dets = mm.predict(OrderedDict((n, torch.randn(1, 8, 128 // s.stride, 160 // s.stride))
                                  for n, s in shape.items()), images)
    assert set(dets[0]) == {'boxes', 'labels', 'scores'}
    with pytest.raises(ValueError, match="roi_align must be 'torchvision' or 'mmdet'"):
        MODELS.build(dict(type='DetectionHead', in_shape=shape, num_classes=2, kind='faster_rcnn', roi_align='mmcv'))


def test_zoo_detector_builds_with_mmdets_settings_and_its_file_refuses_a_model_without_them():
    from hrvision import zoo
    from hrvision.weights import check_trained_settings
    entry = zoo.get_entry('hrnetv2p-w32-faster-rcnn-coco')
    assert dict(entry.options) == {'model.detector.roi_align': 'mmdet'}
    model = _det('faster_rcnn', 0)   # built with torchvision's pooling
    ckpt = {'meta': {'zoo': {'alias': entry.alias, 'options': dict(entry.options)}}}
    with pytest.raises(WeightsMismatchError, match="trained with model.detector.roi_align='mmdet'.*the model has "
                                                   "'torchvision'"):
        check_trained_settings(model, ckpt, 'faster_rcnn.pth')
    cfg = _cfg('faster_rcnn')
    cfg['detector']['roi_align'] = 'mmdet'
    check_trained_settings(MODELS.build(cfg), ckpt, 'faster_rcnn.pth')
