"""HRNetV2p detectors on torchvision: modes, no double normalisation/resizing, original-image boxes."""
import pytest
import torch

import hrvision
import hrvision.tasks.detection  # noqa: F401  (registration)
from hrvision.heads.detection import BatchOnlyTransform, DetectionHead
from hrvision.necks import HRNetV2p
from hrvision.registry import MODELS
from hrvision.structures import DataSample, InstanceData

TINY = dict(STAGE1=dict(NUM_MODULES=1, NUM_BLOCKS=[1], NUM_CHANNELS=[8], BLOCK='BOTTLENECK'),
            STAGE2=dict(NUM_MODULES=1, NUM_BLOCKS=[1, 1], NUM_CHANNELS=[4, 8]),
            STAGE3=dict(NUM_MODULES=1, NUM_BLOCKS=[1, 1, 1], NUM_CHANNELS=[4, 8, 16]),
            STAGE4=dict(NUM_MODULES=1, NUM_BLOCKS=[1, 1, 1, 1], NUM_CHANNELS=[4, 8, 16, 32]))


def _model(kind, stride=1):
    return MODELS.build(dict(type='DetectionModel', backbone=dict(extra=TINY), neck=dict(out_channels=16, stride=stride),
                             detector=dict(kind=kind, num_classes=3),
                             data_preprocessor=dict(type='HRVDataPreprocessor', pad_size_divisor=32)))


def _batch():
    torch.manual_seed(0)
    samples, images = [], []
    for (h, w), scale in (((60, 90), 0.5), ((64, 48), 2.0)):
        images.append(torch.randint(0, 255, (3, h, w), dtype=torch.uint8))
        ds = DataSample(metainfo=dict(img_shape=(h, w), ori_shape=(round(h / scale), round(w / scale)),
                                      scale_factor=(scale, scale), img_id=len(samples)))
        ds.gt_instances = InstanceData(bboxes=torch.tensor([[5.0, 6.0, 30.0, 40.0]]), labels=torch.tensor([2]))
        samples.append(ds)
    return {'inputs': images, 'data_samples': samples}


@pytest.mark.parametrize('kind,stride,levels', [('fcos', 2, ['p3', 'p4', 'p5', 'p6', 'p7']),
                                                ('faster_rcnn', 1, ['p2', 'p3', 'p4', 'p5', 'p6'])])
def test_modes_loss_predict_tensor(kind, stride, levels):
    model = _model(kind, stride)
    assert model.head.levels == list(model.neck.output_shape()) == levels
    data = model.data_preprocessor(_batch(), True)
    losses = model(**data, mode='loss')
    assert all(k.startswith('loss') and torch.isfinite(v) for k, v in losses.items()) and len(losses) >= 3
    sum(losses.values()).backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    model.eval()
    data = model.data_preprocessor(_batch(), False)
    out = model(**data, mode='predict')
    for ds in out:
        p = ds.pred_instances
        h, w = ds.ori_shape
        assert p.bboxes.shape[1] == 4 and len(p.bboxes) == len(p.scores) == len(p.labels)
        assert (p.labels >= 0).all() and (p.labels < 3).all()
        assert (p.bboxes[:, 2] <= w).all() and (p.bboxes[:, 3] <= h).all()
    raw = model(data['inputs'], mode='tensor')
    assert list(raw['features']) == levels


def test_predict_maps_boxes_to_original_coordinates():
    model = _model('fcos', 2).eval()
    data = model.data_preprocessor(_batch(), False)
    seen = []

    def fake_predict(feats, images):
        seen.extend(tuple(s) for s in images.image_sizes)
        assert tuple(images.tensors.shape[-2:]) == (128, 128)   # padded again to the coarsest stride (p7: 128)
        return [{'boxes': torch.tensor([[10.0, 20.0, 30.0, 40.0]]), 'labels': torch.tensor([1]),
                 'scores': torch.tensor([0.9])} for _ in images.image_sizes]

    model.head.predict = fake_predict
    out = model(**data, mode='predict')
    assert seen == [(60, 90), (64, 48)]  # each image cropped to its valid size, padding removed
    torch.testing.assert_close(out[0].pred_instances.bboxes, torch.tensor([[20.0, 40.0, 60.0, 80.0]]))
    torch.testing.assert_close(out[1].pred_instances.bboxes, torch.tensor([[5.0, 10.0, 15.0, 20.0]]))


def test_torchvision_transform_only_batches():
    t = BatchOnlyTransform(size_divisible=32).eval()
    a, b = torch.randn(3, 50, 70), torch.randn(3, 33, 20)
    images, _ = t([a, b])
    assert images.tensors.shape == (2, 3, 64, 96) and images.image_sizes == [(50, 70), (33, 20)]
    torch.testing.assert_close(images.tensors[0, :, :50, :70], a)  # no normalisation, no resize
    torch.testing.assert_close(images.tensors[1, :, :33, :20], b)


def test_anchor_tuples_must_match_levels():
    body = HRNetV2p([4, 8, 16, 32], out_channels=16, num_outs=5).output_shape()
    with pytest.raises(ValueError, match='5 pyramid levels'):
        DetectionHead(body, num_classes=3, kind='fcos', anchor_sizes=[(8,), (16,), (32,)])
    with pytest.raises(ValueError, match="'fcos' or 'faster_rcnn'"):
        DetectionHead(body, num_classes=3, kind='retina')


@pytest.mark.parametrize('name,kind,lr', [('hrnetv2p_w32_fcos_coco', 'fcos', 0.01),
                                          ('hrnetv2p_w32_faster_rcnn_coco', 'faster_rcnn', 0.02)])
def test_coco_configs_follow_the_1x_schedule(name, kind, lr):
    from pathlib import Path

    from mmengine.config import Config
    cfg = Config.fromfile(str(Path(__file__).resolve().parents[1] / f'configs/detection/{name}.py'))
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop' and cfg.train_cfg.max_epochs == 12
    assert cfg.train_dataloader.batch_size * 8 == 16 and cfg.optim_wrapper.optimizer.lr == lr
    steps = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR'][0]
    assert steps.by_epoch and steps.milestones == [8, 11] and steps.end == 12
    warmup = cfg.param_scheduler[0]
    assert warmup.type == 'LinearLR' and not warmup.by_epoch and warmup.end == 500   # iterations
    assert cfg.train_dataloader.sampler.type == 'DefaultSampler' and cfg.default_hooks.checkpoint.by_epoch
    model = MODELS.build(cfg.model)
    det = model.head
    gen = det.anchor_generator if kind == 'fcos' else det.rpn.anchor_generator
    assert model.head.kind == kind and len(gen.sizes) == len(det.levels) == 5
    assert model.neck.out_channels == 256 and model.backbone.out_channels == [32, 64, 128, 256]


def test_pretrained_backbone_weights_load(tmp_path):
    import hrvision
    from hrvision.backbones.hrnet import tiny_extra
    from hrvision.registry import MODELS
    torch.manual_seed(0)
    src = hrvision.HRNet(extra=tiny_extra(4))
    torch.save({'state_dict': {'backbone.' + k: v for k, v in src.state_dict().items()}}, tmp_path / 'bb.pth')
    model = MODELS.build(dict(type='DetectionModel', backbone=dict(extra=tiny_extra(4)),
                              neck=dict(out_channels=16, num_outs=5, stride=2),
                              detector=dict(kind='fcos', num_classes=3), pretrained=str(tmp_path / 'bb.pth')))
    model.init_weights()   # mmengine's hook point (the runner calls it before training)
    got = dict(model.named_parameters())
    for k, v in src.named_parameters():
        torch.testing.assert_close(got['backbone.' + k], v)
