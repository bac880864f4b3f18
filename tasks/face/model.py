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
from hrvision.registry import MODELS, register_alias
from hrvision.shape import fill, fill_concat_neck, neck_channels, norm_momentum
from hrvision.weights import load_weights

from .config import complete_config as _complete_config
from .bridge import FaceBridge

# The official face test (HRNet-Facial-Landmark-Detection lib/config/defaults.py and experiments/*/*.yaml):
# TEST.FLIP_TEST false (SPEC §4.3).
TEST_CFG = dict(flip_test=False, flip_pairs=None)


@MODELS.register_module()
class FaceModel(TaskModel):
    """Top-down face landmark model.

    Args:
        backbone: HRNet config or module (face family: ``upsample_mode='bilinear'``,
            ``align_corners=False``, ``norm_momentum=0.01``).
        neck: HRNetV2 concat config or module.
        head: :class:`~hrvision.heads.face.FaceHead` config or module; ``in_channels``
            comes from the neck's output shape (the neck's ``in_channels`` / ``align_corners`` from the backbone's),
            ``momentum`` from the backbone's BatchNorm momentum (its preset; a contradicting value is refused).
        codec: codec config or object (default :class:`~hrvision.codecs.FaceHeatmapCodec`: input 256,
            heatmap 64, sigma 1.5).
        data_preprocessor: usually ``dict(type='HRVDataPreprocessor')`` (ImageNet mean/std).
        test_cfg: ``flip_test`` (default False, the official setting), ``flip_pairs`` (deprecated: the flip test reads
            the left/right landmarks from the data's metadata; stated pairs must agree with it).
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
        if self.test_cfg.get('flip_pairs') is not None:
            self.flip_pairs()   # malformed / out-of-range pairs fail at build, not at the first image
        self.codec = build_codec(codec, default='FaceHeatmapCodec')
        self.bridge = FaceBridge(self.codec)
        self.pretrained = pretrained

    # what the config leaves to code, filled by ``prepare_config``: the training targets take the model's codec
    complete_config = staticmethod(_complete_config)

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
        """``test_cfg.flip_pairs`` checked against the head's landmark count (deprecated override; None when unset)."""
        pairs, k = self.test_cfg.get('flip_pairs'), self.num_landmarks
        if pairs is None:
            return None
        try:
            pairs = [(int(a), int(b)) for a, b in pairs]
        except (TypeError, ValueError):
            raise ConfigError(f'model.test_cfg.flip_pairs must be a list of (left, right) index pairs, got '
                              f'{pairs!r}') from None
        bad = [p for p in pairs if not all(0 <= i < (k or 0) for i in p)]
        if bad:
            raise ConfigError(f'model.test_cfg.flip_pairs {bad[0]} names landmarks outside 0..{(k or 0) - 1}')
        return pairs

    def flip_indices(self, data_samples: Sequence[Any] | None = None) -> list[int]:
        """The left/right permutation of the flip test, from the data: the samples' ``flip_indices`` (dataset
        metadata), else ``model.dataset_meta`` (the checkpoint's), else ``test_cfg.flip_pairs``, else for 98 landmarks
        the WFLW preset file; any other landmark count without metadata is refused (never a guess)."""
        from hrvision.data.metainfo import flip_indices, parse_metainfo
        k = self.num_landmarks
        found = {tuple(int(i) for i in ds.metainfo['flip_indices']) for ds in (data_samples or ())
                 if 'flip_indices' in getattr(ds, 'metainfo', {})}
        if len(found) > 1:
            raise ConfigError('the flip test got samples with different flip_indices in one batch (two datasets with '
                              'different landmark metadata)')
        source = 'the data samples'
        perm = list(found.pop()) if found else None
        meta = getattr(self, 'dataset_meta', None) or {}
        if perm is None and meta.get('flip_indices') is not None:
            perm, source = [int(i) for i in meta['flip_indices']], "the checkpoint's dataset_meta"
        own = self.flip_pairs()
        if own is not None:
            own = flip_indices(k, own)
            if perm is not None and own != perm:
                raise ConfigError(f'model.test_cfg.flip_pairs contradicts the flip pairs of {source}; leave '
                                  f'test_cfg.flip_pairs out (the flip test reads them from the dataset metadata)')
            perm = own
        if perm is None and k == 98:
            perm = parse_metainfo(dict(from_file='_base_/datasets/wflw.py'), 'the WFLW preset')['flip_indices']
        if perm is None:
            raise ConfigError(f'model.test_cfg.flip_test needs the left/right landmarks of the {k} landmarks: a face '
                              f'dataset with metainfo flip_pairs (or left_*/right_* keypoint_names), a checkpoint '
                              f'with dataset_meta, or model.test_cfg.flip_pairs')
        if len(perm) != k:
            raise ConfigError(f'the flip test has flip_indices for {len(perm)} landmarks ({source}) but '
                              f'model.head.num_landmarks={k}')
        return list(perm)

    def check_dataset_meta(self, meta: dict, source: str) -> None:
        """The head's landmark count vs the dataset's ``keypoint_names``; ``test_cfg.flip_pairs`` vs its pairs."""
        from hrvision.data.metainfo import flip_indices, keypoint_count
        num = keypoint_count(meta)
        k = self.num_landmarks
        if num is not None and k is not None and int(num) != int(k):
            raise ConfigError(f'model.head.num_landmarks={k} but the dataset ({source}) has {int(num)} keypoint_names')
        own = self.flip_pairs()
        if own is not None and meta.get('flip_indices') is not None and \
                flip_indices(k, own) != [int(i) for i in meta['flip_indices']]:
            raise ConfigError(f'model.test_cfg.flip_pairs contradicts the flip pairs of the dataset ({source}); leave '
                              f'test_cfg.flip_pairs out (the flip test reads them from the dataset metadata)')

    def predict_heatmaps(self, inputs: Tensor, flip_test: bool | None = None,
                         data_samples: Sequence[Any] | None = None) -> Tensor:
        """Heatmaps (N, K, h, w), flip-averaged with ``flip_test`` (default ``test_cfg``; the left/right landmarks
        from :meth:`flip_indices`); the mirrored crops share the forward pass with the crops (BatchNorm in eval mode:
        the numbers of two calls)."""
        flip = self.test_cfg['flip_test'] if flip_test is None else flip_test
        if not flip:
            return self.tensor_forward(inputs).float()
        perm = self.flip_indices(data_samples)
        n = inputs.shape[0]
        both = self.tensor_forward(torch.cat([inputs, inputs.flip(3)])).float()
        return (both[:n] + flip_back(both[n:], [(i, j) for i, j in enumerate(perm) if i < j])) * 0.5

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Sequence[Any] | None = None) -> list:
        if not data_samples:
            raise ValueError("mode='predict' needs data_samples with center/scale metainfo")
        return self.bridge.predict(self.predict_heatmaps(inputs, data_samples=data_samples), data_samples)

# Old names (one vocabulary per task, docs/ARCHITECTURE.md): configs and old checkpoints still build,
# with a warning once per name; the Python names stay importable.
register_alias(MODELS, 'FaceLandmarkModel', FaceModel)
FaceLandmarkModel = FaceModel
