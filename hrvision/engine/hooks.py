"""Hooks hrvision adds to every Runner."""
from __future__ import annotations

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from ..registry import HOOKS


def _plain(obj):
    """numpy arrays/scalars -> tensors/Python scalars, recursively (weights_only-safe)."""
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    return obj


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Makes the Runner's checkpoints loadable with ``torch.load(weights_only=True)``.

    mmengine pickles its ``message_hub`` (``HistoryBuffer`` objects holding numpy arrays and bound
    methods), which torch >= 2.6 refuses to unpickle by default. We store the message hub as plain
    tensors/dicts when saving and rebuild the ``HistoryBuffer`` objects when loading, so resume,
    ``load_from`` and ``hrvision test`` never need to unpickle arbitrary objects.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if isinstance(hub, dict):
            scalars = {k: {'log': torch.from_numpy(np.asarray(v.data[0], dtype=np.float64)),
                           'count': torch.from_numpy(np.asarray(v.data[1], dtype=np.float64)),
                           'max_length': int(v.max_length)}
                       for k, v in hub.get('log_scalars', {}).items()}
            checkpoint['message_hub'] = dict(log_scalars=scalars, runtime_info=_plain(hub.get('runtime_info', {})),
                                             resumed_keys=dict(hub.get('resumed_keys', {})), hrvision_plain=True)
        checkpoint['meta'] = _plain(checkpoint.get('meta', {}))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if isinstance(hub, dict) and hub.pop('hrvision_plain', False):
            # ``--resume`` loads onto the training device (cuda:N): ``.numpy()`` of a CUDA tensor raises, so
            # the saved logs go through the host first (``tolist`` of a CPU tensor; exact float64 values)
            hub['log_scalars'] = {k: HistoryBuffer(_host_list(v['log']), _host_list(v['count']), v['max_length'])
                                  for k, v in hub['log_scalars'].items()}
            hub['runtime_info'] = _host(hub.get('runtime_info', {}))   # as on a CPU load (dataset_meta, ...)
        if isinstance(checkpoint.get('meta'), dict):
            checkpoint['meta'] = _host(checkpoint['meta'])


def _host(obj):
    """Tensors of what :func:`_plain` stored (meta, runtime info) back on the CPU, recursively."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _host(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_host(v) for v in obj)
    return obj


def _host_list(value) -> list:
    """A saved log tensor (on any device) or list -> a list of Python numbers."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    return list(np.asarray(value).tolist())
