"""Data helpers shared by tasks: image I/O (``io``), keypoint geometry (``keypoints``)."""
from .io import read_image, read_label, write_image

__all__ = ['read_image', 'read_label', 'write_image']
