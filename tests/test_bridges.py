"""Task bridges: one conversion per task, used by the single-task and the multi-task model (issue 13)."""
import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from hrvision.codecs import FaceHeatmapCodec, PoseHeatmapCodec
from hrvision.structures import DataSample, InstanceData
from hrvision.tasks.detection.bridge import DetectionBridge
from hrvision.tasks.face.bridge import FaceBridge
from hrvision.tasks.pose.bridge import PoseBridge
from hrvision.tasks.segmentation.bridge import SegmentationBridge

ROOT = Path(__file__).resolve().parents[1]


def test_seg_targets_pad_with_ignore_and_output_size():
    s = DataSample(metainfo=dict(img_shape=(3, 4), ori_shape=(6, 8)))
    s.gt_sem_seg = torch.zeros(3, 4, dtype=torch.long)
    lab = SegmentationBridge.targets([s], (4, 6))
    assert lab.shape == (1, 4, 6) and (lab[0, 3] == 255).all() and (lab[0, :, 4:] == 255).all()
    assert SegmentationBridge.output_size(s) == (3, 4)          # label size wins
    del s.gt_sem_seg
    assert SegmentationBridge.output_size(s) == (6, 8)          # else the original size
    scores = torch.zeros(3, 6, 8)
    scores[2, 1, 1] = 1
    SegmentationBridge.write(s, scores)
    assert s.pred_sem_seg[1, 1] == 2 and s.seg_logits is scores


def test_det_predict_rescales_and_clamps_and_refuses_missing_gt():
    s = DataSample(metainfo=dict(scale_factor=(2.0, 0.5), ori_shape=(10, 10)))
    det = dict(boxes=torch.tensor([[2., 1., 40., 4.]]), labels=torch.tensor([1]), scores=torch.tensor([.9]))
    DetectionBridge.predict([det], [s])
    torch.testing.assert_close(s.pred_instances.bboxes, torch.tensor([[1., 2., 10., 8.]]))
    with pytest.raises(KeyError, match='gt_instances'):
        DetectionBridge.targets([DataSample(metainfo=dict(img_path='a.jpg'))], 'cpu')
    g = DataSample()
    g.gt_instances = InstanceData(bboxes=torch.ones(1, 4), labels=torch.tensor([3]))
    assert DetectionBridge.targets([g], 'cpu')[0]['labels'].tolist() == [3]


def test_pose_bridge_crop_and_input_paths():
    codec = PoseHeatmapCodec(input_size=(8, 16), heatmap_size=(2, 4), sigma=1)
    hm = torch.zeros(1, 1, 4, 2)
    hm[0, 0, 3, 1] = 1
    bridge = PoseBridge(codec)
    s = DataSample(metainfo=dict(img_shape=(16, 8)))
    bridge.predict(hm, [s])                                     # no crop: input pixels = heatmap * stride
    assert s.pred_keypoints.tolist() == [[4.0, 12.0]]
    c = DataSample(metainfo=dict(center=np.array([4., 8.]), scale=np.array([8 / 200, 16 / 200])))
    bridge.predict(hm, [c])
    ref, _ = codec.decode(hm, np.array([[4., 8.]], np.float32), np.array([[8 / 200, 16 / 200]], np.float32))
    torch.testing.assert_close(c.pred_keypoints, ref[0])


def test_face_bridge_refuses_without_samples():
    bridge = FaceBridge(FaceHeatmapCodec())
    with pytest.raises(ValueError, match='gt_heatmaps'):
        bridge.targets([], 'cpu')
    with pytest.raises(ValueError, match='center/scale'):
        bridge.predict(torch.zeros(1, 98, 64, 64), None)


def test_adapters_hold_no_task_model():
    """adapters.py reuses the bridges: it imports no single-task model."""
    tree = ast.parse((ROOT / 'tasks/multitask/adapters.py').read_text())
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not [m for m in mods if m and m.endswith('.model')], mods
    assert {'hrvision.tasks.pose.bridge', 'hrvision.tasks.detection.bridge',
            'hrvision.tasks.segmentation.bridge'} <= mods
