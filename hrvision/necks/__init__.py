"""Necks turning the four HRNet branches into HRNetV2 (concat) and HRNetV2p (pyramid) views."""
from .hrnetv2 import ConcatConv, HRNetV2Concat, HRNetV2p, resize_concat

__all__ = ['ConcatConv', 'HRNetV2Concat', 'HRNetV2p', 'resize_concat']
