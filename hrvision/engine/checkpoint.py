"""Checkpoint I/O for the Runner: safe by default, trusted only for this run's own files, atomic writes.

* ``torch.load(weights_only=True)`` for every file, except files inside a directory that a run
  registered with :func:`trust_directory` (its work dir: our own resume checkpoints, which carry
  mmengine's ``message_hub`` objects). An untrusted file that needs unpickling gets a clear error.
* ``save_checkpoint`` writes to a temporary file in the same folder and renames it into place.
"""
from __future__ import annotations

import io
import os
import os.path as osp
import pickle

import torch

_TRUSTED: set[str] = set()
_INSTALLED = False


def trust_directory(path: str) -> None:
    """Files under ``path`` (this run's work dir) may be unpickled in full when resuming."""
    _TRUSTED.add(osp.realpath(path))


def is_trusted(filename: str) -> bool:
    real = osp.realpath(filename)
    return any(real == d or real.startswith(d + os.sep) for d in _TRUSTED)


def load_local(filename: str, map_location=None):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if is_trusted(filename):
            return torch.load(filename, map_location=map_location, weights_only=False)
        raise RuntimeError(
            f'{filename} holds pickled Python objects and is not from this run\'s work dir, so it is not '
            'unpickled (weights_only=True). Load plain weights with hrvision.load_weights or resume from '
            f'inside the work dir. ({str(e).splitlines()[0]})') from e
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
