"""``hrvision test --out DIR``: checked before any work, never a mix of two runs, with a manifest.

A non-empty DIR is refused unless ``overwrite``; then the files the previous run listed in its manifest
are removed first (files hrvision did not write are never deleted: their presence is refused before
anything is deleted). Every run
writes ``hrvision_manifest.json`` (atomically, also when the run fails) listing what it wrote.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import tempfile
import time

from .atomic import atomic_write_text
from .errors import InputError

MANIFEST = 'hrvision_manifest.json'


def _files(root: str) -> list[str]:
    out = []
    for d, _, names in os.walk(root):
        out += [osp.relpath(osp.join(d, n), root) for n in names]
    return sorted(f for f in out if f != MANIFEST)


def _clear_previous(root: str) -> None:
    path = osp.join(root, MANIFEST)
    try:
        with open(path, encoding='utf-8') as f:
            listed = json.load(f)['files']
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f'--overwrite: {root} has no readable {MANIFEST}, so it was not written by hrvision test; '
                         'nothing deleted (choose an empty or new folder)') from None
    foreign = [f for f in _files(root) if f not in set(listed)]
    if foreign:   # checked before anything is deleted
        raise InputError(f'--overwrite: {root} also holds {len(foreign)} files hrvision did not write (e.g. '
                         f'{foreign[0]}); nothing deleted, not mixing new outputs with them (choose a new folder)')
    for rel in listed:
        target = osp.normpath(osp.join(root, rel))
        if osp.commonpath([osp.abspath(target), osp.abspath(root)]) == osp.abspath(root) and osp.isfile(target):
            os.remove(target)
    os.remove(path)
    for d, _, _ in sorted(os.walk(root), key=lambda t: -len(t[0])):
        if d != root and not os.listdir(d):
            os.rmdir(d)


def prepare_out_dir(root: str, overwrite: bool = False) -> None:
    """Make ``root`` an empty, writable folder, or raise ``InputError`` naming it (before any inference)."""
    if osp.exists(root) and not osp.isdir(root):
        raise InputError(f'--out {root} exists and is not a folder')
    if osp.isdir(root) and os.listdir(root):
        if not overwrite:
            raise InputError(f'--out {root} is not empty; choose a new folder, or pass --overwrite to replace '
                             'what an earlier hrvision test wrote there')
        _clear_previous(root)
    try:
        os.makedirs(root, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root):
            pass
    except OSError as e:
        raise InputError(f'--out {root} cannot be written ({e.strerror or e})') from None


def write_manifest(root: str, **info) -> str:
    """Record every file now under ``root`` (and ``info``) in its manifest; returns the manifest path."""
    path = osp.join(root, MANIFEST)
    atomic_write_text(path, json.dumps({**info, 'written': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                                        'files': _files(root)}, indent=1) + '\n')
    return path
