"""Waiting for a device before reading the clock, and interleaved timing rounds, for the speed benchmarks.

CUDA work is queued: a timer read right after a call measures the launch, not the work. The wait must name the
device being timed: ``torch.cuda.synchronize`` called without one waits for the *current* device only, so a run with
``--device cuda:1`` (current device still cuda:0) timed nothing.
"""
from __future__ import annotations

import statistics
import time
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


def interleaved_medians(calls: dict[str, Callable[[], object]], rounds: int, repeat: int = 1,
                        sync: Callable[[], None] = lambda: None) -> dict[str, float]:
    """Median seconds per call of each of ``calls`` after one warm-up call each: every call once per round (``repeat``
    times back to back, for calls too short for the clock), rounds interleaved, so that a change in the machine's
    load falls on all of them alike; ``sync`` (:func:`synchronizer`) runs before the clock is read."""
    for fn in calls.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, fn in calls.items():
            sync()
            t = time.perf_counter()
            for _ in range(repeat):
                fn()
            sync()
            times[name].append((time.perf_counter() - t) / repeat)
    return {name: statistics.median(v) for name, v in times.items()}
