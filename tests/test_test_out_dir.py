"""``hrvision test --out DIR``: checked before any work, no mix with an earlier run, a manifest of what was written."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from hrvision.registry import MODELS
from hrvision.tasks.segmentation import synth as seg_synth

CFG = str(Path(__file__).parent / 'configs' / 'seg_tiny.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('outdir')
    seg_synth.write_synthetic(str(root / 'data'), n_train=2, n_val=2, size=(64, 128), seed=7)
    torch.manual_seed(0)
    torch.save({'state_dict': MODELS.build(Config.fromfile(CFG).model).state_dict()}, root / 'w.pth')
    return root


def _test(root, out, *extra):
    opts = [f'{k}.dataset.data_root={root / "data"}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    return subprocess.run([sys.executable, '-m', 'hrvision', 'test', CFG, str(root / 'w.pth'), '--work-dir',
                           str(root / 'work'), '--out', str(out), *extra, '--cfg-options', *opts],
                          capture_output=True, text=True, env=ENV, timeout=600)


def _refused(r, text):
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert r.returncode == 2 and 'Traceback' not in r.stderr and len(lines) == 1 and text in lines[0], r.stderr[-2000:]


def test_unusable_out_is_refused_before_inference(setup, tmp_path):
    (tmp_path / 'a_file').write_text('x')
    _refused(_test(setup, tmp_path / 'a_file'), 'is not a folder')
    busy = tmp_path / 'busy'
    busy.mkdir()
    (busy / 'notes.txt').write_text('mine')
    r = _test(setup, busy)
    _refused(r, 'is not empty')
    assert [p.name for p in busy.iterdir()] == ['notes.txt'] and 'Iter(test)' not in r.stdout + r.stderr
    _refused(_test(setup, busy, '--overwrite'), 'not written by hrvision test')   # never deletes foreign files
    assert (busy / 'notes.txt').read_text() == 'mine'


def test_manifest_and_overwrite_replace_only_what_hrvision_wrote(setup, tmp_path):
    out = tmp_path / 'preds'
    r = _test(setup, out)
    assert r.returncode == 0, r.stderr[-2000:]
    manifest = json.loads((out / 'hrvision_manifest.json').read_text())
    on_disk = sorted(str(p.relative_to(out)) for p in out.rglob('*')
                     if p.is_file() and p.name != 'hrvision_manifest.json')
    assert manifest['status'] == 'complete' and manifest['files'] == on_disk and len(on_disk) >= 2
    # an output of an earlier run that this run will not write again: --overwrite must remove it
    stale = out / 'labelIds' / 'old_city_000000_000000_gtFine_labelIds.png'
    stale.write_bytes(b'png')
    manifest['files'].append(str(stale.relative_to(out)))
    (out / 'hrvision_manifest.json').write_text(json.dumps(manifest))
    _refused(_test(setup, out), 'is not empty')
    r = _test(setup, out, '--overwrite')
    assert r.returncode == 0, r.stderr[-2000:]
    assert not stale.exists()
    again = json.loads((out / 'hrvision_manifest.json').read_text())
    assert again['files'] == on_disk
    # a file hrvision did not write: --overwrite refuses to mix with it, before deleting anything
    (out / 'labelIds' / 'user.txt').write_text('keep me')
    _refused(_test(setup, out, '--overwrite'), 'files hrvision did not write')
    assert (out / 'labelIds' / 'user.txt').read_text() == 'keep me'
    assert json.loads((out / 'hrvision_manifest.json').read_text())['files'] == on_disk
    assert all((out / f).is_file() for f in on_disk)
