"""The shape contract: what a backbone or neck outputs, stated one way, so the parts after it fill their inputs.

* :class:`ShapeSpec` (detectron2's form): ``channels`` and ``stride`` of one output; ``output_shape()`` of a
  backbone or neck is an ordered ``{name: ShapeSpec}`` in the order of its outputs.
* :class:`FeatureInfo` (timm's form): dicts with ``num_chs``, ``reduction``, ``module``, ``index``;
  ``channels()`` / ``reduction()`` / ``module_name()`` for the selected outputs.
* :func:`fill`: a part's input setting taken from the contract; a config value that contradicts it is an
  error at build time naming both values (never a silent guess, never a late shape error).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .errors import ConfigError


@dataclass(frozen=True)
class ShapeSpec:
    """One output: ``channels`` and ``stride`` (input pixels per output pixel)."""

    channels: int
    stride: int


class FeatureInfo:
    """timm's ``FeatureInfo`` for a backbone: ``info`` lists every tap, ``out_indices`` the returned ones."""

    def __init__(self, info: Sequence[dict], out_indices: Sequence[int]) -> None:
        self.info = [dict(d, index=i) for i, d in enumerate(info)]
        self.out_indices = tuple(out_indices)

    def get_dicts(self, keys: Sequence[str] | None = None, idx: int | Sequence[int] | None = None) -> list | dict:
        sel = self.out_indices if idx is None else idx
        pick = (lambda d: dict(d)) if keys is None else (lambda d: {k: d[k] for k in keys})
        return pick(self.info[sel]) if isinstance(sel, int) else [pick(self.info[i]) for i in sel]

    def get(self, key: str, idx: int | Sequence[int] | None = None):
        sel = self.out_indices if idx is None else idx
        return self.info[sel][key] if isinstance(sel, int) else [self.info[i][key] for i in sel]

    def channels(self, idx=None):
        return self.get('num_chs', idx)

    def reduction(self, idx=None):
        return self.get('reduction', idx)

    def module_name(self, idx=None):
        return self.get('module', idx)

    def __getitem__(self, item: int) -> dict:
        return self.info[item]

    def __len__(self) -> int:
        return len(self.info)

    def __repr__(self) -> str:
        return f'FeatureInfo({self.get_dicts()})'


def channels_of(shape: dict[str, ShapeSpec]) -> list[int]:
    return [s.channels for s in shape.values()]


def strides_of(shape: dict[str, ShapeSpec]) -> list[int]:
    return [s.stride for s in shape.values()]


def fill(cfg: Any, key: str, value: Any, part: str, source: str) -> Any:
    """``cfg[key] = value`` when a config dict leaves it out; an explicit different value is a
    :class:`~hrvision.errors.ConfigError` naming both. Built modules are returned unchanged."""
    if not isinstance(cfg, dict):
        return cfg
    cfg = dict(cfg)
    if key in cfg and cfg[key] is not None:
        given = list(cfg[key]) if isinstance(cfg[key], (list, tuple)) else cfg[key]
        want = list(value) if isinstance(value, (list, tuple)) else value
        if given != want:
            raise ConfigError(f'{part}.{key}={given!r} contradicts {source} ({want!r}); '
                              f'leave {part}.{key} out to take it from there')
    cfg[key] = value
    return cfg


def fuse_align_corners(backbone) -> bool | None:
    """The backbone's bilinear ``align_corners`` (the family preset), which the concat neck and the logits
    upsampling follow; None when the backbone fuses with nearest or leaves it unset."""
    if getattr(backbone, 'upsample_mode', 'nearest') in ('bilinear', 'bicubic'):
        return getattr(backbone, 'align_corners', None)
    return None


def norm_momentum(backbone) -> float | None:
    """The BatchNorm momentum of the backbone's layers (the family preset's ``norm_momentum``), which a head of
    the same family follows; None when it has no BatchNorm or its layers differ."""
    from torch import nn
    found = {m.momentum for m in backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}
    return found.pop() if len(found) == 1 else None


def fill_concat_neck(backbone, neck: Any) -> Any:
    """A concat neck config completed from the backbone: ``in_channels`` and (bilinear fuse) ``align_corners``."""
    neck = fill(neck, 'in_channels', channels_of(backbone.output_shape()), 'neck', 'the backbone outputs')
    ac = fuse_align_corners(backbone)
    return neck if ac is None else fill(neck, 'align_corners', ac, 'neck', 'the backbone fuse align_corners')


def neck_channels(neck) -> int:
    """Channels of a single-output neck (what a dense head reads)."""
    shape = neck.output_shape()
    if len(shape) != 1:
        raise ConfigError(f'{type(neck).__name__} has {len(shape)} outputs ({list(shape)}); a dense head reads one')
    return next(iter(shape.values())).channels


__all__ = ['ShapeSpec', 'FeatureInfo', 'channels_of', 'strides_of', 'fill', 'fuse_align_corners', 'norm_momentum',
           'fill_concat_neck', 'neck_channels']
