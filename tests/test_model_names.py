"""Names a reader can guess (issue 13 part 4, model side): flips, feature method, where pretrained weights load."""
import pytest
import torch

import hrvision.tasks.detection  # noqa: F401  (registration)
import hrvision.tasks.face  # noqa: F401
import hrvision.tasks.multitask  # noqa: F401
import hrvision.tasks.pose  # noqa: F401
import hrvision.tasks.segmentation  # noqa: F401
from hrvision.backbones.hrnet import tiny_extra
from hrvision.registry import MODELS, TRANSFORMS

TINY = tiny_extra(4)


@pytest.mark.parametrize('new', ['PoseRandomFlip', 'SegmentationRandomFlip', 'MultiTaskRandomFlip',
                                 'DetectionRandomFlip'])
def test_flips_are_task_random_flip(new):
    """(The older flip names build these with a warning: tests/test_vocabulary.py.)"""
    cls = TRANSFORMS.get(new)
    assert isinstance(cls, type) and cls.__name__ == new and TRANSFORMS.get(new) is cls


MODELS_CFG = {
    'pose': dict(type='PoseModel', backbone=dict(type='HRNet', extra=TINY, multi_scale_output=False, out_indices=(0,)),
                 head=dict(type='PoseHead', num_keypoints=3, flip_pairs=[(1, 2)])),
    'seg': dict(type='SegmentationModel', backbone=dict(type='HRNet', extra=TINY, preset='segmentation'),
                neck=dict(type='HRNetV2Concat'), head=dict(type='SegmentationHead', num_classes=3)),
    'face': dict(type='FaceModel', backbone=dict(type='HRNet', extra=TINY, preset='face'),
                 head=dict(type='FaceHead', num_landmarks=3)),
    'det': dict(type='DetectionModel', backbone=dict(extra=TINY), neck=dict(out_channels=8, num_outs=3),
                detector=dict(kind='fcos', num_classes=2)),
    'multi': dict(type='MultiTaskModel', backbone=dict(type='HRNet', extra=TINY),
                  heads=dict(seg=dict(type='SegmentationHead', num_classes=3))),
}


@pytest.mark.parametrize('task', list(MODELS_CFG))
def test_pretrained_loads_in_init_weights(task, tmp_path):
    """Building never reads ``pretrained``; mmengine's init_weights does, and names a missing file."""
    missing = str(tmp_path / 'nothere.pth')
    model = MODELS.build(dict(MODELS_CFG[task], pretrained=missing))
    with pytest.raises(FileNotFoundError, match='nothere.pth'):
        model.init_weights()


@pytest.mark.parametrize('task', ['pose', 'seg', 'face', 'multi'])
def test_one_feature_method(task):
    """``extract_feat`` is what the head reads: the head applied to it gives the model's raw output exactly
    (multi-task: the seg head on the shared concat map)."""
    torch.manual_seed(0)
    model = MODELS.build(MODELS_CFG[task]).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        feats, out = model.extract_feat(x), model(x)
        if task == 'multi':
            assert set(feats) == {'branches', 'branch0', 'concat'} and feats['concat'].shape == (1, 60, 8, 8)
            assert torch.equal(model.heads['seg'](feats['concat']), out['seg'])
        else:
            assert torch.equal(model.head(feats), out)
