"""Parameter and multiply-add counts in the official HRNet convention.

The official ``get_model_summary`` sums ``weight.numel() * output_h * output_w`` over Conv2d
modules and ``out.numel() * in_features`` over Linear modules and divides by 1024**3; the
READMEs call that "GFLOPs". We count the same way (SPEC.md §1.3).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .checks import check_hw, check_int
from .errors import InputError


@dataclass
class Count:
    params: int
    macs: int
    input_hw: tuple[int, int]

    @property
    def gflops(self) -> float:
        """Official convention: multiply-adds / 2**30."""
        return self.macs / 2 ** 30

    @property
    def gmacs(self) -> float:
        """Decimal giga multiply-adds (1e9)."""
        return self.macs / 1e9

    def as_dict(self) -> dict:
        return {**asdict(self), 'gflops': self.gflops, 'gmacs': self.gmacs}


@torch.no_grad()
def count(model: nn.Module, hw: tuple[int, int], in_channels: int | None = None) -> Count:
    """Parameters and conv/linear multiply-adds of one forward at ``hw`` (batch 1, eval mode).

    A model on the ``meta`` device is counted without computing anything (any size, no memory).
    """
    if not isinstance(model, nn.Module):
        raise InputError(f'count expects a torch.nn.Module, got {type(model).__name__}')
    hw = check_hw('count shape', hw)
    if in_channels is None:
        in_channels = getattr(model, 'in_channels', None) or getattr(getattr(model, 'backbone', None), 'in_channels', 3)
    in_channels = check_int('count in_channels', in_channels, low=1)
    macs = 0

    def conv_hook(m: nn.Conv2d, _inp, out):
        nonlocal macs
        macs += m.weight.numel() * out.shape[-2] * out.shape[-1]

    def linear_hook(m: nn.Linear, _inp, out):
        nonlocal macs
        macs += out.numel() * m.in_features

    hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    was_training = model.training
    model.eval()
    try:
        p = next(model.parameters(), None)
        if p is None:
            raise InputError(f'count: {type(model).__name__} has no parameters')
        model(torch.zeros(1, in_channels, *hw, device=p.device, dtype=p.dtype))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    return Count(params, int(macs), tuple(hw))
