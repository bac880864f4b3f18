"""Old module name of :mod:`hrvision.heads.face` (one vocabulary per task: ``face``); kept so imports still work."""
from hrvision.heads.face import FaceHead

LandmarkHead = FaceHead   # old Python name; the old registered name is an alias in heads/face.py

__all__ = ['FaceHead', 'LandmarkHead']
