"""Waiting for a device before reading the clock, for the speed benchmarks.

CUDA work is queued: a timer read right after a call measures the launch, not the work. The wait must name the
device being timed: ``torch.cuda.synchronize`` called without one waits for the *current* device only, so a run with
``--device cuda:1`` (current device still cuda:0) timed nothing.
"""
from __future__ import annotations

from typing import Callable

import torch


def synchronizer(device) -> Callable[[], None]:
    """A no-argument callable that waits for all work queued on ``device`` (a no-op on the CPU)."""
    dev = torch.device(device)
    if dev.type == 'cuda':
        return lambda: torch.cuda.synchronize(dev)
    return lambda: None


def synchronize(device) -> None:
    """Wait for all work queued on ``device`` (``'cuda:1'``, ``torch.device``, ...; nothing on the CPU)."""
    synchronizer(device)()
