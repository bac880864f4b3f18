"""HRNet: parallel high-to-low resolution branches with repeated multi-scale fusion.

Sun, Xiao, Liu, Wang, "Deep High-Resolution Representation Learning", CVPR 2019.

Module names equal the official checkpoints (``conv1 .. layer1, transition1-3, stage2-4``
with ``branches`` and ``fuse_layers``), so official, timm and mmpose weights load 1:1.

The four official code bases differ in a few details; each is a constructor argument here:

* ``upsample_mode`` / ``align_corners``: pose, cls and timm fuse with nearest upsampling,
  seg and face with bilinear. We always upsample to the *exact size* of the target branch,
  which equals the official ``scale_factor`` path at multiples of 32 and keeps working at
  any other input size (where the official pose/cls code crashes).
* ``norm_momentum``: 0.1 for pose, cls and the HRNet-OCR seg branch; 0.01 for face and the
  older seg branches (PyTorch convention).
* ``multi_scale_output``: the official pose net builds its last module with only the
  highest-resolution fuse row (no ``stage4.2.fuse_layers.{1,2,3}``) and returns one map. With
  ``out_indices=(k,)`` the single-scale last module builds only row ``k`` (the keys of the other rows
  are absent, row ``k`` keeps its multi-scale key): heatmaps read from the stride ``4 * 2**k`` branch
  (the article's output-resolution experiment, Figure 5), no unused parameters.
* ``exchange`` (not an official option; the article's ablation of the exchange units, Sec. 4 "repeated
  multi-scale fusion"): which modules fuse across resolutions. ``'full'`` (default) is the HRNet of the
  official code, every module fuses (W32: 1 + 4 + 3 = 8 fusions). ``'across'``: only the last module of
  each stage fuses, the units between stages (W32: 3 fusions), no exchange within a stage. ``'final'``: only
  the last module of stage 4 fuses, the one that makes the outputs (1 fusion): before it the branches run in
  parallel without exchanging anything. Interpretation of the article's terms here: the transitions are
  kept as they are in every variant (they convert channels within a branch and make the new lowest branch
  from the current lowest one, a stride-2 conv, as in the official code; they combine no resolutions), so
  a variant differs from ``'full'`` only by the ``fuse_layers`` its non-fusing modules lack, and its
  parameters are ``'full'``'s minus those layers'.
"""
from __future__ import annotations

import copy
from typing import Any, Sequence

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch import Tensor, nn

from ..checks import (UPSAMPLE_MODES, check_bool, check_choice, check_image_batch, check_int, check_int_list,
                      check_number)
from ..errors import ConfigKeyError, InputError, OptionError, UnknownNameError, did_you_mean
from ..shape import FeatureInfo, ShapeSpec

# --------------------------------------------------------------------------------------
# Variant table: the official ``MODEL.EXTRA`` structure.  ``STAGE1`` is the layer1
# bottleneck stack; STAGE2..4 are the parallel stages.
# --------------------------------------------------------------------------------------


def _stage(modules: int, blocks: Sequence[int], channels: Sequence[int], block: str = 'BASIC') -> dict:
    return dict(NUM_MODULES=modules, NUM_BRANCHES=len(channels), BLOCK=block,
                NUM_BLOCKS=list(blocks), NUM_CHANNELS=list(channels), FUSE_METHOD='SUM')


def _standard(width: int) -> dict:
    c = [width, 2 * width, 4 * width, 8 * width]
    return dict(STAGE1=_stage(1, [4], [64], 'BOTTLENECK'),
                STAGE2=_stage(1, [4, 4], c[:2]),
                STAGE3=_stage(4, [4, 4, 4], c[:3]),
                STAGE4=_stage(3, [4, 4, 4, 4], c))


VARIANTS: dict[str, dict] = {
    'hrnet_w18_small_v1': dict(STAGE1=_stage(1, [1], [32], 'BOTTLENECK'),
                               STAGE2=_stage(1, [2, 2], [16, 32]),
                               STAGE3=_stage(1, [2, 2, 2], [16, 32, 64]),
                               STAGE4=_stage(1, [2, 2, 2, 2], [16, 32, 64, 128])),
    'hrnet_w18_small_v2': dict(STAGE1=_stage(1, [2], [64], 'BOTTLENECK'),
                               STAGE2=_stage(1, [2, 2], [18, 36]),
                               STAGE3=_stage(3, [2, 2, 2], [18, 36, 72]),
                               STAGE4=_stage(2, [2, 2, 2, 2], [18, 36, 72, 144])),
    **{f'hrnet_w{w}': _standard(w) for w in (18, 30, 32, 40, 44, 48, 64)},
}
# timm's names for the small variants.
ALIASES = {'hrnet_w18_small': 'hrnet_w18_small_v1'}


# Per-family fuse conventions of the official code bases (SPEC §1.2), named so configs say one word.
# Precedence: an explicit ``upsample_mode`` / ``align_corners`` / ``norm_momentum`` argument overrides the preset;
# no preset means ``'pose'`` (nearest, momentum 0.1: also the classification and timm convention). The names are the
# task words (docs/ARCHITECTURE.md, one vocabulary per task); the older ``'seg'`` / ``'cls'`` still work, with a warning.
FUSE_PRESETS: dict[str, dict] = {
    'pose': dict(upsample_mode='nearest', align_corners=None, norm_momentum=0.1),
    'classification': dict(upsample_mode='nearest', align_corners=None, norm_momentum=0.1),
    'timm': dict(upsample_mode='nearest', align_corners=None, norm_momentum=0.1),
    'segmentation': dict(upsample_mode='bilinear', align_corners=False, norm_momentum=0.1),
    'face': dict(upsample_mode='bilinear', align_corners=False, norm_momentum=0.01),
}
OLD_PRESETS = {'seg': 'segmentation', 'cls': 'classification'}


class _Unset:
    """Marks an argument left to the preset."""

    def __repr__(self) -> str:
        return '<preset>'


UNSET: Any = _Unset()

# Which exchange units exist (HRNet(exchange=...); module docstring): the article's ablation, 'full' = HRNet.
EXCHANGES = ('full', 'across', 'final')


def preset_name(preset: str | None) -> str | None:
    """The current name of a preset (an old name warns once)."""
    if isinstance(preset, str) and preset in OLD_PRESETS:
        from ..registry import deprecated
        deprecated(f'HRNet preset {preset!r}', repr(OLD_PRESETS[preset]))
        return OLD_PRESETS[preset]
    return preset


def resolve_preset(preset: str | None, **explicit: Any) -> dict:
    """``FUSE_PRESETS[preset]`` with the explicitly given (not :data:`UNSET`) arguments on top."""
    preset = preset_name(preset)
    if preset is not None and preset not in FUSE_PRESETS:
        raise UnknownNameError(f'unknown HRNet preset {preset!r}{did_you_mean(str(preset), FUSE_PRESETS) or ";"} '
                               f'available: {", ".join(FUSE_PRESETS)}')
    out = dict(FUSE_PRESETS[preset or 'pose'])
    out.update({k: v for k, v in explicit.items() if v is not UNSET})
    return out


def tiny_extra(width: int = 4) -> dict:
    """A test-sized net (widths w..8w, one block per branch, 1/1/2 modules): fast on a CPU."""
    c = [width, 2 * width, 4 * width, 8 * width]
    return dict(STAGE1=_stage(1, [1], [8], 'BOTTLENECK'), STAGE2=_stage(1, [1, 1], c[:2]),
                STAGE3=_stage(1, [1, 1, 1], c[:3]), STAGE4=_stage(2, [1, 1, 1, 1], c))


# --------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 momentum: float = 0.1) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes, momentum=momentum)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes, momentum=momentum)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 momentum: float = 0.1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=momentum)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes, momentum=momentum)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4, momentum=momentum)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


BLOCKS = {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}


def make_layer(block: type, inplanes: int, planes: int, num_blocks: int, momentum: float,
               stride: int = 1) -> nn.Sequential:
    """A stack of residual blocks; the first one projects when the shape changes."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(nn.Conv2d(inplanes, planes * block.expansion, 1, stride, bias=False),
                                   nn.BatchNorm2d(planes * block.expansion, momentum=momentum))
    layers = [block(inplanes, planes, stride, downsample, momentum)]
    layers += [block(planes * block.expansion, planes, momentum=momentum) for _ in range(1, num_blocks)]
    return nn.Sequential(*layers)


def _conv_bn(cin: int, cout: int, momentum: float, kernel: int = 3, stride: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
                               nn.BatchNorm2d(cout, momentum=momentum)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------------------
# High-resolution module: parallel branches + exchange unit (fuse)
# --------------------------------------------------------------------------------------


class HighResolutionModule(nn.Module):
    """Runs each branch, then lets every output resolution sum all inputs (the exchange unit).

    Lower->higher resolution: 1x1 conv + BN, then upsampling to the exact target size.
    Higher->lower: a chain of stride-2 3x3 convs (BN+ReLU between, BN only at the end).
    """

    def __init__(self, block: type, num_blocks: Sequence[int], in_channels: Sequence[int],
                 num_channels: Sequence[int], multi_scale_output: bool = True, momentum: float = 0.1,
                 upsample_mode: str = 'nearest', align_corners: bool | None = None,
                 with_cp: bool = False, fuse: bool = True, out_branch: int = 0) -> None:
        """``fuse=False``: no exchange unit (branches only; outputs = branch outputs). ``multi_scale_output=False``
        builds the fuse row of ``out_branch`` only (rows before it are ``None``, so its keys stay the multi-scale
        ones) and returns that one map."""
        super().__init__()
        nb = len(num_channels)
        if not (len(num_blocks) == len(in_channels) == nb):
            raise ValueError(f'branch config lengths differ: NUM_BLOCKS={list(num_blocks)}, '
                             f'in_channels={list(in_channels)}, NUM_CHANNELS={list(num_channels)}')
        self.num_branches = nb
        self.upsample_mode = upsample_mode
        self.align_corners = align_corners if upsample_mode in ('bilinear', 'bicubic') else None
        self.with_cp = with_cp
        self.branches = nn.ModuleList(
            make_layer(block, in_channels[i], num_channels[i], num_blocks[i], momentum) for i in range(nb))
        out = [c * block.expansion for c in num_channels]
        self.out_channels = out
        self.fuse_layers = nn.ModuleList()
        if nb == 1 or not fuse:
            return
        for i in range(nb if multi_scale_output else out_branch + 1):
            if not multi_scale_output and i != out_branch:
                self.fuse_layers.append(None)
                continue
            row = nn.ModuleList()
            for j in range(nb):
                if j > i:
                    row.append(_conv_bn(out[j], out[i], momentum, kernel=1, relu=False))
                elif j == i:
                    row.append(None)
                else:
                    chain = [_conv_bn(out[j], out[j], momentum, stride=2) for _ in range(i - j - 1)]
                    chain.append(_conv_bn(out[j], out[i], momentum, stride=2, relu=False))
                    row.append(nn.Sequential(*chain))
            self.fuse_layers.append(row)
        self.relu = nn.ReLU(inplace=False)

    def _upsample(self, x: Tensor, ref: Tensor) -> Tensor:
        return F.interpolate(x, size=ref.shape[-2:], mode=self.upsample_mode, align_corners=self.align_corners)

    def _run_branch(self, branch: nn.Module, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad and self.training:
            return cp.checkpoint(branch, x, use_reentrant=False)
        return branch(x)

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = [self._run_branch(b, x) for b, x in zip(self.branches, xs)]
        if self.num_branches == 1 or not len(self.fuse_layers):
            return xs
        outs = []
        for i, row in enumerate(self.fuse_layers):
            if row is None:   # single-scale last module: only the returned branch's row exists
                continue
            y = xs[0] if i == 0 else row[0](xs[0])
            for j in range(1, self.num_branches):
                if j == i:
                    y = y + xs[j]
                elif j > i:
                    y = y + self._upsample(row[j](xs[j]), xs[i])
                else:
                    y = y + row[j](xs[j])
            outs.append(self.relu(y))
        return outs


# --------------------------------------------------------------------------------------
# The backbone
# --------------------------------------------------------------------------------------


def resolve_arch(arch: str) -> dict:
    """Variant name -> official EXTRA dict (deep copy). Unknown names list the known ones."""
    if not isinstance(arch, str):
        raise OptionError(f'HRNet arch must be a variant name (str), got {arch!r}; '
                          f'available: {", ".join(sorted(VARIANTS))}')
    name = ALIASES.get(arch, arch)
    if name not in VARIANTS:
        hint = did_you_mean(arch, list(VARIANTS) + list(ALIASES))
        raise UnknownNameError(f'unknown HRNet variant {arch!r}{hint or ";"} '
                               f'available: {", ".join(sorted(VARIANTS))}')
    return copy.deepcopy(VARIANTS[name])


def _normalise_extra(extra: dict) -> dict:
    """Accept the official yaml structure (upper-case keys), fill the hard-coded pose/face STAGE1."""
    if not isinstance(extra, dict):
        raise OptionError(f'HRNet extra must be a dict (the official MODEL.EXTRA), got {type(extra).__name__}')
    extra = {str(k).upper(): v for k, v in extra.items()}
    missing = [s for s in ('STAGE2', 'STAGE3', 'STAGE4') if s not in extra]
    if missing:
        raise ConfigKeyError(f'HRNet stage config lacks {missing}; expected the official EXTRA.STAGE2..4 structure')
    extra.setdefault('STAGE1', _stage(1, [4], [64], 'BOTTLENECK'))  # pose/face hard-code 4x Bottleneck(64)
    for n, name in enumerate(('STAGE1', 'STAGE2', 'STAGE3', 'STAGE4')):
        if not isinstance(extra[name], dict):
            raise OptionError(f'HRNet extra.{name} must be a dict, got {type(extra[name]).__name__}')
        st = {str(k).upper(): v for k, v in extra[name].items()}
        for key in ('NUM_BLOCKS', 'NUM_CHANNELS'):
            if key not in st:
                raise ConfigKeyError(f'HRNet {name} lacks {key}')
        st.setdefault('BLOCK', 'BASIC' if name != 'STAGE1' else 'BOTTLENECK')
        st.setdefault('NUM_MODULES', 1)
        check_choice(f'HRNet {name}.BLOCK', st['BLOCK'], list(BLOCKS))
        st['NUM_MODULES'] = check_int(f'HRNet {name}.NUM_MODULES', st['NUM_MODULES'], low=1)
        branches = 1 if name == 'STAGE1' else n + 1
        for key in ('NUM_BLOCKS', 'NUM_CHANNELS'):
            st[key] = list(check_int_list(f'HRNet {name}.{key}', st[key], low=1))
            if len(st[key]) != branches:
                raise InputError(f'HRNet {name}.{key} must have {branches} entr{"y" if branches == 1 else "ies"} '
                                 f'(one per branch), got {st[key]}')
        extra[name] = st
    return extra


class HRNet(nn.Module):
    """HRNet backbone returning the parallel representations at strides 4, 8, 16, 32.

    Args:
        arch: variant name from :data:`VARIANTS` (ignored when ``extra`` is given).
        extra: the official ``MODEL.EXTRA`` dict (``STAGE1`` optional, ``STAGE2..4`` required).
        in_channels: image channels.
        out_indices: which branches to return (0 = stride 4).
        preset: a family's fuse convention from :data:`FUSE_PRESETS` (``'pose'``, ``'segmentation'``, ``'face'``,
            ``'classification'``, ``'timm'``); the three arguments below override it when given.
        norm_momentum: BatchNorm momentum (PyTorch convention).
        upsample_mode / align_corners: fuse upsampling (see module docstring).
        multi_scale_output: False builds the official pose net's last module: one fuse row, that of the one
            branch in ``out_indices`` (official: 0).
        exchange: which exchange units exist, :data:`EXCHANGES` (module docstring): ``'full'`` (default, the
            official HRNet), ``'across'`` (each stage's last module), ``'final'`` (stage 4's last module only).
        frozen_stages: -1 none; 0 stem; k>=1 also layer1/transition/stage up to stage k.
        norm_eval: keep BatchNorm in eval mode while training (frozen statistics).
        with_cp: gradient checkpointing of each branch (saves memory, costs a re-forward).
    """

    strides_all = (4, 8, 16, 32)

    def __init__(self, arch: str = 'hrnet_w32', extra: dict | None = None, in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3), norm_momentum: float = UNSET,
                 upsample_mode: str = UNSET, align_corners: bool | None = UNSET,
                 multi_scale_output: bool = True, frozen_stages: int = -1, norm_eval: bool = False,
                 with_cp: bool = False, preset: str | None = None, exchange: str = 'full') -> None:
        super().__init__()
        self.exchange = check_choice('HRNet exchange', exchange, EXCHANGES)
        fuse = resolve_preset(preset, norm_momentum=norm_momentum, upsample_mode=upsample_mode,
                              align_corners=align_corners)
        norm_momentum, upsample_mode, align_corners = (fuse['norm_momentum'], fuse['upsample_mode'],
                                                       fuse['align_corners'])
        self.preset = preset_name(preset)
        in_channels = check_int('HRNet in_channels', in_channels, low=1)
        frozen_stages = check_int('HRNet frozen_stages', frozen_stages, low=-1, high=4)
        norm_momentum = check_number('HRNet norm_momentum', norm_momentum, 0.0, 1.0, allow_none=True)
        check_choice('HRNet upsample_mode', upsample_mode, UPSAMPLE_MODES)
        for opt, val in (('multi_scale_output', multi_scale_output), ('norm_eval', norm_eval), ('with_cp', with_cp)):
            check_bool(f'HRNet {opt}', val)
        check_bool('HRNet align_corners', align_corners, allow_none=True)
        out_indices = check_int_list('HRNet out_indices', out_indices, nonempty=False)
        if not multi_scale_output and len(out_indices) != 1:
            raise InputError(f'HRNet out_indices {out_indices} must name 1 output branch (0..3) with '
                             'multi_scale_output=False: the single-scale last module fuses into one branch')
        self.arch = arch if extra is None else 'custom'
        extra = _normalise_extra(resolve_arch(arch) if extra is None else extra)
        self.extra = extra
        n_branches = len(extra['STAGE4']['NUM_CHANNELS'])
        bad = [i for i in out_indices if not 0 <= i < n_branches]
        if bad or not out_indices or len(set(out_indices)) != len(out_indices):
            raise InputError(f'HRNet out_indices {out_indices} must be distinct values in 0..{n_branches - 1}: '
                             f'this backbone has {n_branches} branches')
        self.out_indices = out_indices
        self.in_channels = in_channels
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.multi_scale_output = multi_scale_output
        self.upsample_mode = upsample_mode
        self.align_corners = align_corners
        m = norm_momentum

        self.conv1 = nn.Conv2d(in_channels, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, momentum=m)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64, momentum=m)
        self.relu = nn.ReLU(inplace=True)

        s1 = extra['STAGE1']
        block1 = BLOCKS[s1['BLOCK']]
        self.layer1 = make_layer(block1, 64, s1['NUM_CHANNELS'][0], s1['NUM_BLOCKS'][0], m)
        pre = [s1['NUM_CHANNELS'][0] * block1.expansion]

        kw = dict(momentum=m, upsample_mode=upsample_mode, align_corners=align_corners, with_cp=with_cp)
        for s in (2, 3, 4):
            cfg = extra[f'STAGE{s}']
            block = BLOCKS[cfg['BLOCK']]
            cur = [c * block.expansion for c in cfg['NUM_CHANNELS']]
            setattr(self, f'transition{s - 1}', self._make_transition(pre, cur, m))
            modules, cin = [], cur
            for k in range(cfg['NUM_MODULES']):
                stage_last = k == cfg['NUM_MODULES'] - 1
                last = s == 4 and stage_last
                fuses = self.exchange == 'full' or last or (self.exchange == 'across' and stage_last)
                mod = HighResolutionModule(block, cfg['NUM_BLOCKS'], cin, cfg['NUM_CHANNELS'],
                                           multi_scale_output=multi_scale_output or not last, fuse=fuses,
                                           out_branch=out_indices[0] if last and not multi_scale_output else 0,
                                           **kw)
                modules.append(mod)
                cin = mod.out_channels
            setattr(self, f'stage{s}', nn.Sequential(*modules))
            pre = cin
        self.branch_channels = pre
        n_out = len(pre)
        # timm's form: every final-stage branch is a tap (timm features_only with feature_location='' lists the
        # stride-2 stem first, so our branch i is timm's index i + 1 with the same num_chs / reduction / module);
        # the single-scale net has one tap, the branch its last module fuses into
        taps = range(n_out) if multi_scale_output else out_indices
        self.feature_info = FeatureInfo([dict(num_chs=pre[i], reduction=self.strides_all[i], module=f'stage{i + 1}')
                                         for i in taps], out_indices if multi_scale_output else (0,))
        self._freeze_stages()

    # ---- contract ---------------------------------------------------------------------
    size_divisibility = 1  # any input size works; fusion upsamples to exact sizes

    def output_shape(self) -> dict[str, ShapeSpec]:
        """``{name: ShapeSpec(channels, stride)}`` of the returned branches, in output order."""
        return {d['module']: ShapeSpec(d['num_chs'], d['reduction'])
                for d in self.feature_info.get_dicts()}

    @property
    def out_channels(self) -> list[int]:
        """Channels of the returned branches (derived from :meth:`output_shape`)."""
        return self.feature_info.channels()

    @property
    def strides(self) -> list[int]:
        """Strides of the returned branches (derived from :meth:`output_shape`)."""
        return self.feature_info.reduction()

    @staticmethod
    def _make_transition(pre: list[int], cur: list[int], m: float) -> nn.ModuleList:
        layers = nn.ModuleList()
        for i, c in enumerate(cur):
            if i < len(pre):
                layers.append(_conv_bn(pre[i], c, m) if pre[i] != c else None)
            else:  # a new, lower-resolution branch from the previous lowest one
                chain = [_conv_bn(pre[-1], pre[-1], m, stride=2) for _ in range(i - len(pre))]
                chain.append(_conv_bn(pre[-1], c, m, stride=2))
                layers.append(nn.Sequential(*chain))
        return layers

    @staticmethod
    def _apply_transition(trans: nn.ModuleList, xs: list[Tensor]) -> list[Tensor]:
        n_pre = len(xs)
        out = []
        for i, t in enumerate(trans):
            src = xs[i] if i < n_pre else xs[-1]
            out.append(src if t is None else t(src))
        return out

    def _check_input(self, x: Tensor) -> None:
        check_image_batch('HRNet', x, self.in_channels, self.conv1.weight.dtype)

    def forward_stages(self, x: Tensor) -> list[Tensor]:
        """All final-stage branch outputs (4, or the one branch of the single-scale last module)."""
        self._check_input(x)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        xs = self.stage2(self._apply_transition(self.transition1, xs))
        xs = self.stage3(self._apply_transition(self.transition2, xs))
        xs = self.stage4(self._apply_transition(self.transition3, xs))
        return xs

    def forward(self, x: Tensor) -> list[Tensor]:
        xs = self.forward_stages(x)
        return xs if not self.multi_scale_output else [xs[i] for i in self.out_indices]

    # ---- training options ---------------------------------------------------------------
    def _stage_modules(self, k: int) -> list[nn.Module]:
        if k == 0:
            return [self.conv1, self.bn1, self.conv2, self.bn2]
        if k == 1:
            return [self.layer1]
        return [getattr(self, f'transition{k - 1}'), getattr(self, f'stage{k}')]

    def _freeze_stages(self) -> None:
        for k in range(0, min(self.frozen_stages, 4) + 1):
            for mod in self._stage_modules(k):
                mod.eval()
                for p in mod.parameters():
                    p.requires_grad_(False)

    def train(self, mode: bool = True) -> 'HRNet':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for mod in self.modules():
                if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                    mod.eval()
        return self


def build_hrnet(name: str, **overrides: Any) -> HRNet:
    """Build a registered variant by name; ``overrides`` go to :class:`HRNet`."""
    resolve_arch(name)  # raises with the list of names
    return HRNet(arch=ALIASES.get(name, name), **overrides)
