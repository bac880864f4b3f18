"""Shared test fixtures: reference vectors, tiny models, threads."""
import atexit
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
import torch

from tests import reference_store

REPO = Path(__file__).resolve().parents[1]
# The official reference vectors: $HRVISION_REFERENCE (a shared/reference folder, original names) if set, else the
# compact copy vendored in tests/reference/ (made by tests/make_reference.py; format in tests/reference_store.py).
REF = Path(os.environ.get('HRVISION_REFERENCE') or REPO / 'tests' / 'reference')
VENDORED = (REF / reference_store.INDEX).is_file()
_cache: list[Path] = []

# One intra-op thread: the test models are tiny, and OpenMP's spin-waiting makes 2 threads up to 50x
# slower whenever anything else runs on a 2-core machine (measured: 2.6 s vs 0.05 s per forward).
torch.set_num_threads(1)
# A suite started in the background by a shell without job control (`cmd &` in a script) inherits SIGINT ignored,
# and Python keeps it ignored, in itself and in every process it starts: Ctrl-C would reach nothing. The Ctrl-C
# tests (tests/test_checkpoint_faults.py) need a terminal's behaviour: Python's handler here, the default in children.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
os.environ.setdefault('OMP_NUM_THREADS', '1')  # subprocesses (CLI, torchrun) inherit it


def _missing(name: str, why: str = ''):
    pytest.fail(f'reference file missing: {REF / name}{why} (the folder is $HRVISION_REFERENCE if set, else '
                f'tests/reference, which tests/make_reference.py re-creates)', pytrace=False)


def _cache_dir() -> Path:
    """Per-process folder for files that stand for an original name (see ``reference_store.materialize``)."""
    if not _cache:
        _cache.append(Path(tempfile.mkdtemp(prefix='hrvision-ref-')))
        atexit.register(shutil.rmtree, _cache[0], True)
    return _cache[0]


def ref_path(name: str) -> Path:
    """A path for the original reference file ``name``; from the vendored copy a ``*_state.pt`` state dict comes
    back as an equivalent ``.safetensors`` file and other ``.pt`` / gzipped files as files in a temp folder."""
    p = REF / name
    if p.is_file():
        return p
    if not VENDORED:
        _missing(name)
    try:
        return reference_store.materialize(REF, name, _cache_dir())
    except reference_store.MissingReference as e:
        _missing(name, f': {e}')


def load_ref(name: str):
    """What ``torch.load`` of the original ``.pt`` file ``name`` returns."""
    if not VENDORED:
        return torch.load(ref_path(name), map_location='cpu', weights_only=True)
    try:
        return reference_store.load_tensors(REF, name)
    except reference_store.MissingReference as e:
        _missing(name, f': {e}')


def ref_json(name: str):
    """The parsed original JSON file ``name`` (vendored key listings are gzipped)."""
    if not VENDORED:
        return json.loads(ref_path(name).read_text())
    try:
        return reference_store.load_json(REF, name)
    except reference_store.MissingReference as e:
        _missing(name, f': {e}')


@pytest.fixture(autouse=True)
def _default_scope():
    from mmengine.registry import init_default_scope
    init_default_scope('hrvision')
    yield
