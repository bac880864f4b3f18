"""Weights both ways: single-task checkpoint (hrvision / mmpose / official layouts) -> multi-task head and
backbone -> exported single-task model, with identical outputs at every step."""
import pytest
import torch
from torch import nn

from hrvision.tasks.detection.model import DetectionModel
from hrvision.tasks.multitask import export_task, export_task_model, load_task_weights
from hrvision.tasks.pose.model import PoseModel
from hrvision.tasks.segmentation.model import SegmentationModel
from tests.test_multitask_model import TINY_BACKBONE, tiny_model

X = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(7))


def randomize(model: nn.Module, seed: int) -> nn.Module:
    """Random weights and BatchNorm statistics, eval mode (outputs depend on every tensor)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.5 if name.endswith('running_var')
                        else torch.randn(t.shape, generator=g) * 0.1)
    return model.eval()


def seg_model(seed):
    return randomize(SegmentationModel(backbone=TINY_BACKBONE,
                                       neck=dict(type='HRNetV2Concat', in_channels=[4, 8, 16, 32]),
                                       head=dict(type='SegmentationHead', in_channels=60, num_classes=3)), seed)


def pose_model(seed):
    return randomize(PoseModel(backbone=dict(TINY_BACKBONE, multi_scale_output=False, out_indices=(0,)),
                               head=dict(type='PoseHead', num_keypoints=17)), seed)


def det_model(seed):
    bb = {k: v for k, v in TINY_BACKBONE.items() if k != 'type'}
    return randomize(DetectionModel(backbone=bb, neck=dict(out_channels=16, num_outs=3, stride=2),
                                   detector=dict(kind='fcos', num_classes=2, head_convs=1)), seed)


def test_segmentation_round_trip(tmp_path):
    single = seg_model(1)
    path = tmp_path / 'seg.pth'
    torch.save({'state_dict': single.state_dict()}, path)          # hrvision checkpoint layout
    mt = tiny_model().eval()
    report = load_task_weights(mt, 'seg', str(path))
    assert not report.missing_keys and not report.unexpected_keys, str(report)
    with torch.no_grad():
        ref = single.logits(X)
        torch.testing.assert_close(mt(X)['seg'], ref)
        fresh = seg_model(99)
        export_task_model(mt, 'seg', fresh)
        torch.testing.assert_close(fresh.logits(X), ref)


@pytest.mark.parametrize('layout', ['mmpose', 'official'])
def test_pose_round_trip(layout):
    single = pose_model(2)
    sd = single.state_dict()
    if layout == 'mmpose':
        sd = {k.replace('head.final_layer', 'keypoint_head.final_layer'): v for k, v in sd.items()}
    else:   # the official PoseHighResolutionNet keys: no prefixes
        sd = {k.split('.', 1)[1]: v for k, v in sd.items()}
    mt = tiny_model().eval()
    with pytest.raises(KeyError, match='unset'):   # the fuse rows would stay random: refused by default
        load_task_weights(mt, 'pose', sd)
    report = load_task_weights(mt, 'pose', sd, allow_partial=True)
    assert not report.unexpected_keys, str(report)
    # the official pose net has no lower-resolution fuse rows in its last module: reported, nothing else
    assert report.missing_keys and all('stage4.1.fuse_layers.' in k for k in report.missing_keys), report.missing_keys
    with torch.no_grad():
        ref = single.heatmaps(X)
        torch.testing.assert_close(mt(X)['pose'], ref)
        fresh = pose_model(99)
        export_task_model(mt, 'pose', fresh)
        torch.testing.assert_close(fresh.heatmaps(X), ref)


def test_detection_round_trip(tmp_path):
    single = det_model(3)
    mt = tiny_model().eval()
    report = load_task_weights(mt, 'det', single.state_dict())
    assert not report.missing_keys and not report.unexpected_keys, str(report)
    with torch.no_grad():
        ref = single(X)
        got = mt(X)['det']
        for key in ('cls_logits', 'bbox_regression', 'bbox_ctrness'):
            torch.testing.assert_close(got[key], ref[key])
        fresh = det_model(99)
        export_task_model(mt, 'det', fresh)
        torch.testing.assert_close(fresh(X)['cls_logits'], ref['cls_logits'])
    keys = export_task(mt, 'det')
    assert set(keys) == set(single.state_dict())     # exactly the single-task key layout


def test_export_names_heads_and_checks_completeness():
    mt = tiny_model()
    with pytest.raises(KeyError, match=r"'depth'.*heads"):
        export_task(mt, 'depth')
    bigger = SegmentationModel(backbone=TINY_BACKBONE, neck=dict(type='HRNetV2Concat', in_channels=[4, 8, 16, 32]),
                               head=dict(type='SegmentationHead', in_channels=60, num_classes=3,
                                         aux_loss=None))
    bigger.extra = nn.Linear(2, 2)    # a key the multi-task model cannot provide
    with pytest.raises(KeyError, match='extra'):
        export_task_model(mt, 'seg', bigger)


def test_face_landmark_round_trip():
    from hrvision.tasks.face.model import FaceModel

    def face(seed):
        return randomize(FaceModel(backbone=TINY_BACKBONE, head=dict(type='FaceHead', num_landmarks=5)),
                         seed)
    single = face(4)
    mt = tiny_model(heads=dict(face=dict(type='FaceHead', num_landmarks=5))).eval()
    report = load_task_weights(mt, 'face', single.state_dict())
    assert not report.missing_keys and not report.unexpected_keys, str(report)
    with torch.no_grad():
        ref = single.head(single.extract_feat(X))
        torch.testing.assert_close(mt(X)['face'], ref)
        fresh = face(99)
        export_task_model(mt, 'face', fresh)
        torch.testing.assert_close(fresh.head(fresh.extract_feat(X)), ref)
