"""Face alignment model on the runner: HRNet -> HRNetV2 concat -> landmark head -> face codec.

``forward(inputs, data_samples, mode)``:
* ``'tensor'``: the raw heatmaps (N, K, 64, 64), what the official model returns;
* ``'loss'``: ``{'loss_heatmap'}``, the official MSE against the codec targets packed per sample;
* ``'predict'``: data samples with ``pred_keypoints`` (K, 2) in original-image pixels (the official
  ``decode_preds``: integers, SPEC §3.2) and ``keypoint_scores`` (K,) = heatmap maxima.

Flip test (``test_cfg=dict(flip_test=True)``; off by default, as the official face test: ``TEST.FLIP_TEST`` is
false in its defaults and in every experiment YAML, SPEC §4.3). The mirrored crop goes through the network in the
same batch as the crop; its heatmaps are mirrored back along W with the left/right landmarks swapped and averaged
with the crop's, then decoded as usual. No one-pixel shift (unlike pose's ``SHIFT_HEATMAP``): the face pipeline
mirrors with ``x' = width - x`` and encodes with truncation, so the target of a mirrored face, mirrored back, peaks
on the cell of the unmirrored target (except within 4.5 cells of the left border, where the official Gaussian
drawing puts every peak one cell off), and a shift would break "mirror image in, mirror-image landmarks out"
(both checked in ``tests/test_face_flip_test.py``). The official code's own flip branch cannot serve as the
reference: as read (not run), it keeps the last sample of the mirrored batch only and passes it to a ``flip_back``
with body-joint pairs (``[1, 4], [2, 3], [10, 15], ...``) that indexes it as 4-D (an error); so the pairs here are
the WFLW training pairs (``test_cfg.flip_pairs`` for other landmark sets).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor, nn

from hrvision.checks import check_bool, merge_known
from hrvision.codecs import build_codec, flip_back
from hrvision.engine.model import TaskModel
from hrvision.errors import ConfigError
from hrvision.engine.preprocessor import build_module
from hrvision.registry import MODELS
from hrvision.shape import fill, fill_concat_neck, neck_channels, norm_momentum
from hrvision.weights import load_weights

from .bridge import FaceBridge
from .transforms import WFLW_FLIP_PAIRS

# The official face test (HRNet-Facial-Landmark-Detection lib/config/defaults.py and experiments/*/*.yaml):
# TEST.FLIP_TEST false (SPEC §4.3).
TEST_CFG = dict(flip_test=False, flip_pairs=None)


@MODELS.register_module()
class FaceLandmarkModel(TaskModel):
    """Top-down face landmark model.

    Args:
        backbone: HRNet config or module (face family: ``upsample_mode='bilinear'``,
            ``align_corners=False``, ``norm_momentum=0.01``).
        neck: HRNetV2 concat config or module.
        head: :class:`~hrvision.heads.landmark.LandmarkHead` config or module; ``in_channels``
            comes from the neck's output shape (the neck's ``in_channels`` / ``align_corners`` from the backbone's),
            ``momentum`` from the backbone's BatchNorm momentum (its preset; a contradicting value is refused).
        codec: codec config or object (default :class:`~hrvision.codecs.FaceHeatmapCodec`: input 256,
            heatmap 64, sigma 1.5).
        data_preprocessor: usually ``dict(type='HRVDataPreprocessor')`` (ImageNet mean/std).
        test_cfg: ``flip_test`` (default False, the official setting), ``flip_pairs`` (left/right landmark index
            pairs; None = the 98-point WFLW pairs, the only built-in set).
        pretrained: ImageNet weights for the backbone (official: ``hrnetv2_w18_imagenet_pretrained.pth``;
            official / timm / hrvision layouts load through :func:`hrvision.load_weights`).
    """

    def __init__(self, backbone: dict | nn.Module, head: dict | nn.Module,
                 neck: dict | nn.Module | None = None, codec: dict | None = None,
                 data_preprocessor: dict | nn.Module | None = None, pretrained: str | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = build_module(backbone)
        if neck is None:
            neck = dict(type='HRNetV2Concat')
        self.neck = build_module(fill_concat_neck(self.backbone, neck))
        head = fill(head, 'in_channels', neck_channels(self.neck), 'head', 'the neck output')
        momentum = norm_momentum(self.backbone)
        if momentum is not None:   # the face preset's BatchNorm momentum, stated once (on the backbone)
            head = fill(head, 'momentum', momentum, 'head', 'the backbone norm_momentum')
        self.head = build_module(head)
        self.num_landmarks = getattr(self.head, 'num_landmarks', None)   # kept: an onnxruntime swap replaces head
        self.test_cfg = merge_known('model.test_cfg', test_cfg, TEST_CFG)
        check_bool('model.test_cfg.flip_test', self.test_cfg['flip_test'])
        if self.test_cfg['flip_test']:
            self.flip_pairs()   # a set without pairs fails at build, not at the first image
        self.codec = build_codec(codec, default='FaceHeatmapCodec')
        self.bridge = FaceBridge(self.codec)
        self.pretrained = pretrained

    def init_weights(self) -> None:
        """mmengine's hook point: default init, then the backbone weights from ``pretrained`` when given."""
        super().init_weights()
        if self.pretrained:
            from mmengine.logging import MMLogger
            MMLogger.get_current_instance().info(f'backbone weights: {load_weights(self.backbone, self.pretrained)}')

    def extract_feat(self, inputs: Tensor) -> Tensor:
        return self.neck(self.backbone(inputs))

    def tensor_forward(self, inputs: Tensor) -> Tensor:
        return self.head(self.extract_feat(inputs))

    def loss(self, inputs: Tensor, data_samples: Sequence[Any]) -> dict:
        target = self.bridge.targets(data_samples, inputs.device)
        return self.head.loss(self.extract_feat(inputs), target)

    def flip_pairs(self) -> list[tuple[int, int]]:
        """The left/right landmark pairs of the flip test: ``test_cfg.flip_pairs``, else the WFLW pairs for 98
        landmarks; any other landmark count without pairs is refused (never a guess)."""
        pairs, k = self.test_cfg.get('flip_pairs'), self.num_landmarks
        if pairs is None:
            if k != 98:
                raise ConfigError(f'model.test_cfg.flip_test needs model.test_cfg.flip_pairs (left/right landmark '
                                  f'index pairs) for {k} landmarks; only the 98-point WFLW pairs are built in')
            return list(WFLW_FLIP_PAIRS)
        try:
            pairs = [(int(a), int(b)) for a, b in pairs]
        except (TypeError, ValueError):
            raise ConfigError(f'model.test_cfg.flip_pairs must be a list of (left, right) index pairs, got '
                              f'{pairs!r}') from None
        bad = [p for p in pairs if not all(0 <= i < (k or 0) for i in p)]
        if bad:
            raise ConfigError(f'model.test_cfg.flip_pairs {bad[0]} names landmarks outside 0..{(k or 0) - 1}')
        return pairs

    def predict_heatmaps(self, inputs: Tensor, flip_test: bool | None = None) -> Tensor:
        """Heatmaps (N, K, h, w), flip-averaged with ``flip_test`` (default ``test_cfg``); the mirrored crops
        share the forward pass with the crops (BatchNorm in eval mode: the numbers of two calls)."""
        flip = self.test_cfg['flip_test'] if flip_test is None else flip_test
        if not flip:
            return self.tensor_forward(inputs).float()
        n = inputs.shape[0]
        both = self.tensor_forward(torch.cat([inputs, inputs.flip(3)])).float()
        return (both[:n] + flip_back(both[n:], self.flip_pairs())) * 0.5

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Sequence[Any] | None = None) -> list:
        if not data_samples:
            raise ValueError("mode='predict' needs data_samples with center/scale metainfo")
        return self.bridge.predict(self.predict_heatmaps(inputs), data_samples)
