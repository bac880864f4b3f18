"""Object detection on HRNetV2p: COCO boxes, torchvision FCOS / Faster R-CNN, pycocotools AP."""
from .dataset import CocoDetectionDataset
from .metric import CocoDetectionMetric
from .model import DetectionModel
from .transforms import DetectionRandomFlip, DetectionResize, LoadDetectionImage, PackDetectionInputs

__all__ = ['CocoDetectionDataset', 'CocoDetectionMetric', 'DetectionModel', 'LoadDetectionImage', 'DetectionResize',
           'DetectionRandomFlip', 'PackDetectionInputs']

from . import cli, inference  # noqa: E402,F401  (registers the official families and CLI commands)

from hrvision.registry import register_config_key, register_key_renames  # noqa: E402

# Checkpoints written before the detector became a head: torchvision's detector held HRNet and the HRNetV2p as its
# ``backbone`` (single task ``head.detector.backbone.{body,neck}.*``, multi-task ``heads.<name>.detector.backbone.
# neck.*``) and its parts under ``detector``; today's names for them (first matching rule only).
register_key_renames('detection layout before the detector became a head (head.detector.*)',
                     (r'^head\.detector\.backbone\.body\.', 'backbone.'),
                     (r'^head\.detector\.backbone\.neck\.', 'neck.'),
                     (r'^head\.detector\.', 'head.'),
                     (r'^heads\.([^.]+)\.detector\.backbone\.neck\.', r'necks.\1.'),
                     (r'^heads\.([^.]+)\.detector\.', r'heads.\1.'))
register_config_key('category_ids', 'the dataset category id of each detector label (tasks/detection/categories.py)')
