"""Object detection on HRNetV2p: COCO boxes, torchvision FCOS / Faster R-CNN, pycocotools AP."""
from .dataset import CocoDetectionDataset
from .metric import CocoDetMetric
from .model import HRNetDetector
from .transforms import DetRandomFlip, DetResize, LoadDetImage, PackDetInputs

__all__ = ['CocoDetectionDataset', 'CocoDetMetric', 'HRNetDetector', 'LoadDetImage', 'DetResize',
           'DetRandomFlip', 'PackDetInputs']

from . import cli, inference  # noqa: E402,F401  (registers the official families and CLI commands)
