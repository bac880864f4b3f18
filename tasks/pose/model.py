"""Top-down pose model on the common runner: HRNet (stride-4 branch) -> PoseHead -> PoseHeatmapCodec.

The head may read another branch (``head.in_index`` into the backbone outputs; the article's 1x/2x/4x/8x
experiment, ``configs/pose/hrnet_w32_coco_256x192_{2x,4x,8x}.py``): its ``in_channels`` come from the
backbone's ``output_shape()`` at that index, and the codec's heatmap size must be the input size / that
branch's stride (checked at build, a :class:`~hrvision.errors.ConfigError` naming both).

``forward(inputs, data_samples, mode)``:

* ``'tensor'``: heatmaps (N, K, H/4, W/4), exactly what the official ``PoseHighResolutionNet`` returns;
* ``'loss'``: ``{'loss_kpt', 'acc_pose'}`` against the codec targets packed per sample;
* ``'predict'``: data samples with ``pred_keypoints`` (K, 2) in original-image pixels and ``keypoint_scores``
  (K,), decoded by the codec from the (flip-averaged) heatmaps through each crop's center/scale.

The flip test runs the original and the flipped batch through the network as *one* batch (BatchNorm is
in eval mode at test time, so the numbers are those of two separate calls, at one call's overhead).
"""
from __future__ import annotations

from typing import Sequence

import torch
from mmengine.logging import print_log
from torch import Tensor, nn

from hrvision.checks import check_bool, merge_known
from hrvision.codecs import BaseHeatmapCodec, build_codec, fill_heatmap_size
from hrvision.engine.model import TaskModel
from hrvision.engine.preprocessor import build_module
from hrvision.registry import MODELS
from hrvision.errors import ConfigError
from hrvision.shape import fill
from hrvision.structures import DataSample
from hrvision.weights import load_weights

from .config import complete_config as _complete_config
from .bridge import PoseBridge

TEST_CFG = dict(flip_test=True, channels_last=False)   # flip_test: the official test configs' setting


def check_codec_stride(codec: BaseHeatmapCodec, stride: int, source: str) -> None:
    """The codec's heatmaps must have the head input's stride (heatmap size = input size / stride), else
    targets and decoding would be off by a factor: a build error naming both."""
    want = tuple(int(round(v / stride)) for v in codec.input_size)
    if any(abs(h * stride - v) >= stride for h, v in zip(codec.heatmap_size, codec.input_size)):
        raise ConfigError(f'codec.heatmap_size={list(codec.heatmap_size)} contradicts the head input {source} '
                          f'(stride {stride}: input {list(codec.input_size)} / {stride} = {list(want)})')


@MODELS.register_module()
class PoseModel(TaskModel):
    """Args:
        backbone: HRNet config/module (pose family: nearest fuse upsampling, ``multi_scale_output=False``,
            ``out_indices=(0,)``, BN momentum 0.1).
        head: :class:`~hrvision.heads.pose.PoseHead` config/module (``in_channels`` filled in).
        codec: codec config or object (default :class:`~hrvision.codecs.PoseHeatmapCodec`).
        test_cfg: ``flip_test`` (official True), ``channels_last`` (CPU speed).
        pretrained: backbone weights loaded by :func:`hrvision.load_weights` in ``init_weights`` (the official
            recipe starts from ImageNet ``hrnet_w32-36af842e.pth``; official/timm/mmpose layouts are detected).
        data_preprocessor: ``dict(type='HRVDataPreprocessor')`` (ImageNet mean/std, RGB).
    """

    def __init__(self, backbone: dict | nn.Module, head: dict | nn.Module, codec: dict | BaseHeatmapCodec | None = None,
                 test_cfg: dict | None = None, pretrained: str | None = None,
                 data_preprocessor: dict | nn.Module | None = None, init_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = build_module(backbone)
        shapes = list(self.backbone.output_shape().items())
        index = head.get('in_index', 0) if isinstance(head, dict) else getattr(head, 'in_index', 0)
        if not isinstance(index, int) or not 0 <= index < len(shapes):
            raise ConfigError(f'head.in_index={index!r} but the backbone returns {len(shapes)} map(s) '
                              f'({", ".join(name for name, _ in shapes)})')
        name, spec = shapes[index]
        self.head = build_module(fill(head, 'in_channels', spec.channels, 'head', f'the backbone output {name}'))
        if codec is None or isinstance(codec, dict):   # no heatmap_size: input / the stride the head reads
            codec = fill_heatmap_size(dict(codec or {}), spec.stride, 'model.codec')
        self.codec = build_codec(codec)
        check_codec_stride(self.codec, spec.stride, name)
        self.bridge = PoseBridge(self.codec)
        self.test_cfg = merge_known('model.test_cfg', test_cfg, TEST_CFG)
        check_bool('model.test_cfg.flip_test', self.test_cfg['flip_test'])
        check_bool('model.test_cfg.channels_last', self.test_cfg['channels_last'])
        self.pretrained = pretrained

    # what the config leaves to code, filled by ``prepare_config``: the crops, datasets and targets take the
    # model's codec, its heatmap size follows from the branch the head reads (:mod:`.config`)
    complete_config = staticmethod(_complete_config)

    def init_weights(self) -> None:
        """Official head init (normal 0.001); backbone weights from ``pretrained`` when given."""
        super().init_weights()
        if hasattr(self.head, 'init_weights'):
            self.head.init_weights()
        if self.pretrained:
            report = load_weights(self.backbone, self.pretrained)
            print_log(f'backbone initialised from {self.pretrained}: {report}', logger='current')

    # ---- official output ------------------------------------------------------------------------
    def extract_feat(self, inputs: Tensor) -> list[Tensor]:
        """The backbone's outputs (the head reads ``head.in_index`` of them; officially the stride-4 branch)."""
        return self.backbone(inputs)

    def heatmaps(self, inputs: Tensor) -> Tensor:
        return self.head(self.extract_feat(inputs))

    tensor_forward = heatmaps

    # ---- training -------------------------------------------------------------------------------
    def loss(self, inputs: Tensor, data_samples: Sequence[DataSample]) -> dict[str, Tensor]:
        target, weight = self.bridge.targets(data_samples, inputs.device)
        return self.head.loss(self.extract_feat(inputs), target, weight)

    # ---- inference ------------------------------------------------------------------------------
    def check_dataset_meta(self, meta: dict, source: str) -> None:
        """The head's channel count must be the dataset's keypoint count (a ConfigError naming both)."""
        from hrvision.data.metainfo import keypoint_count
        k = keypoint_count(meta)
        if k and k != self.head.num_keypoints:
            raise ConfigError(f'model.head.num_keypoints={self.head.num_keypoints} but the dataset ({source}) has {k} '
                              f'keypoint_names; set model.head.num_keypoints={k}')
        if meta.get('flip_indices') is not None:
            self.head.resolve_flip_indices(meta['flip_indices'], f'the dataset ({source})')

    def flip_indices(self, data_samples: Sequence[DataSample] | None = None):
        """The flip test's permutation: each data sample's ``flip_indices`` (the dataset's, packed), else the
        checkpoint's ``model.dataset_meta`` (``hrvision infer``), else None (the head's deprecated pairs)."""
        found = [s.metainfo.get('flip_indices') for s in data_samples or ()]
        if found and all(f is not None for f in found):
            return found
        meta = getattr(self, 'dataset_meta', None) or {}
        if meta.get('flip_indices') is not None:
            return meta['flip_indices']
        if meta.get('flip_pairs') is not None:   # a checkpoint written before flip_indices was derived
            from hrvision.data.metainfo import flip_indices
            return flip_indices(self.head.num_keypoints, meta['flip_pairs'])
        return None

    def predict_heatmaps(self, inputs: Tensor, flip_test: bool | None = None, flip_indices=None) -> Tensor:
        """(Flip-averaged) heatmaps; the flipped copy shares the forward pass with the original.
        ``flip_indices``: the dataset's permutation (:meth:`flip_indices`; None: ``model.dataset_meta``'s)."""
        flip = self.test_cfg['flip_test'] if flip_test is None else flip_test
        if self.test_cfg.get('channels_last'):
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        if not flip:
            return self.heatmaps(inputs)
        both = self.heatmaps(torch.cat([inputs, inputs.flip(3)]))
        n = inputs.shape[0]
        return self.head.flip_average(both[:n], both[n:],
                                      self.flip_indices() if flip_indices is None else flip_indices)

    def predict(self, inputs: Tensor, data_samples: Sequence[DataSample] | None = None) -> list[DataSample]:
        heatmaps = self.predict_heatmaps(inputs, flip_indices=self.flip_indices(data_samples))
        n = inputs.shape[0]
        if data_samples is None:
            data_samples = [DataSample(metainfo=dict(img_shape=tuple(inputs.shape[-2:]))) for _ in range(n)]
        return self.bridge.predict(heatmaps, data_samples)
