"""Content digest of hrvision's own checkpoints: a flipped byte in tensor data is found on load.

``torch.load`` checks no checksum, so a corrupted ``iter_N.pth`` would load silently. The writer stores
the sha256 of every tensor of the checkpoint (all entries but ``meta``: weights, optimizer state, ...)
in ``meta['hrvision_digest']``; readers verify it when present (files from elsewhere have none).
"""
from __future__ import annotations

import hashlib
from typing import Any

import torch

KEY = 'hrvision_digest'


def _walk(obj: Any, path: str, h) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().to('cpu').contiguous().reshape(-1)
        h.update(f'{path}|{obj.dtype}|{tuple(obj.shape)}|'.encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b'')
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            _walk(obj[k], f'{path}/{k}', h)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _walk(v, f'{path}/{i}', h)


def checkpoint_digest(checkpoint: dict) -> str:
    """sha256 over every tensor of ``checkpoint`` except under ``meta`` (fixed order, names, dtypes, shapes)."""
    h = hashlib.sha256()
    _walk({k: v for k, v in checkpoint.items() if k != 'meta'}, '', h)
    return h.hexdigest()


def add_digest(checkpoint: dict) -> dict:
    """Record the digest in ``checkpoint['meta']`` (in place; returns it)."""
    meta = checkpoint.get('meta')
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta.pop(KEY, None)
    meta[KEY] = checkpoint_digest(checkpoint)
    checkpoint['meta'] = meta
    return checkpoint


def verify_digest(obj: Any, source: str) -> None:
    """Raise ``CheckpointError`` if ``obj`` records a digest that its tensors no longer match."""
    meta = obj.get('meta') if isinstance(obj, dict) else None
    want = meta.get(KEY) if isinstance(meta, dict) else None
    if want is None:
        return
    if checkpoint_digest(obj) != want:
        from .weights import CheckpointError
        raise CheckpointError(f'checkpoint {source} is corrupt: its tensor data no longer matches the content '
                              'digest recorded when hrvision wrote it (a changed byte: disk or copy error)')
