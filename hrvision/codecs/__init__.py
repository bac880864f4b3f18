"""Keypoint codecs (targets and decoding): one class per convention, built by :func:`build_codec`."""
from .heatmap import (BaseHeatmapCodec, FaceHeatmapCodec, PoseHeatmapCodec, build_codec, face_get_preds,
                      face_heatmap_to_image, face_refine, fill_heatmap_size, fill_targets_codec, flip_back,
                      get_max_preds, heatmap_to_image, refine_dark, refine_quarter, shift_right)

__all__ = ['BaseHeatmapCodec', 'PoseHeatmapCodec', 'FaceHeatmapCodec', 'build_codec', 'fill_heatmap_size',
           'fill_targets_codec', 'get_max_preds', 'refine_quarter', 'refine_dark', 'heatmap_to_image',
           'face_get_preds', 'face_refine', 'face_heatmap_to_image', 'flip_back', 'shift_right']
