"""Top-down human pose on COCO keypoints (deep-high-resolution-net protocol on the common runner)."""
from .dataset import CocoKeypointDataset
from .metric import CocoKeypointMetric
from .model import PoseModel
from .transforms import (GenerateHeatmapTarget, LoadPoseImage, PackPoseInputs, TopDownAffine, TopDownHalfBody,
                         TopDownRandomFlip, TopDownRandomScaleRotation)

__all__ = ['CocoKeypointDataset', 'CocoKeypointMetric', 'PoseModel', 'LoadPoseImage', 'TopDownHalfBody',
           'TopDownRandomScaleRotation', 'TopDownRandomFlip', 'TopDownAffine', 'GenerateHeatmapTarget',
           'PackPoseInputs']
