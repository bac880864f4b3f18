"""A multi-task landmark head's result has the shape of a face result (the whole image is its box), so the
face task's picture and record work on it."""
from types import SimpleNamespace

import numpy as np
import torch

from hrvision.structures import DataSample
from hrvision.tasks.face.inference import FaceInference
from hrvision.tasks.multitask.inference import _face


def test_whole_image_face_result_draws_and_records():
    s = DataSample(metainfo=dict(ori_shape=(40, 60)))
    s.pred_keypoints = torch.tensor([[10.0, 20.0], [30.0, 5.0]])
    s.keypoint_scores = torch.tensor([0.9, 0.8])
    r = _face(s)
    assert r['bboxes'].tolist() == [[0, 0, 60, 40]] and r['keypoints'].shape == (1, 2, 2)
    face = FaceInference(SimpleNamespace(dataset_meta=None))   # a model without metadata (official weights)
    pic = face.draw(np.zeros((40, 60, 3), np.uint8), r)
    assert pic.shape == (40, 60, 3) and pic.any()
    rec = face.record(r, 7, 'img.png')
    assert rec['faces'][0]['bbox'] == [0.0, 0.0, 60.0, 40.0] and rec['faces'][0]['landmarks'] == [[10, 20], [30, 5]]
