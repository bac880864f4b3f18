"""Several processes (``torchrun ... --launcher pytorch``): what makes N processes give the numbers of 1.

* the process group: gloo on the CPU, NCCL on CUDA; hrvision initialises it (mmengine would call
  ``torch.cuda.set_device`` on a CPU machine) and destroys the one it created at the end of ``train`` / ``test``;
* the CPU model wrapper (``device_ids=None``, no forward buffer broadcast) honours the documented top-level
  ``find_unused_parameters`` as mmengine's GPU wrapper does;
* ``sync_bn`` needs GPU modules (``SyncBatchNorm`` refuses CPU ones): on the CPU it falls back, with one line, to
  the BatchNorm statistics averaging below;
* :class:`BNStatsSyncHook`: each process updates its BatchNorm running statistics from its own part of the
  batch, so without it the in-training validation (every rank its own statistics) disagrees with the saved
  checkpoint (rank 0's). Averaged after every training iteration, before the checkpoint hook saves and before
  any validation, every rank and every checkpoint hold the same statistics;
* commands that run one process (``hrvision demo``) refuse a distributed launcher instead of running N copies
  into one work dir.

Metrics' gathering is mmengine's (``collect_results``: interleave the ranks, drop ``None``, cut to the dataset
size); a sample a metric skips must leave a result that is not ``None`` (:data:`SKIPPED`), or the sampler's
padding duplicate survives the cut.
"""
from __future__ import annotations

import os
import sys

import torch
from mmengine.hooks import Hook
from torch import nn

from ..errors import ConfigError, InputError
from ..registry import HOOKS

#: a metric's result for a sample it did not score. mmengine's gathering drops ``None`` before it cuts the
#: padded results to the dataset size, so a skipped sample must leave this marker, filtered in compute_metrics.
SKIPPED = {'skipped': True}

_OWNED = False   # whether hrvision created the process group (then it destroys it)


def is_skipped(result) -> bool:
    """True for the :data:`SKIPPED` marker (and for ``None``, the marker's older form)."""
    return result is None or (isinstance(result, dict) and result.get('skipped') is True and len(result) == 1)


def without_skipped(results: list) -> list:
    """The results of the samples a metric scored."""
    return [r for r in results if not is_skipped(r)]


def launcher_world_size() -> int:
    """``WORLD_SIZE`` set by torchrun / a distributed launcher (1 when absent or unreadable)."""
    try:
        return int(os.environ.get('WORLD_SIZE', '1'))
    except ValueError:
        return 1


def refuse_under_launcher(command: str) -> None:
    """``command`` runs as one process: under a distributed launcher every process would run its own copy."""
    n = launcher_world_size()
    if n > 1:
        raise InputError(f'{command} runs as one process and takes no --launcher, but it was started by a '
                         f'distributed launcher (WORLD_SIZE={n}): run it without torchrun')


def check_launcher(launcher: str) -> None:
    """Started by torchrun with several processes but ``--launcher none``: every process would train alone."""
    n = launcher_world_size()
    if launcher == 'none' and n > 1:
        raise ConfigError(f'--launcher none, but a distributed launcher started {n} processes (WORLD_SIZE={n}): '
                          f'each would run alone into the same work dir; add --launcher pytorch')


def is_main_process() -> bool:
    return os.environ.get('RANK', '0') == '0'


def cpu_wrapper_cfg(cfg) -> dict:
    """The DDP wrapper for CPU processes: ``device_ids=None``, no buffer broadcast in forward (the statistics are
    averaged by :class:`BNStatsSyncHook`), the top-level ``find_unused_parameters`` (mmengine's documented key);
    the config's ``model_wrapper_cfg`` entries win."""
    wrapper = dict(type='MMDistributedDataParallel', device_ids=None, forward_sync_buffers=False)
    if cfg.get('find_unused_parameters') is not None:
        wrapper['find_unused_parameters'] = bool(cfg.get('find_unused_parameters'))
    return {**wrapper, **(cfg.get('model_wrapper_cfg') or {})}


def cpu_sync_bn_fallback(cfg) -> None:
    """``sync_bn`` on CPU processes: SyncBatchNorm refuses CPU modules; say what runs instead (rank 0, one line)."""
    value = cfg.get('sync_bn')
    if value is None:
        return
    cfg.sync_bn = None
    if is_main_process():
        print(f'hrvision: sync_bn={value!r} needs GPUs (SyncBatchNorm refuses CPU modules); on the CPU the '
              f'BatchNorm running statistics are averaged across processes after every iteration instead',
              file=sys.stderr, flush=True)


def init_process_group(backend: str) -> None:
    """Create the process group (unless one exists); hrvision then owns it and destroys it at the end."""
    global _OWNED
    import torch.distributed as dist
    if dist.is_initialized():
        return
    dist.init_process_group(backend)
    _OWNED = True


def release_process_group(success: bool = True) -> None:
    """Destroy the process group hrvision created (after a barrier when the run succeeded, so no rank closes
    its connections while another still talks)."""
    global _OWNED
    import torch.distributed as dist
    if not _OWNED:
        return
    _OWNED = False
    if not dist.is_initialized():
        return
    try:
        if success:
            dist.barrier()
    finally:
        dist.destroy_process_group()


def _world_size() -> int:
    import torch.distributed as dist
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def average_bn_stats(model: nn.Module) -> int:
    """Average the running mean / variance of the model's BatchNorm layers that are training, across processes.

    SyncBatchNorm layers are left alone (their statistics are global already), and so are layers in eval mode
    (frozen: their statistics do not move). Returns how many tensors were averaged (0 with one process)."""
    import torch.distributed as dist
    world = _world_size()
    if world == 1:
        return 0
    tensors = []
    for m in model.modules():
        if (isinstance(m, nn.modules.batchnorm._BatchNorm) and not isinstance(m, nn.SyncBatchNorm)
                and m.training and m.track_running_stats and m.running_mean is not None):
            tensors += [m.running_mean, m.running_var]
    groups: dict = {}
    for t in tensors:
        groups.setdefault((t.dtype, t.device), []).append(t)
    for group in groups.values():   # one all-reduce per dtype/device
        flat = torch.cat([t.reshape(-1) for t in group])
        dist.all_reduce(flat)
        flat /= world
        start = 0
        for t in group:
            t.copy_(flat[start:start + t.numel()].view_as(t))
            start += t.numel()
    return len(tensors)


@HOOKS.register_module()
class BNStatsSyncHook(Hook):
    """Averages the BatchNorm running statistics across processes after every training iteration (a no-op with
    one process): priority NORMAL runs before the ``CheckpointHook`` (VERY_LOW) in ``after_train_iter``, so every
    checkpoint holds the averaged statistics, and the validation that follows the iteration uses them on every
    rank. ``build_runner`` registers it."""

    priority = 'NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        with torch.no_grad():
            average_bn_stats(runner.model)


__all__ = ['SKIPPED', 'is_skipped', 'without_skipped', 'refuse_under_launcher', 'check_launcher', 'cpu_wrapper_cfg',
           'cpu_sync_bn_fallback', 'init_process_group', 'release_process_group', 'average_bn_stats',
           'BNStatsSyncHook']
