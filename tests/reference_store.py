"""The compact, vendored copy of the official reference vectors (``tests/reference/``): its format, read and write.

Why: the parity tests must run on a fresh clone, without ``../shared/reference`` (33 MB of pickles) beside it.
The copy holds the same values in a smaller, pickle-free form:

* every tensor of the ``*.pt`` files once, in ``tensors.safetensors`` (the tiny pose/seg/face models share most of
  their weights with the cls one, so storing each distinct tensor once saves ~10 MB); ``tensors_index.json.gz`` gives,
  per original file name, its nested dict/list/tuple structure with tensor ids and plain JSON values;
* the ``*.npz`` files byte for byte (they are already ``np.savez_compressed``), small JSON files as they are,
  the ``*_keys.json`` listings gzipped;
* ``MANIFEST.sha256`` (``sha256sum`` format) over every other file but ``README.md``.

``make_reference.py`` writes it from the originals and checks every value; the tests read it through ``conftest.py``.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch

from hrvision.atomic import atomic_path

TENSORS = 'tensors.safetensors'
INDEX = 'tensors_index.json.gz'
MANIFEST = 'MANIFEST.sha256'
UNLISTED = {MANIFEST, 'README.md'}


class MissingReference(LookupError):
    """A reference name the vendored copy does not hold, or a copy that does not match its manifest."""


# ---------------------------------------------------------------- reading

def gz_name(name: str) -> str:
    return name + '.gz'


def read_index(folder: Path) -> dict[str, Any]:
    with gzip.open(folder / INDEX, 'rt', encoding='utf-8') as f:
        return json.load(f)


def _build(node, tensors):
    """Inverse of ``_encode``: rebuild the nested structure, each tensor a fresh (writable) copy."""
    kind, value = next(iter(node.items()))
    if kind == 't':
        return tensors.get_tensor(str(value)).clone()
    if kind == 'd':
        return {k: _build(v, tensors) for k, v in value}
    if kind == 'l':
        return [_build(v, tensors) for v in value]
    if kind == 'u':
        return tuple(_build(v, tensors) for v in value)
    return value  # 'v': a plain JSON value


def load_tensors(folder: Path, name: str):
    """What ``torch.load`` of the original ``name`` (a ``.pt`` file) returns, rebuilt from the vendored copy."""
    from safetensors import safe_open
    tree = read_index(folder).get(name)
    if tree is None:
        raise MissingReference(f'{folder}: no tensor file {name!r} in {INDEX}')
    with safe_open(str(folder / TENSORS), framework='pt') as tensors:
        return _build(tree, tensors)


def load_json(folder: Path, name: str):
    """The parsed JSON of the original ``name``: the plain file, or its gzipped copy."""
    if (folder / name).is_file():
        return json.loads((folder / name).read_text(encoding='utf-8'))
    if (folder / gz_name(name)).is_file():
        with gzip.open(folder / gz_name(name), 'rt', encoding='utf-8') as f:
            return json.load(f)
    raise MissingReference(f'{folder}: no JSON file {name!r} (nor {gz_name(name)!r})')


def is_flat_state_dict(obj) -> bool:
    return isinstance(obj, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` completely or not at all."""
    with atomic_path(str(path)) as tmp, open(tmp, 'wb') as f:
        f.write(data)


def materialize(folder: Path, name: str, cache: Path) -> Path:
    """A file under ``cache`` that stands for the original ``name``, for consumers that need a path.

    State dicts become ``<stem>.safetensors`` (what ``hrvision.load_weights`` / ``from_official`` / the CLI read);
    other ``.pt`` structures a ``torch.save`` file; gzipped JSON the plain JSON.
    """
    if name.endswith('.pt'):
        obj = load_tensors(folder, name)
        if is_flat_state_dict(obj):
            from safetensors.torch import save
            out, data = cache / (name[:-3] + '.safetensors'), save(obj)
        else:
            buf = io.BytesIO()
            torch.save(obj, buf)
            out, data = cache / name, buf.getvalue()
    elif (folder / gz_name(name)).is_file():
        out, data = cache / name, gzip.decompress((folder / gz_name(name)).read_bytes())
    else:
        raise MissingReference(f'{folder}: holds no copy of {name!r}')
    if not out.is_file():
        atomic_write(out, data)
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_problems(folder: Path) -> list[str]:
    """Every way ``folder`` differs from its manifest: changed, missing or unlisted files (empty list: intact)."""
    listed = {}
    for line in (folder / MANIFEST).read_text(encoding='utf-8').splitlines():
        digest, _, name = line.partition('  ')
        listed[name] = digest
    present = {p.name for p in folder.iterdir() if p.is_file() and p.name not in UNLISTED}
    problems = [f'{n}: listed in {MANIFEST} but missing' for n in sorted(set(listed) - present)]
    problems += [f'{n}: present but not listed in {MANIFEST}' for n in sorted(present - set(listed))]
    problems += [f'{n}: sha256 {sha256(folder / n)} != {MANIFEST} {listed[n]}'
                 for n in sorted(present & set(listed)) if sha256(folder / n) != listed[n]]
    return problems


# ---------------------------------------------------------------- writing (make_reference.py)

class TensorPool:
    """Distinct tensors (same dtype, shape and bytes), numbered in order of first appearance."""

    def __init__(self):
        self.ids: dict[tuple, int] = {}
        self.tensors: dict[str, torch.Tensor] = {}

    def add(self, t: torch.Tensor) -> int:
        t = t.detach().contiguous()
        key = (str(t.dtype), tuple(t.shape), hashlib.sha256(t.view(-1).view(torch.uint8).numpy().tobytes()
                                                             if t.numel() else b'').hexdigest())
        if key not in self.ids:
            self.ids[key] = len(self.ids)
            self.tensors[str(self.ids[key])] = t
        return self.ids[key]


def encode(obj, pool: TensorPool, where: str):
    """Nested dict/list/tuple of tensors and JSON values -> JSON tree (``{'t': id}``, ``{'d': [[k, node]]}`` ...)."""
    if isinstance(obj, torch.Tensor):
        if obj.layout != torch.strided or obj.requires_grad:
            raise TypeError(f'{where}: only plain strided tensors are supported')
        return {'t': pool.add(obj)}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError(f'{where}: dict keys must be strings')
        return {'d': [[k, encode(v, pool, f'{where}.{k}')] for k, v in obj.items()]}
    if isinstance(obj, list):
        return {'l': [encode(v, pool, f'{where}[{i}]') for i, v in enumerate(obj)]}
    if isinstance(obj, tuple):
        return {'u': [encode(v, pool, f'{where}[{i}]') for i, v in enumerate(obj)]}
    if obj is None or isinstance(obj, (bool, int, str)) or (isinstance(obj, float) and obj == obj):
        return {'v': obj}
    raise TypeError(f'{where}: cannot store a {type(obj).__name__}')


def gzip_bytes(data: bytes) -> bytes:
    """Reproducible gzip (no name, mtime 0): the same input always gives the same bytes, so the manifest is stable."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename='', mode='wb', fileobj=buf, mtime=0, compresslevel=9) as f:
        f.write(data)
    return buf.getvalue()
