"""Top-down human pose on COCO keypoints (deep-high-resolution-net protocol on the common runner).

    hrvision data synth-coco-pose work_dirs/pose_demo/data --n 256          # synthetic people, COCO format
    hrvision train configs/pose/demo_synthetic.py                            # CPU demo (about a minute)
    hrvision train configs/pose/hrnet_w32_coco_256x192.py                    # official recipe on data/coco/
    hrvision test configs/pose/hrnet_w32_coco_256x192.py CKPT                # flip test, OKS-NMS, COCOeval
    hrvision.from_official('w32_256x192_adam_lr1e-3.yaml', 'pose_hrnet_w32_256x192.pth')   # official weights
    hrvision bench pose                                                      # W32 256x192 images/s vs timm
    hrvision data synth-mpii work_dirs/mpii_demo/data --n 64; hrvision train configs/pose/demo_synthetic_mpii.py
    hrvision test configs/pose/hrnet_w32_mpii_256x256.py CKPT                # MPII val: PCKh table (mpii*.py)
    hrvision eval mpii pred.mat data/mpii/annot/gt_valid.mat                 # PCKh of a server-format pred.mat
"""
from .dataset import CocoKeypointDataset
from .metric import CocoKeypointMetric
from .model import PoseModel
from .mpii import MPIIPoseDataset
from .mpii_metric import MPIIPoseMetric
from .transforms import (LoadPoseImage, PackPoseInputs, PoseHeatmapTargets, PoseRandomFlip, TopDownAffine,
                         TopDownHalfBody, TopDownRandomScaleRotation)

__all__ = ['CocoKeypointDataset', 'CocoKeypointMetric', 'PoseModel', 'LoadPoseImage', 'TopDownHalfBody',
           'TopDownRandomScaleRotation', 'PoseRandomFlip', 'TopDownAffine', 'PoseHeatmapTargets',
           'PackPoseInputs', 'MPIIPoseDataset', 'MPIIPoseMetric']

from . import cli, official, inference  # noqa: E402,F401  (registers the official families and CLI commands)
