"""ImageNet classification with HRNet-C: the official cls family (parity, ImageNet-weight source)."""
from .model import ClassificationModel

__all__ = ['ClassificationModel']

from . import official  # noqa: E402,F401  (registers the official families and CLI commands)
