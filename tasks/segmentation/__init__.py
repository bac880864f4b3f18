"""Semantic segmentation on Cityscapes: dataset, transforms, HRNetV2 model, mIoU metric, synthetic data."""
from . import dataset, metric, model, smp_model, transforms  # noqa: F401  (registration)
from .dataset import CityscapesDataset
from .metric import CityscapesMetric
from .model import SegmentationModel

__all__ = ['CityscapesDataset', 'CityscapesMetric', 'SegmentationModel']

from . import cli, official, inference  # noqa: E402,F401  (registers the official families and CLI commands)
