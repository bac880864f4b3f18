"""MultiTaskModel: one backbone call per batch, partial labels (zero gradients), per-task loss names and
weights, learned uncertainty weighting, bad configs."""
import pytest
import torch

from hrvision.backbones.hrnet import tiny_extra
from hrvision.structures import DataSample, InstanceData
from hrvision.tasks.multitask import MultiTaskModel

TINY_BACKBONE = dict(type='HRNet', extra=tiny_extra(4), upsample_mode='bilinear', align_corners=False)
HEADS = dict(
    seg=dict(type='SegmentationHead', num_classes=3),
    pose=dict(type='PoseHead', num_keypoints=17, sigma=1.5, codec=dict(input_size=(48, 64),
                                                                              heatmap_size=(12, 16))),
    det=dict(type='DetectionHead', kind='fcos', num_classes=2, head_convs=1,
             neck=dict(out_channels=16, num_outs=3, stride=2)))


def tiny_model(heads=None, **kw) -> MultiTaskModel:
    torch.manual_seed(0)
    m = MultiTaskModel(backbone=TINY_BACKBONE, heads=heads or HEADS, **kw)
    return m


def sample(tasks, size=64, seed=0) -> DataSample:
    g = torch.Generator().manual_seed(seed)
    s = DataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), scale_factor=(1.0, 1.0),
                                 tasks=list(tasks)))
    s.gt_sem_seg = torch.randint(0, 3, (size, size), generator=g)
    s.gt_instances = InstanceData(bboxes=torch.tensor([[4., 6., 30., 40.]]), labels=torch.tensor([0]))
    s.gt_pose = InstanceData(bboxes=torch.tensor([[4., 4., 40., 50.]]),
                             keypoints=torch.rand(1, 17, 2, generator=g) * 36 + 4,
                             keypoints_visible=torch.ones(1, 17))
    return s


def test_backbone_runs_once_per_batch_with_three_heads():
    m = tiny_model()
    calls = []
    m.backbone.register_forward_hook(lambda *a: calls.append(1))
    x = torch.randn(2, 3, 64, 64)
    losses = m(x, [sample(['seg', 'pose', 'det']), sample(['seg', 'pose', 'det'], seed=1)], mode='loss')
    assert len(calls) == 1
    assert {k.split('.')[0] for k in losses} == {'seg', 'pose', 'det'}
    assert {'seg.loss_ce', 'pose.loss_kpt', 'det.loss_classification'} <= set(losses)
    m.eval()
    calls.clear()
    with torch.no_grad():
        preds = m(x, [sample(['seg']), sample(['seg'])], mode='predict')
        assert len(calls) == 1
        out = m(x)
    assert len(calls) == 2
    assert set(out) == {'seg', 'pose', 'det'} and out['seg'].shape == (2, 3, 16, 16)
    p = preds[0]
    assert p.pred_sem_seg.shape == (64, 64) and 'pred_instances' in p and 'pred_pose' in p


def _grads(module):
    return [p.grad for p in module.parameters()]


def test_seg_only_batch_gives_zero_keypoint_and_detection_gradients():
    m = tiny_model()
    x = torch.randn(2, 3, 64, 64)
    losses = m(x, [sample(['seg']), sample(['seg'], seed=1)], mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    for name in ('pose', 'det'):
        grads = _grads(m.heads[name]) + (_grads(m.necks[name]) if name in m.necks else [])   # the detector's neck too
        assert all(g is not None for g in grads), name          # connected (DDP-safe), but exactly zero
        assert all(torch.count_nonzero(g) == 0 for g in grads), name
        assert float(losses[f'{name}.loss']) == 0.0
    assert any(torch.count_nonzero(g) > 0 for g in _grads(m.heads['seg']))
    assert any(p.grad is not None and torch.count_nonzero(p.grad) > 0 for p in m.backbone.parameters())


def test_head_loss_uses_only_its_labelled_samples():
    m = tiny_model(heads=dict(pose=HEADS['pose']))
    m.eval()   # BatchNorm statistics independent of the batch: losses comparable across batch sizes
    a, b = sample(['pose'], seed=1), sample([], seed=2)
    x = torch.randn(2, 3, 64, 64)
    mixed = m(x, [a, b], mode='loss')['pose.loss_kpt']
    alone = m(x[:1], [a], mode='loss')['pose.loss_kpt']
    torch.testing.assert_close(mixed, alone)


def test_loss_weights_and_uncertainty():
    x = torch.randn(2, 3, 64, 64)
    samples = [sample(['seg']), sample(['seg'], seed=1)]
    base = tiny_model(heads=dict(seg=HEADS['seg']))(x, samples, mode='loss')['seg.loss_ce']
    weighted = tiny_model(heads=dict(seg=HEADS['seg']), loss_weights=dict(seg=2.5))(x, samples, mode='loss')
    torch.testing.assert_close(weighted['seg.loss_ce'], base * 2.5)
    m = tiny_model(heads=dict(seg=HEADS['seg']), uncertainty=True)
    with torch.no_grad():
        m.log_vars['seg'].fill_(0.7)
    out = m(x, samples, mode='loss')
    torch.testing.assert_close(out['seg.loss_ce'], base * torch.exp(torch.tensor(-0.7)))
    torch.testing.assert_close(out['seg.loss_uncertainty'], torch.tensor(0.7))
    sum(v for k, v in out.items() if 'loss' in k).backward()
    # d/ds (L exp(-s) + s) = 1 - L exp(-s)
    expected = 1 - float(base) * float(torch.exp(torch.tensor(-0.7)))
    assert float(m.log_vars['seg'].grad) == pytest.approx(expected, rel=1e-4)


def test_unknown_head_lists_registered_heads():
    with pytest.raises(KeyError) as e:
        tiny_model(heads=dict(seg=dict(type='MaskRCNNHead')))
    msg = str(e.value)
    for name in ('MaskRCNNHead', 'SegmentationHead', 'PoseHead', 'FaceHead', 'DetectionHead'):
        assert name in msg


def test_negative_or_unknown_loss_weight_is_an_error():
    with pytest.raises(ValueError, match=r'loss_weights\.pose.*>= 0'):
        tiny_model(loss_weights=dict(pose=-1.0))
    with pytest.raises(KeyError, match='depth'):
        tiny_model(loss_weights=dict(depth=1.0))


def test_backbone_without_all_branches_is_rejected():
    with pytest.raises(ValueError, match='multi_scale_output=True'):
        MultiTaskModel(backbone=dict(TINY_BACKBONE, multi_scale_output=False, out_indices=(0,)),
                       heads=dict(pose=HEADS['pose']))


def test_coco_config_builds_one_backbone_three_heads():
    from mmengine.config import Config

    from hrvision.registry import MODELS
    from tests.conftest import REPO
    cfg = Config.fromfile(str(REPO / 'configs' / 'multitask' / 'hrnet_w32_coco_multitask.py'))
    m = MODELS.build(cfg.model)
    assert set(m.heads) == {'pose', 'det', 'seg'}
    assert m.backbone.out_channels == [32, 64, 128, 256]
    assert m.heads['seg'].last_layer[0].in_channels == 480 and m.heads['pose'].final_layer.in_channels == 32
    assert m.necks['det'].strides == [8, 16, 32, 64, 128] and m.heads['det'].strides == [8, 16, 32, 64, 128]
    # parameters: one W32 backbone, not three
    n_backbone = sum(p.numel() for p in m.backbone.parameters())
    assert sum(p.numel() for p in m.parameters()) < 2 * n_backbone
    evaluators = [e['type'] for e in cfg.test_evaluator['metrics']]
    assert evaluators[:3] == ['CocoDetectionMetric', 'MultiTaskKeypointMetric', 'SegmentationMetric']


def test_landmark_head_trains_on_whole_image_heatmaps_and_decodes():
    m = tiny_model(heads=dict(face=dict(type='FaceHead', num_landmarks=5)))
    s = sample(['face'])
    pts = torch.tensor([[[20., 20.], [40., 20.], [30., 30.], [22., 42.], [38., 42.]]])
    s.gt_face = InstanceData(keypoints=pts, keypoints_visible=torch.ones(1, 5))
    x = torch.randn(1, 3, 64, 64)
    losses = m(x, [s], mode='loss')
    assert set(losses) == {'face.loss_heatmap'} and losses['face.loss_heatmap'] > 0
    m.eval()
    with torch.no_grad():
        out = m(x, [s], mode='predict')[0]
    assert out.pred_keypoints.shape == (5, 2) and out.keypoint_scores.shape == (5,)
    seen = out.keypoint_scores > 0   # a map with no positive value decodes as the face codec's 0 (-1 here)
    assert seen.any() and (out.pred_keypoints[seen] >= 0).all() and (out.pred_keypoints[seen] < 64).all()


def test_zero_tie_stays_zero_in_float16():
    """The zero loss that ties an unlabelled head's backbone layers (DDP) must be 0, not NaN, under fp16 AMP: the
    plain sum of a large float16 map overflows to inf, and inf * 0 is NaN."""
    from hrvision.tasks.multitask.model import _zero_tie
    big = torch.full((2, 72, 64, 128), 0.5, dtype=torch.float16, requires_grad=True)
    tie = _zero_tie([big, big[:, :8]])
    assert tie.dtype == torch.float16 and float(tie) == 0.0
    tie.backward()
    assert big.grad is not None and not big.grad.any()
