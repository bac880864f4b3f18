"""PoseTrack joint sets and the mappings between them.

* PoseTrack 2018 files store 17 keypoints in COCO order, with slot 1 = ``head_bottom`` and slot 2 =
  ``head_top`` (COCO's eyes) and slots 3/4 (ears) never annotated.
* The official evaluator (poseval) scores 15 joints in its own order (:data:`EVAL_JOINTS`); the 2017
  ``annolist`` format stores those ids directly (``head_bottom`` is its ``neck``).
* A COCO-trained model predicts eyes, not head_bottom / head_top; :func:`coco_to_posetrack` maps its output
  (documented in the function).
"""
from __future__ import annotations

import numpy as np


def _preset() -> dict:
    from hrvision.data.metainfo import parse_metainfo
    return parse_metainfo(dict(from_file='_base_/datasets/posetrack18.py'), 'tasks/posetrack/joints.py')


# the PoseTrack 2018 preset (configs/_base_/datasets/posetrack18.py: names, skeleton, sigmas, flip pairs), the one
# place they are stated; PoseTrackDataset's metadata and these names come from it
PRESET = _preset()
POSETRACK_KEYPOINTS = tuple(PRESET['keypoint_names'])
# poseval's joint ids (the 2017 annolist ``id`` field), index = id
EVAL_JOINTS = ('right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee', 'left_ankle', 'right_wrist',
               'right_elbow', 'right_shoulder', 'left_shoulder', 'left_elbow', 'left_wrist', 'head_bottom', 'nose',
               'head_top')
# for every eval joint, its slot among the 17 (ears have none)
EVAL_FROM_17 = np.array([POSETRACK_KEYPOINTS.index(n) for n in EVAL_JOINTS])
# the article's / poseval's table columns: joint groups over EVAL_JOINTS ids
GROUPS = (('Head', (14, 12, 13)), ('Shoulder', (8, 9)), ('Elbow', (7, 10)), ('Wrist', (6, 11)), ('Hip', (2, 3)),
          ('Knee', (1, 4)), ('Ankle', (0, 5)))
# drawing links (0-based), flip pairs and the tracker's OKS sigmas (COCO's; head_bottom / head_top take the ears'
# value), from the preset
SKELETON = tuple(tuple(p) for p in PRESET['skeleton'])
FLIP_PAIRS = tuple(tuple(p) for p in PRESET['flip_pairs'])
SIGMAS = np.asarray(PRESET['sigmas'], np.float64)


def coco_to_posetrack(keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO-17 predictions (N, 17, 2) + (N, 17) -> PoseTrack-17.

    Body joints (shoulders to ankles) and the nose keep their slot. COCO has no head_bottom / head_top:
    ``head_bottom`` = midpoint of the nose and the shoulder midpoint (the upper neck), ``head_top`` = the eye
    midpoint moved away from head_bottom by the head_bottom->eyes distance; each takes the lowest score of
    the joints it is built from. The ear slots are kept but never scored (PoseTrack does not label them).
    """
    kp = np.array(keypoints, np.float64, copy=True)
    sc = np.array(scores, np.float64, copy=True)
    shoulders = (kp[:, 5] + kp[:, 6]) / 2
    eyes = (kp[:, 1] + kp[:, 2]) / 2
    bottom = (kp[:, 0] + shoulders) / 2
    top = eyes + (eyes - bottom)
    s_bottom = np.minimum(sc[:, 0], np.minimum(sc[:, 5], sc[:, 6]))
    s_top = np.minimum(s_bottom, np.minimum(sc[:, 1], sc[:, 2]))
    kp[:, 1], kp[:, 2] = bottom, top
    sc[:, 1], sc[:, 2] = s_bottom, s_top
    return kp, sc
