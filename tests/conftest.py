"""Shared test fixtures: reference vectors, tiny models, threads."""
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
REF = Path(os.environ.get('HRVISION_REFERENCE', REPO.parent / 'shared' / 'reference'))

# One intra-op thread: the test models are tiny, and OpenMP's spin-waiting makes 2 threads up to 50x
# slower whenever anything else runs on a 2-core machine (measured: 2.6 s vs 0.05 s per forward).
torch.set_num_threads(1)
os.environ.setdefault('OMP_NUM_THREADS', '1')  # subprocesses (CLI, torchrun) inherit it


def ref_path(name: str) -> Path:
    p = REF / name
    if not p.exists():
        pytest.fail(f'reference file missing: {p} (set HRVISION_REFERENCE to the shared/reference folder)')
    return p


def load_ref(name: str):
    return torch.load(ref_path(name), map_location='cpu', weights_only=True)


@pytest.fixture(autouse=True)
def _default_scope():
    from mmengine.registry import init_default_scope
    init_default_scope('hrvision')
    yield
