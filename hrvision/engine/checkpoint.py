"""Checkpoint I/O for the Runner: ``weights_only=True`` loads, atomic writes, content digests.

* Every file is read with ``torch.load(weights_only=True)``; our checkpoints stay loadable that way
  because :class:`~hrvision.engine.hooks.SafeCheckpointHook` stores mmengine's message hub as plain
  data. A file that needs unpickling, or that is truncated or corrupt, gets a one-line ``CheckpointError``.
* ``atomic_save_checkpoint`` records a content digest (:mod:`hrvision.digest`), writes a temporary file
  beside the target and renames it into place. The temporary file is removed on every failure, Ctrl-C
  included (a failed write, disk full: ``WriteError`` naming the checkpoint, see :mod:`hrvision.atomic`);
  one left by a killed process (SIGKILL) is removed by :func:`clean_stale_temp_files` on the next start.
* :func:`resume_candidates` lists what ``--resume`` may use: ``last_checkpoint``'s file first, then the
  other checkpoints of the folder, newest first (the Runner takes the first that reads).
"""
from __future__ import annotations

import glob
import os
import os.path as osp
import pickle
import re

import torch

from ..atomic import atomic_path, defer_sigint, write_with
from ..digest import add_digest, verify_digest
from ..weights import CheckpointError

_INSTALLED = False
_TEMP = re.compile(r'\.tmp(\d+)$')


def load_local(filename: str, map_location=None):
    """``torch.load(weights_only=True)`` + digest check, with one-line errors naming the file."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    try:
        obj = torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f'{filename} holds pickled Python objects, so it is not unpickled (weights_only=True). hrvision\'s '
            'own checkpoints never need that; load plain weights with hrvision.load_weights. '
            f'({str(e).splitlines()[0]})') from e
    except Exception as e:  # truncated zip, wrong magic number, EOF, ...
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f'cannot read checkpoint {filename}: truncated, corrupt or not a PyTorch file '
                              f'({first})') from e
    verify_digest(obj, filename)
    return obj


def atomic_save_checkpoint(checkpoint, filename, file_client_args=None, backend_args=None) -> None:
    """Write ``checkpoint`` (with a content digest) to ``filename`` via a temp file + rename (local paths)."""
    filename = str(filename)
    if '://' in filename:  # remote backends keep mmengine's behaviour
        from mmengine.runner.checkpoint import save_checkpoint
        return save_checkpoint(checkpoint, filename, file_client_args, backend_args)
    if isinstance(checkpoint, dict):
        add_digest(checkpoint)
    os.makedirs(osp.dirname(osp.abspath(filename)), exist_ok=True)
    with defer_sigint(), atomic_path(filename) as tmp:  # Ctrl-C acts once the file is in place
        # a failed write (disk full): WriteError naming the file, not torch's "[enforce fail ...]" (atomic.py)
        write_with(filename, tmp, lambda f: torch.save(checkpoint, f), 'checkpoint',
                   'earlier checkpoints are kept; free some space and --resume', sync=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temp_files(folder: str) -> list[str]:
    """Remove ``*.tmp<pid>`` checkpoint files whose writer is gone (killed mid-save); returns their paths."""
    removed = []
    for path in glob.glob(osp.join(glob.escape(folder), '*.tmp*')):
        m = _TEMP.search(path)
        if m and osp.isfile(path) and not _alive(int(m.group(1))):
            os.remove(path)
            removed.append(path)
    return removed


def _iter_number(path: str) -> int:
    m = re.search(r'(?:iter|epoch)_(\d+)\.pth$', path)
    return int(m.group(1)) if m else -1


def resume_candidates(work_dir: str) -> list[str]:
    """Checkpoints ``--resume`` may use, in order: the one ``last_checkpoint`` names, then newest first."""
    named = []
    record = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(record):
        with open(record, encoding='utf-8') as f:
            text = f.read().strip()
        if text:
            named.append(text)
    found = sorted(glob.glob(osp.join(glob.escape(work_dir), '*.pth')), key=lambda p: (_iter_number(p),
                                                                                     osp.getmtime(p)), reverse=True)
    return named + [p for p in found if not named or osp.abspath(p) != osp.abspath(named[0])]


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
