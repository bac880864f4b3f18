"""Task-independent scoring pieces that more than one task uses (OKS, OKS-NMS, COCO keypoint results).

Tasks import these instead of each other's private helpers: pose, PoseTrack and multi-task all score people by
OKS with the *dataset's* sigmas (``dataset_meta['sigmas']``), never a module constant.
"""
from .coco_keypoints import default_out_dir, flatten, image_result, person, score_keypoints
from .oks import check_sigmas, oks_iou, oks_nms, rescore

__all__ = ['oks_iou', 'oks_nms', 'rescore', 'check_sigmas', 'person', 'image_result', 'flatten', 'default_out_dir',
           'score_keypoints']
