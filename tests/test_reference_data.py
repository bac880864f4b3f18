"""The vendored reference vectors (tests/reference/) are intact and give exactly the official originals' values."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests import make_reference
from tests import reference_store as rs
from tests.conftest import REF, REPO, VENDORED, load_ref
from tests.make_reference import ALL_FILES, BUDGET_BYTES, TENSOR_FILES, size_bytes

COPY = REPO / 'tests' / 'reference'
SCRIPT = REPO / 'tests' / 'make_reference.py'
SOURCE = Path(os.environ.get('HRVISION_REFERENCE') or REPO.parent / 'shared' / 'reference')


def test_manifest_matches_every_file():
    assert rs.manifest_problems(COPY) == []
    assert size_bytes(COPY) <= BUDGET_BYTES


def test_without_env_the_tests_read_the_vendored_copy():
    if 'HRVISION_REFERENCE' in os.environ:
        pytest.skip('HRVISION_REFERENCE is set: the tests read that folder')
    assert REF == COPY and VENDORED


@pytest.fixture()
def copy(tmp_path):
    dst = tmp_path / 'reference'
    shutil.copytree(COPY, dst)
    return dst


def test_one_changed_value_fails_the_hash_check(copy):
    from safetensors.torch import load_file, save_file
    tensors = load_file(copy / rs.TENSORS)
    key = next(k for k, t in tensors.items() if t.dtype == torch.float32)
    tensors[key] = t = tensors[key].clone()
    t.view(-1)[0] = torch.nextafter(t.view(-1)[0], torch.tensor(float('inf')))  # one float, one ulp
    save_file(tensors, copy / rs.TENSORS)
    assert rs.manifest_problems(copy) == [f'{rs.TENSORS}: sha256 {rs.sha256(copy / rs.TENSORS)} != '
                                          f'{rs.MANIFEST} {rs.sha256(COPY / rs.TENSORS)}']


def test_missing_and_unlisted_files_fail_the_manifest_check(copy):
    (copy / 'seg_pipeline.npz').rename(copy / 'extra.npz')
    assert rs.manifest_problems(copy) == [f'seg_pipeline.npz: listed in {rs.MANIFEST} but missing',
                                          f'extra.npz: present but not listed in {rs.MANIFEST}']


def test_every_original_name_is_served(tmp_path):
    """Each original name is served from the vendored copy in the original's form (what conftest's helpers use)."""
    for name in ALL_FILES:
        assert ((COPY / name).is_file() or rs.materialize(COPY, name, tmp_path).is_file()), name
    assert rs.materialize(COPY, 'seg_tiny_state.pt', tmp_path).suffix == '.safetensors'
    io = rs.load_tensors(COPY, 'cls_tiny_io.pt')
    assert list(io) == ['input', 'output', 'stage4_outputs'] and isinstance(io['stage4_outputs'], list)
    assert torch.load(rs.materialize(COPY, 'cls_tiny_io.pt', tmp_path), weights_only=True)['output'].equal(io['output'])
    assert rs.load_json(COPY, 'cls_w18_keys.json')['num_parameters'] > 0
    with pytest.raises(pytest.fail.Exception, match='reference file missing'):
        load_ref('no_such_file.pt')


def test_vendored_copy_equals_the_originals():
    """make_reference.py --check rebuilds from ../shared/reference: every value equal, bytes equal to the commit."""
    if not all((SOURCE / n).is_file() for n in TENSOR_FILES) or (SOURCE / rs.INDEX).is_file():
        pytest.skip(f'no original reference folder at {SOURCE}: only this comparison is skipped')
    r = subprocess.run([sys.executable, str(SCRIPT), '--check', '--source', str(SOURCE)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'every value equal' in r.stdout and 'up to date' in r.stdout


def test_make_reference_refuses_a_wrong_source(tmp_path, capsys):
    assert make_reference.main(['--source', str(tmp_path), '--out', str(tmp_path / 'out')]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith(f'error: {tmp_path}: missing reference file(s) ')
    assert not (tmp_path / 'out').exists()
