"""Data helpers shared by tasks: image I/O (``io``), keypoint geometry (``keypoints``), COCO file validation
(``coco``), the empty-dataset check every reader ends with (``checks``)."""
from .io import read_image, read_label, write_image

__all__ = ['read_image', 'read_label', 'write_image']
