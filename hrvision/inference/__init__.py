"""Inference on your own images, folders, videos: :class:`Inferencer` (API) and ``hrvision infer`` (CLI)."""
from .inferencer import Inferencer

__all__ = ['Inferencer']
