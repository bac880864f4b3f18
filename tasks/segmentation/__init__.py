"""Semantic segmentation on Cityscapes: dataset, transforms, HRNetV2 model, mIoU metric, synthetic data."""
from . import dataset, metric, model, transforms  # noqa: F401  (registration)
from .dataset import CityscapesDataset
from .metric import CityscapesMetric
from .model import SegmentationModel

__all__ = ['CityscapesDataset', 'CityscapesMetric', 'SegmentationModel']
