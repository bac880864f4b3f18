"""Semantic segmentation: Cityscapes and generic folder datasets, transforms, HRNetV2 model, mIoU metric, synthetic
data."""
from . import dataset, folder, metric, model, smp_model, transforms  # noqa: F401  (registration)
from .dataset import CityscapesDataset
from .folder import SegmentationFolderDataset
from .metric import SegmentationMetric
from .model import SegmentationModel

__all__ = ['CityscapesDataset', 'SegmentationMetric', 'SegmentationFolderDataset', 'SegmentationModel']

from . import cli, official, inference  # noqa: E402,F401  (registers the official families and CLI commands)
from . import ade20k, lip, pascal_context  # noqa: E402,F401  (the official repos' other datasets, their synth-*)
