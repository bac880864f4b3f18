"""ImageNet classification with HRNet-C: the official cls family (parity, ImageNet-weight source)."""
from .model import ClassificationModel

__all__ = ['ClassificationModel']
