"""Checkpoint I/O for the Runner: ``weights_only=True`` loads and atomic writes.

* Every file is read with ``torch.load(weights_only=True)``; our checkpoints stay loadable that way
  because :class:`~hrvision.engine.hooks.SafeCheckpointHook` stores mmengine's message hub as plain
  data. A file that needs unpickling gets a clear error instead.
* ``save_checkpoint`` writes to a temporary file in the same folder and renames it into place.
"""
from __future__ import annotations

import io
import os
import os.path as osp
import pickle

import torch

_INSTALLED = False


def load_local(filename: str, map_location=None):
    """``torch.load(weights_only=True)`` with errors naming the file."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise RuntimeError(
            f'{filename} holds pickled Python objects, so it is not unpickled (weights_only=True). hrvision\'s '
            'own checkpoints never need that; load plain weights with hrvision.load_weights. '
            f'({str(e).splitlines()[0]})') from e
    except (EOFError, RuntimeError) as e:
        raise RuntimeError(f'cannot read checkpoint {filename}: truncated or not a PyTorch file ({e})') from e


def atomic_save_checkpoint(checkpoint, filename, file_client_args=None, backend_args=None) -> None:
    """Write ``checkpoint`` to ``filename`` via a temp file + rename (local paths)."""
    filename = str(filename)
    if '://' in filename:  # remote backends keep mmengine's behaviour
        from mmengine.runner.checkpoint import save_checkpoint
        return save_checkpoint(checkpoint, filename, file_client_args, backend_args)
    os.makedirs(osp.dirname(osp.abspath(filename)), exist_ok=True)
    tmp = f'{filename}.tmp{os.getpid()}'
    with open(tmp, 'wb') as f:
        buf = io.BytesIO()
        torch.save(checkpoint, buf)
        f.write(buf.getbuffer())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, filename)


def install_checkpoint_fixes() -> None:
    """Register the safe local loader and the atomic writer with mmengine (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    import mmengine.runner.runner as runner_mod
    from mmengine.runner.checkpoint import CheckpointLoader

    def load_from_local(filename, map_location):  # the name matters: mmengine logs name[10:]
        return load_local(filename, map_location)

    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    runner_mod.save_checkpoint = atomic_save_checkpoint
    _INSTALLED = True
