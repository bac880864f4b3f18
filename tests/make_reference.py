"""Re-create ``tests/reference/`` (the vendored, compact reference vectors) from ``../shared/reference`` and check it.

    python tests/make_reference.py [--source DIR] [--out DIR] [--check]

The copy is built in a temporary folder, every value is compared with the original (tensors bit-equal with the same
dtype, shape and nested structure, npz arrays equal, JSON bytes equal), and only then are the files moved in, each
one whole. ``--check`` writes nothing: it rebuilds, compares values, and compares the bytes with the committed copy.
The source is ``--source``, else ``$HRVISION_REFERENCE``, else ``../shared/reference``. Format: ``reference_store.py``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
if __package__ in (None, ''):  # run as a script
    sys.path.insert(0, str(REPO))
from tests import reference_store as rs  # noqa: E402

OUT = REPO / 'tests' / 'reference'
BUDGET_BYTES = 30 * 2**20
FAMILIES = ('pose', 'seg', 'face', 'cls', 'ocr')   # ocr: HRNet + OCR (seg_hrnet_ocr, SPEC §10)
TENSOR_FILES = [f'{f}_tiny_{kind}.pt' for f in FAMILIES for kind in ('state', 'io')]
PLAIN_FILES = [f'{f}_tiny_config.json' for f in FAMILIES] + ['model_stats.json',
                                                                 'pose_pipeline.npz', 'seg_pipeline.npz',
                                                                 'face_pipeline.npz']
GZ_FILES = ['pose_w32_256x192_keys.json', 'pose_w48_384x288_keys.json', 'seg_cityscapes_w48_keys.json',
            'seg_cityscapes_w18_small_v1_keys.json', 'seg_cityscapes_w18_small_v2_keys.json',
            'face_wflw_w18_keys.json', 'cls_w18_keys.json', 'cls_w18_small_v1_keys.json',
            'cls_w18_small_v2_keys.json', 'cls_w32_keys.json', 'cls_w48_keys.json', 'seg_ocr_cityscapes_w48_keys.json']
ALL_FILES = TENSOR_FILES + PLAIN_FILES + GZ_FILES


def default_source() -> Path:
    return Path(os.environ.get('HRVISION_REFERENCE') or REPO.parent / 'shared' / 'reference')


def build(source: Path, out: Path) -> None:
    """Write the compact copy of ``source`` into the empty folder ``out``."""
    from safetensors.torch import save
    pool, index = rs.TensorPool(), {}
    for name in TENSOR_FILES:
        index[name] = rs.encode(torch.load(source / name, map_location='cpu', weights_only=True), pool, name)
    rs.atomic_write(out / rs.TENSORS, save(pool.tensors))
    rs.atomic_write(out / rs.INDEX, rs.gzip_bytes(json.dumps(index, separators=(',', ':')).encode()))
    for name in PLAIN_FILES:
        rs.atomic_write(out / name, (source / name).read_bytes())
    for name in GZ_FILES:
        rs.atomic_write(out / rs.gz_name(name), rs.gzip_bytes((source / name).read_bytes()))
    lines = [f'{rs.sha256(p)}  {p.name}' for p in sorted(out.iterdir()) if p.name not in rs.UNLISTED]
    rs.atomic_write(out / rs.MANIFEST, ('\n'.join(lines) + '\n').encode())


def _same(a, b, where: str) -> list[str]:
    """Differences between two nested structures; tensors must match in dtype, shape and every bit."""
    if type(a) is not type(b):
        return [f'{where}: {type(a).__name__} != {type(b).__name__}']
    if isinstance(a, torch.Tensor):
        if a.dtype != b.dtype or a.shape != b.shape:
            return [f'{where}: {a.dtype}{tuple(a.shape)} != {b.dtype}{tuple(b.shape)}']
        bits = (lambda t: t.contiguous().view(-1).view(torch.uint8)) if a.numel() else (lambda t: t)
        return [] if torch.equal(bits(a), bits(b)) else [f'{where}: values differ']
    if isinstance(a, dict):
        if list(a) != list(b):
            return [f'{where}: keys differ (or their order)']
        return [d for k in a for d in _same(a[k], b[k], f'{where}.{k}')]
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return [f'{where}: length {len(a)} != {len(b)}']
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _same(x, y, f'{where}[{i}]')]
    return [] if a == b else [f'{where}: {a!r} != {b!r}']


def _same_npz(a: Path, b: Path, where: str) -> list[str]:
    with np.load(a) as x, np.load(b) as y:
        if sorted(x.files) != sorted(y.files):
            return [f'{where}: array names differ']
        return [f'{where}[{k}]: differs' for k in x.files
                if x[k].dtype != y[k].dtype or x[k].shape != y[k].shape or x[k].tobytes() != y[k].tobytes()]


def compare(source: Path, folder: Path) -> list[str]:
    """Every value of the originals in ``source`` that the copy in ``folder`` does not give back exactly."""
    from safetensors.torch import load_file
    problems = rs.manifest_problems(folder)
    with tempfile.TemporaryDirectory() as cache:
        for name in TENSOR_FILES:
            orig = torch.load(source / name, map_location='cpu', weights_only=True)
            problems += _same(orig, rs.load_tensors(folder, name), name)
            path = rs.materialize(folder, name, Path(cache))  # what path-taking consumers read
            if path.suffix == '.safetensors':  # safetensors keeps no key order
                problems += _same(dict(sorted(orig.items())), dict(sorted(load_file(path).items())), path.name)
            else:
                problems += _same(orig, torch.load(path, weights_only=True), path.name)
    for name in PLAIN_FILES + GZ_FILES:
        if name.endswith('.npz'):
            problems += _same_npz(source / name, folder / name, name)
        elif json.loads((source / name).read_bytes()) != rs.load_json(folder, name):
            problems.append(f'{name}: JSON differs')
    return problems


def size_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--source', type=Path, default=None, help='the original reference folder')
    ap.add_argument('--out', type=Path, default=OUT, help='the vendored copy (default tests/reference)')
    ap.add_argument('--check', action='store_true', help='write nothing; fail if the committed copy differs')
    args = ap.parse_args(argv)
    source = args.source or default_source()
    missing = [n for n in ALL_FILES if not (source / n).is_file()]
    if missing:
        print(f'error: {source}: missing reference file(s) {", ".join(missing)} '
              f'(expected the shared/reference folder; pass --source)', file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.out.parent, prefix='.reference-build-') as tmp:
        tmp = Path(tmp)
        build(source, tmp)
        problems = compare(source, tmp)
        size = size_bytes(tmp)
        if size > BUDGET_BYTES:
            problems.append(f'size {size} bytes exceeds the budget of {BUDGET_BYTES}')
        if args.check:
            for p in sorted(tmp.iterdir()):
                if not (args.out / p.name).is_file() or rs.sha256(args.out / p.name) != rs.sha256(p):
                    problems.append(f'{args.out / p.name}: differs from a fresh build')
            problems += [f'{p}: not produced by a fresh build' for p in sorted(args.out.iterdir())
                         if p.is_file() and p.name not in rs.UNLISTED and not (tmp / p.name).is_file()]
        if problems:
            print('\n'.join(f'error: {p}' for p in problems), file=sys.stderr)
            return 1
        if not args.check:
            for p in sorted(args.out.iterdir()):
                if p.is_file() and p.name not in rs.UNLISTED and not (tmp / p.name).is_file():
                    p.unlink()
            for p in sorted(tmp.iterdir(), key=lambda p: p.name == rs.MANIFEST):  # manifest last
                os.replace(p, args.out / p.name)
    print(f'{args.out}: {len(ALL_FILES)} reference files, {size / 2**20:.2f} MiB, every value equal to {source}'
          + (' (committed copy up to date)' if args.check else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
