"""hrvision's HRNet as a segmentation-models-pytorch encoder: ``smp.Unet('hrvision_hrnet_w48', ...)``.

Importing this module registers every variant as ``hrvision_<variant>`` in ``smp.encoders.encoders``
(``register()`` again is harmless). ``import hrvision`` does not import it: smp costs seconds to import.

smp's encoder contract (0.6.0, ``EncoderMixin``), and how HRNet meets it:

* ``forward(x)`` returns ``depth + 1`` maps, finest first: the input itself (stride 1), the stem's first
  conv-BN-ReLU (stride 2, 64 channels; HRNet has no other stride-2 map), then the four HRNet branches
  after the last stage (strides 4, 8, 16, 32), each already fused with all resolutions.
  ``depth`` < 5 drops the coarsest maps (the whole net still runs: every branch feeds every other).
* ``out_channels`` = ``[in_channels, 64, C, 2C, 4C, 8C][:depth + 1]``; ``output_stride`` as smp defines it.
* ``set_in_channels`` patches the stem conv (smp's rule) and the backbone's input check.
* ``make_dilated(16 | 8)`` keeps branches 3 (and 2) at the coarsest allowed stride: their stride-2 convs
  become stride 1 and every 3x3 conv working at those branches is dilated by nominal stride / output
  stride (DeepLab's rule, weights unchanged). The exchange units still work because fusion upsamples to
  the exact branch size. This is what DeepLabV3 / DeepLabV3+ / PAN ask for.
* Weights: the encoder holds the backbone as ``.backbone``, so ``hrvision.load_weights(model.encoder,
  path)`` takes official / timm / mmpose / hrvision checkpoints with the usual report; smp's own
  ``save_pretrained`` / ``from_pretrained`` round-trip the whole model. ``encoder_weights='imagenet'`` is timm's
  default ImageNet tag of the variant, fetched by smp through the hub cache (``HF_HUB_OFFLINE`` honoured) and
  loaded through ``load_weights``.
"""
from __future__ import annotations

from typing import Sequence

import segmentation_models_pytorch as smp
from segmentation_models_pytorch.encoders._base import EncoderMixin
from torch import Tensor, nn

from ..backbones.hrnet import ALIASES, VARIANTS, HRNet
from ..checks import check_int
from ..errors import InputError

PREFIX = 'hrvision_'
STEM_CHANNELS = 64


def _stride_of_branch(k: int) -> int:
    return 4 * 2 ** k


class HRNetEncoder(nn.Module, EncoderMixin):
    """HRNet wrapped for smp. ``arch``/``extra`` and other keywords go to :class:`HRNet`."""

    _is_torch_scriptable = False  # HRNet's branch lists are plain Python lists

    def __init__(self, arch: str = 'hrnet_w18', depth: int = 5, output_stride: int = 32, **hrnet_kwargs) -> None:
        super().__init__()
        depth = check_int('smp encoder depth', depth, low=1, high=5)
        self.backbone = HRNet(arch=arch, **hrnet_kwargs)
        self._depth = depth
        self._in_channels = self.backbone.in_channels
        self._output_stride = 32
        self._out_channels = [self._in_channels, STEM_CHANNELS, *self.backbone.branch_channels]
        if output_stride != 32:
            self.make_dilated(output_stride)

    def forward(self, x: Tensor) -> list[Tensor]:
        b = self.backbone
        b._check_input(x)
        stem = b.relu(b.bn1(b.conv1(x)))
        y = b.relu(b.bn2(b.conv2(stem)))
        xs = [b.layer1(y)]
        for s in (2, 3, 4):
            xs = getattr(b, f'stage{s}')(b._apply_transition(getattr(b, f'transition{s - 1}'), xs))
        return [x, stem, *xs][: self._depth + 1]

    def set_in_channels(self, in_channels: int, pretrained: bool = True) -> None:
        in_channels = check_int('smp encoder in_channels', in_channels, low=1)
        if in_channels == self._in_channels:
            return
        if self._in_channels != 3:
            raise InputError(f'smp encoder in_channels: set once from 3, already {self._in_channels}')
        super().set_in_channels(in_channels, pretrained=pretrained)
        self._in_channels = in_channels
        self._out_channels[0] = in_channels
        self.backbone.in_channels = in_channels

    def get_stages(self) -> dict[int, Sequence[nn.Module]]:
        """Modules whose output lives at nominal stride 16 / 32 (what ``make_dilated`` dilates)."""
        stages: dict[int, list[nn.Module]] = {16: [], 32: []}

        def add(stride: int, mod: nn.Module | None) -> None:
            if mod is not None and stride in stages:
                stages[stride].append(mod)

        b = self.backbone
        n_pre = 1
        for s in (2, 3, 4):
            for i, t in enumerate(getattr(b, f'transition{s - 1}')):
                if i < n_pre:
                    add(_stride_of_branch(i), t)
                else:  # chain from the previous lowest branch: element e makes branch n_pre + e
                    for e, mod in enumerate(t):
                        add(_stride_of_branch(n_pre + e), mod)
            for module in getattr(b, f'stage{s}'):
                for k, branch in enumerate(module.branches):
                    add(_stride_of_branch(k), branch)
                for i, row in enumerate(module.fuse_layers):
                    for j in range(i):  # higher -> lower resolution: stride-2 chain, element e makes j + e + 1
                        for e, mod in enumerate(row[j]):
                            add(_stride_of_branch(j + e + 1), mod)
            n_pre = len(getattr(b, f'transition{s - 1}'))
        return stages

    def make_dilated(self, output_stride: int) -> None:
        if output_stride == self._output_stride:  # smp's get_encoder asks again after the constructor did it
            return
        if output_stride not in (8, 16):
            raise InputError(f'smp encoder output_stride: HRNet can keep its coarsest maps at stride 16 or 8 '
                             f'(or 32, no dilation), got {output_stride!r}')
        if self._output_stride != 32:
            raise InputError(f'smp encoder output_stride: already dilated to {self._output_stride}')
        if not self.backbone.multi_scale_output:
            raise InputError('smp encoder: make_dilated needs multi_scale_output=True')
        super().make_dilated(output_stride)
        self._output_stride = output_stride

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """This encoder's own keys as torch loads them; any other HRNet layout (official / timm / mmpose, e.g.
        smp's ``encoder_weights`` download) through :func:`hrvision.load_weights`: a load that leaves a weight
        unset is refused, keys with no place (the ImageNet classifier) come back as ``unexpected_keys``."""
        from ..weights import load_weights
        if all(k.startswith('backbone.') for k in state_dict):
            return super().load_state_dict(state_dict, strict=strict, assign=assign)
        report = load_weights(self, state_dict, name='smp encoder weights')
        return nn.modules.module._IncompatibleKeys([], report.unexpected_keys)


def encoder_names() -> list[str]:
    """The smp encoder names this module registers."""
    return [PREFIX + n for n in list(VARIANTS) + list(ALIASES)]


def register() -> list[str]:
    """Add every HRNet variant to ``smp.encoders.encoders``; returns the names (idempotent)."""
    from ..hub import resolve_tag
    for name in list(VARIANTS) + list(ALIASES):
        arch = ALIASES.get(name, name)
        smp.encoders.encoders[PREFIX + name] = {
            'encoder': HRNetEncoder,
            # encoder_weights='imagenet': timm's default ImageNet weights of the variant from the hub (its cache)
            'pretrained_settings': {'imagenet': {'repo_id': resolve_tag(arch, True), 'revision': None}},
            'params': {'arch': arch},
        }
    return encoder_names()


register()

__all__ = ['HRNetEncoder', 'register', 'encoder_names', 'PREFIX']
