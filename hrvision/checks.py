"""Argument checks at the entrance of the API, so a bad option fails at construction with one clear line
(naming the option and the allowed values) instead of late, deep inside torch.

Each check returns the value (normalised where stated) or raises :class:`hrvision.errors.InputError`
(:class:`~hrvision.errors.OptionError` for a wrong type).
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from .errors import ConfigError, InputError, OptionError, did_you_mean

# F.interpolate modes for 4-D maps (the official families use nearest or bilinear)
UPSAMPLE_MODES = ('nearest', 'bilinear', 'bicubic', 'nearest-exact', 'area')


def check_choice(where: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` must be one of ``choices`` (strings get a did-you-mean)."""
    choices = list(choices)
    if value not in choices:
        hint = did_you_mean(value, [c for c in choices if isinstance(c, str)]) if isinstance(value, str) else ''
        raise InputError(f'{where} must be one of {choices}, got {value!r}{hint}')
    return value


def merge_known(where: str, given: dict | None, defaults: dict) -> dict:
    """``defaults`` updated with ``given``, whose every key must be one of the defaults' (a misspelt option
    would otherwise be ignored without a word): ``where.key: unknown key; did you mean ...``."""
    unknown = sorted(set(given or {}) - set(defaults))
    if unknown:
        raise ConfigError(f'{where}.{unknown[0]}: unknown key{did_you_mean(unknown[0], defaults)} '
                          f'(known: {", ".join(defaults)})')
    return {**defaults, **(given or {})}


def check_bool(where: str, value: Any, allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return value
    if not isinstance(value, bool):
        raise OptionError(f'{where} must be True or False{" or None" if allow_none else ""}, got {value!r}')
    return value


def check_int(where: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """An integer (Python or numpy, not bool) in ``[low, high]``; returns a Python int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise OptionError(f'{where} must be an integer, got {value!r} ({type(value).__name__})')
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        lo = '-inf' if low is None else low
        hi = 'inf' if high is None else high
        raise InputError(f'{where} must be in [{lo}, {hi}], got {value}')
    return value


def check_number(where: str, value: Any, low: float, high: float, allow_none: bool = False) -> Any:
    """A real number in ``[low, high]`` (None allowed when ``allow_none``)."""
    if value is None and allow_none:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OptionError(f'{where} must be a number in [{low}, {high}], got {value!r} ({type(value).__name__})')
    if not low <= value <= high:  # also refuses NaN
        raise InputError(f'{where} must be in [{low}, {high}], got {value!r}')
    return value


def check_int_list(where: str, value: Any, low: int | None = None, high: int | None = None,
                   nonempty: bool = True) -> tuple[int, ...]:
    """A list/tuple of integers in ``[low, high]``; returns a tuple of Python ints."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise OptionError(f'{where} must be a list of integers, got {value!r} ({type(value).__name__})')
    out = tuple(check_int(f'{where}[{i}]', v, low, high) for i, v in enumerate(value))
    if nonempty and not out:
        raise InputError(f'{where} must not be empty')
    return out


def check_hw(where: str, hw: Any) -> tuple[int, int]:
    """An image size ``(H, W)`` of two positive integers."""
    if isinstance(hw, (str, bytes)) or not isinstance(hw, Sequence) or len(hw) != 2:
        raise InputError(f'{where} must be (H, W), two positive integers; got {hw!r}')
    h, w = (check_int(f'{where} {n}', v, low=1) for n, v in zip('HW', hw))
    return h, w


def check_image_batch(where: str, x: Any, channels: int | None = None, dtype: torch.dtype | None = None) -> None:
    """A float tensor (N, C, H, W); ``dtype`` (the weights') must match unless autocast is on.

    Cheap attribute checks only (no sync, no copy), so it can guard every forward.
    """
    if not isinstance(x, torch.Tensor):
        raise InputError(f'{where} expects a torch.Tensor image batch (N, C, H, W), got {type(x).__name__}; '
                         'convert with torch.from_numpy(a).permute(0, 3, 1, 2).float() and normalise '
                         '(or run the model\'s data_preprocessor)')
    if x.dim() != 4:
        raise InputError(f'{where} expects a 4-D image batch (N, C, H, W); got shape {tuple(x.shape)}')
    if channels is not None and x.shape[1] != channels:
        raise InputError(f'{where} was built for {channels} input channels; got {x.shape[1]} '
                         f'(input shape {tuple(x.shape)})')
    if not x.is_floating_point():
        raise InputError(f'{where} expects a normalised floating-point batch, got {x.dtype}; convert with '
                         '.float() and normalise (or run the model\'s data_preprocessor, which does both)')
    if dtype is not None and x.dtype != dtype and not torch.is_autocast_enabled(x.device.type):
        raise InputError(f'{where} has {dtype} weights but got a {x.dtype} input; convert the input with '
                         f'.to({dtype}) (or the model with .to({x.dtype}), or run under torch.autocast)')
