"""Face alignment (WFLW; 300W/COFW/AFLW metrics): dataset, official crop, model, NME metric, benchmark.

Importing this package registers ``WFLWDataset``, the face transforms, ``FaceModel``,
``FaceHead`` and ``FaceNMEMetric`` in hrvision's registries (configs list it in
``custom_imports``).
"""
from hrvision.heads.face import FaceHead

from .dataset import ATTRIBUTES, SUBSETS, WFLWDataset
from .metric import FaceNMEMetric, compute_nme, summarize
from .model import FaceModel
from .transforms import (WFLW_FLIP_PAIRS, FaceCrop, FaceHeatmapTargets, FaceRandomAugment, LoadFaceImage,
                         PackFaceInputs, face_crop)

__all__ = ['ATTRIBUTES', 'SUBSETS', 'WFLWDataset', 'FaceNMEMetric', 'compute_nme', 'summarize', 'FaceModel',
           'FaceHead', 'WFLW_FLIP_PAIRS', 'FaceCrop', 'FaceHeatmapTargets',
           'FaceRandomAugment', 'LoadFaceImage', 'PackFaceInputs', 'face_crop']

from . import cli, official, inference, official_datasets  # noqa: E402,F401  (registers the official families,
#   the CLI commands and the 300W / COFW / AFLW datasets)
