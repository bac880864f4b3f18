"""Old module name of :mod:`hrvision.heads.pose` (one vocabulary per task: ``pose``); kept so imports still work."""
from hrvision.heads.pose import PoseHead

KeypointHead = PoseHead   # old Python name; the old registered name is an alias in heads/pose.py

__all__ = ['KeypointHead', 'PoseHead']
