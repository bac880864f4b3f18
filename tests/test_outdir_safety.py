"""``--out`` folders never cost a user a file (issue 27): ``--overwrite`` refuses symlinks, edited manifests and
folders it did not make; one run per folder (a lock naming the holder's pid; a dead run's folder can be cleared);
Ctrl-C says how many images are done and leaves each image's files all or none; ``#`` is not a frame marker.

One tiny segmentation model (tests/configs/seg_tiny.py) and one earlier run (``template``) copied per test keep
the module fast; CLI behaviour goes through ``python -m hrvision`` where it matters, refusals that happen before
the model loads run in-process (``hrvision.cli.main``) to save a Python start each.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from hrvision.cli import main
from hrvision.lock import LOCK, FolderLock
from hrvision.registry import MODELS

CFG = str(Path(__file__).parent / 'configs' / 'seg_tiny.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
MANIFEST = 'hrvision_manifest.json'
NAMES = ['photo#1.png', 'b.png', 'c.png']


def _png(path, seed):
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 255, (32, 64, 3), dtype=np.uint8))


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    """The checkpoint, an input folder with '#' in its name and in a file name, the same images named plainly
    (``plain/``), a 3-frame video named v#1.avi."""
    root = tmp_path_factory.mktemp('outdir_safety')
    torch.manual_seed(0)
    torch.save({'state_dict': MODELS.build(Config.fromfile(CFG).model).state_dict()}, root / 'w.pth')
    (root / 'in#set').mkdir()
    (root / 'plain').mkdir()
    for k, n in enumerate(NAMES):
        _png(root / 'in#set' / n, k)
        _png(root / 'plain' / f'{k}.png', k)
    w = cv2.VideoWriter(str(root / 'v#1.avi'), cv2.VideoWriter_fourcc(*'MJPG'), 5, (64, 32))
    for k in range(3):
        w.write(np.random.default_rng(10 + k).integers(0, 255, (32, 64, 3), dtype=np.uint8))
    w.release()
    return root


@pytest.fixture(scope='module')
def template(model):
    """An earlier, complete ``hrvision infer`` run (copied by each test that changes it; in-process: the same
    code as the command, one Python start less)."""
    out = model / 'template'
    assert main(['infer', CFG, str(model / 'w.pth'), str(model / 'in#set'), str(model / 'v#1.avi'),
                 '--out', str(out)]) == 0
    return out


def _infer(model, out, *inputs, extra=()):
    return subprocess.run([sys.executable, '-m', 'hrvision', 'infer', CFG, str(model / 'w.pth'),
                           *map(str, inputs), '--out', str(out), *extra],
                          capture_output=True, text=True, env=ENV, timeout=600)


def _main(capsys, model, out, *extra):
    """``hrvision infer`` in-process -> (exit code, stderr lines)."""
    capsys.readouterr()
    code = main(['infer', CFG, str(model / 'w.pth'), str(model / 'in#set'), '--out', str(out), *extra])
    return code, [ln for ln in capsys.readouterr().err.strip().splitlines() if ln.strip()]


def _refused(code, lines, text):
    assert code == 2 and len(lines) == 1 and text in lines[0] and 'Traceback' not in lines[0], lines


def _refused_run(r, text):
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert r.returncode == 2 and 'Traceback' not in r.stderr and len(lines) == 1 and text in lines[0], r.stderr[-2000:]


def _copy(template, tmp_path):
    out = tmp_path / 'out'
    shutil.copytree(template, out, symlinks=True)
    return out


def _tree(root):
    """Every entry under ``root`` (relative path -> bytes, 'dir' or 'link -> target'), symlinks not followed."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = Path(d) / n
            rel = str(p.relative_to(root))
            out[rel] = (f'link -> {os.readlink(p)}' if p.is_symlink() else 'dir' if p.is_dir() else p.read_bytes())
    return out


def _manifest(out):
    return json.loads((out / MANIFEST).read_text())


def _files(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob('*') if p.is_file() and p.name != MANIFEST)


def test_hash_in_names_is_not_a_frame_marker(template):
    """Only frames of a video get a frame suffix; ``#`` in a file or folder name is kept as it is."""
    masks = sorted(p.name for p in (template / 'labelIds').iterdir())
    assert masks == sorted(['photo#1_labelIds.png', 'b_labelIds.png', 'c_labelIds.png']
                           + [f'v#1_{k:06d}_labelIds.png' for k in range(3)]), masks
    assert len(list((template / 'color').iterdir())) == 6 and (template / 'color' / 'photo#1_color.png').is_file()
    m = _manifest(template)
    assert m['status'] == 'complete' and m['files'] == _files(template) and m['pid'] > 0
    assert sorted(m['folders']) == ['color', 'labelIds'] and not (template / LOCK).exists()
    from hrvision.inference.writers import image_id   # the COCO image id of a JSON task
    assert image_id('runs#2/000000397133.jpg', 5) == 397133 and image_id('clip.mp4#000003', 5, frame=3) == 5


def test_overwrite_refuses_a_symlinked_subfolder(template, tmp_path, capsys, model):
    """``color/`` replaced by a symlink to the user's own folder: refused, nothing deleted there or written into it
    (before: the user's files were deleted and the new outputs written outside --out)."""
    out = _copy(template, tmp_path)
    mine = tmp_path / 'mine'
    shutil.move(out / 'color', mine)   # the user's folder now holds files named like hrvision's
    (mine / 'keep.txt').write_text('mine')
    (out / 'color').symlink_to(mine, target_is_directory=True)
    before, mine_before = _tree(out), _tree(mine)
    _refused_run(_infer(model, out, model / 'in#set', extra=['--overwrite']), 'holds a symlink (color -> ')
    assert _tree(mine) == mine_before and _tree(out) == before
    # a file symlink is not hrvision's either (refused in-process: before the model loads)
    out2 = _copy(template, tmp_path / 'b')
    target = out2 / 'labelIds' / 'b_labelIds.png'
    target.unlink()
    target.symlink_to(mine / 'keep.txt')
    _refused(*_main(capsys, model, out2, '--overwrite'), 'holds a symlink (labelIds/b_labelIds.png -> ')
    assert (mine / 'keep.txt').read_text() == 'mine' and target.is_symlink()


def test_overwrite_never_trusts_the_manifest(template, tmp_path, capsys, model):
    """An entry ``sub/up/outside.txt`` with ``sub/up -> ../..``, or one leading out with ``..``: refused, nothing
    deleted (before: the file outside --out was deleted)."""
    out = _copy(template, tmp_path)
    outside = tmp_path / 'outside.txt'
    outside.write_text('not yours')
    (out / 'sub').mkdir()
    (out / 'sub' / 'up').symlink_to('../..', target_is_directory=True)
    m = _manifest(out)
    m['files'].append('sub/up/outside.txt')
    m.setdefault('folders', []).append('sub')
    (out / MANIFEST).write_text(json.dumps(m))
    before = _tree(out)
    _refused(*_main(capsys, model, out, '--overwrite'), 'holds a symlink (sub/up -> ../..)')
    assert outside.read_text() == 'not yours' and _tree(out) == before
    (out / 'sub' / 'up').unlink()
    m['files'][-1] = '../outside.txt'
    (out / MANIFEST).write_text(json.dumps(m))
    before = _tree(out)
    _refused(*_main(capsys, model, out, '--overwrite'), "lists '../outside.txt', which leads outside")
    assert outside.read_text() == 'not yours' and _tree(out) == before


def test_overwrite_keeps_folders_it_did_not_make(template, tmp_path, capsys, model):
    """An empty folder of the user's inside an earlier output folder is refused and kept (before: removed); a
    folder the earlier run made (listed in its manifest) is removed by --overwrite."""
    out = _copy(template, tmp_path)
    (out / 'mine').mkdir()
    (out / 'color' / 'also_mine').mkdir()
    before = _tree(out)
    _refused(*_main(capsys, model, out, '--overwrite'), "2 folders hrvision did not make (e.g. color/also_mine/)")
    assert _tree(out) == before
    (out / 'mine').rmdir()
    (out / 'color' / 'also_mine').rmdir()
    (out / 'old' / 'deep').mkdir(parents=True)   # the earlier run's own folders, one holding an old output
    (out / 'old' / 'x.png').write_bytes(b'png')
    m = _manifest(out)
    m['folders'] = m.get('folders', []) + ['old', 'old/deep']
    m['files'].append('old/x.png')
    (out / MANIFEST).write_text(json.dumps(m))
    code, lines = _main(capsys, model, out, '--overwrite')
    assert code == 0, lines
    assert not (out / 'old').exists() and _manifest(out)['status'] == 'complete'
    assert _manifest(out)['files'] == _files(out) and len(_files(out)) == 6


HOLDER = '''import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)   # what a live hrvision run holds (hrvision.lock)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, str(os.getpid()).encode())
print('locked', flush=True)
time.sleep(600)
'''


def test_second_run_on_a_folder_in_use_is_refused(model, tmp_path, capsys):
    """Two runs, one --out (or one train --work-dir): the second is refused naming the first one's pid."""
    busy = tmp_path / 'busy'
    busy.mkdir()
    with FolderLock(str(busy)):   # this test process is "the first run"
        r = _infer(model, busy, model / 'in#set')
        _refused_run(r, f'--out {busy} is in use by another hrvision run (pid {os.getpid()})')
        assert [p.name for p in busy.iterdir()] == [LOCK]
        _refused(*_main(capsys, model, busy, '--overwrite'), f'(pid {os.getpid()})')   # in-process: same rule
        capsys.readouterr()
        code = main(['train', CFG, '--work-dir', str(busy)])
        lines = capsys.readouterr().err.strip().splitlines()
        _refused(code, lines, f'--work-dir {busy} is in use by another hrvision run (pid {os.getpid()})')
    assert list(busy.iterdir()) == []   # the lock file goes with the lock


def test_dead_run_can_be_cleared_a_live_one_cannot(template, model, tmp_path, capsys):
    """A run killed (kill -9) leaves its manifest saying "running": --overwrite clears the folder once nobody holds
    its lock (the kernel drops it with the process), and refuses while the run is alive."""
    out = _copy(template, tmp_path)
    m = _manifest(out)
    (out / MANIFEST).write_text(json.dumps(dict(m, status='running', files=[], folders=[])))  # as written first
    (out / 'color' / 'half_written_color.png').write_bytes(b'png')   # output the manifest never listed
    holder = subprocess.Popen([sys.executable, '-c', HOLDER, str(out / LOCK)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        before = _tree(out)
        _refused(*_main(capsys, model, out, '--overwrite'), f'is in use by another hrvision run (pid {holder.pid})')
        _refused(*_main(capsys, model, out), f'is in use by another hrvision run (pid {holder.pid})')
        assert _tree(out) == before
    finally:
        holder.kill()   # SIGKILL: no clean-up in the holder; its lock file stays behind
        holder.wait()
    assert (out / LOCK).exists()
    _refused(*_main(capsys, model, out), 'is not empty')
    code, lines = _main(capsys, model, out, '--overwrite')
    assert code == 0, lines
    assert not (out / 'color' / 'half_written_color.png').exists() and not (out / LOCK).exists()
    assert _manifest(out)['status'] == 'complete' and _manifest(out)['files'] == _files(out)


def _check_all_or_none(out, done):
    masks = sorted(p.name[:-len('_labelIds.png')] for p in (out / 'labelIds').iterdir())
    colours = sorted(p.name[:-len('_color.png')] for p in (out / 'color').iterdir())
    assert masks == colours and len(masks) == done, (masks, colours, done)
    m = _manifest(out)
    assert m['status'] == 'interrupted' and m['files'] == _files(out)
    assert not [p for p in out.rglob('*') if '.tmp' in p.name or p.name.startswith('.hrvision')]


INTERRUPT_BETWEEN_FILES = '''import os, signal, sys
import hrvision.tasks.segmentation.inference as seg
from hrvision.cli import main
write, masks = seg.write_image, []
def write_image(path, image):   # Ctrl-C right after the 3rd image's labelIds file, before its colour file
    write(path, image)
    if path.endswith('_labelIds.png'):
        masks.append(path)
        if len(masks) == 3:
            os.kill(os.getpid(), signal.SIGINT)
seg.write_image = write_image
sys.exit(main(sys.argv[1:]))
'''


def test_ctrl_c_between_two_files_of_an_image(model, tmp_path):
    """Each image's files are all or none: Ctrl-C after an image's labelIds file waits for its colour file
    (before: the last image had its labelIds file and not its colour file)."""
    out = tmp_path / 'out'
    r = subprocess.run([sys.executable, '-c', INTERRUPT_BETWEEN_FILES, 'infer', CFG, str(model / 'w.pth'),
                        str(model / 'plain'), str(model / 'v#1.avi'), '--out', str(out)],
                       capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 130 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    _check_all_or_none(out, 3)
    assert r.stderr.strip().splitlines()[-1] == (f'hrvision infer: interrupted after 3 of 6 images; complete '
                                                 f'results for those in {out} (manifest: interrupted)')


def test_ctrl_c_says_how_many_images_are_done(model, tmp_path):
    """A real Ctrl-C (SIGINT from outside) in the middle of a 150-image run: exit 130, the count and the folder."""
    many = tmp_path / 'many'
    many.mkdir()
    data = (model / 'plain' / '0.png').read_bytes()
    for k in range(150):
        (many / f'{k:03d}.png').write_bytes(data)
    out = tmp_path / 'out'
    p = subprocess.Popen([sys.executable, '-m', 'hrvision', 'infer', CFG, str(model / 'w.pth'), str(many),
                          '--out', str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 300
    while p.poll() is None and time.time() < deadline and not (
            (out / 'color').is_dir() and len(list((out / 'color').iterdir())) >= 2):
        time.sleep(0.02)
    assert p.poll() is None, p.communicate()[1][-2000:]
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and 'Traceback' not in err, err[-3000:]
    found = re.fullmatch(r'hrvision infer: interrupted after (\d+) of 150 images; complete results for those in '
                         + re.escape(str(out)) + r' \(manifest: interrupted\)', err.strip().splitlines()[-1])
    assert found, err[-2000:]
    done = int(found.group(1))
    assert 2 <= done < 150
    _check_all_or_none(out, done)


def test_files_are_moved_in_without_following_a_symlink(tmp_path):
    """What the writers use to put a file in --out: a folder swapped for a symlink during a run is not followed."""
    from hrvision.outdir import move_in
    out, outside = tmp_path / 'out', tmp_path / 'outside'
    out.mkdir()
    outside.mkdir()
    (out / 'color').symlink_to(outside, target_is_directory=True)
    src = tmp_path / 'f.png'
    src.write_bytes(b'x')
    with pytest.raises(OSError):
        move_in(str(src), str(out), 'color/f.png')
    assert list(outside.iterdir()) == [] and src.read_bytes() == b'x'
    assert move_in(str(src), str(out), 'labelIds/deep/f.png') == str(out / 'labelIds' / 'deep' / 'f.png')
    assert (out / 'labelIds' / 'deep' / 'f.png').read_bytes() == b'x' and not src.exists()


def test_without_flock_a_running_folder_is_never_taken_for_a_dead_runs(tmp_path, monkeypatch):
    """Where ``fcntl`` is missing (Windows) nobody can tell a live run from a dead one: the lock file's existence
    is the lock, so a second run (with ``--overwrite`` too) is refused and the user's file stays."""
    import hrvision.lock as lock_mod
    from hrvision.errors import InputError
    from hrvision.outdir import prepare_out_dir, release_out_dir, write_manifest
    monkeypatch.setattr(lock_mod, 'fcntl', None)
    out = tmp_path / 'out'
    prepare_out_dir(str(out), command='hrvision infer')      # the live run: manifest "running", lock file
    (out / 'user_notes.txt').write_text('mine')
    with pytest.raises(InputError, match=rf'is in use by another hrvision run \(pid {os.getpid()}\)'):
        prepare_out_dir(str(out), overwrite=True)
    assert (out / 'user_notes.txt').read_text() == 'mine'
    with pytest.raises(InputError, match='in use by another hrvision run'):   # the lock itself, taken directly
        FolderLock(str(out)).acquire()
    (out / 'user_notes.txt').unlink()
    write_manifest(str(out), status='complete')
    release_out_dir(str(out))                                 # the run ended: its lock file is gone
    assert not (out / LOCK).exists()
    prepare_out_dir(str(out), overwrite=True)                 # and the folder can be reused
    release_out_dir(str(out))


@pytest.mark.parametrize('raised, status', [(None, 'complete'), (KeyboardInterrupt, 'interrupted'),
                                            (ValueError, 'failed')])
def test_out_dir_run_final_manifest_and_lock(raised, status, tmp_path):
    """``test`` and ``bench posetrack`` hold ``--out`` through ``out_dir_run``: however the work ends, the manifest
    gets its final status and the folder is free again (a failed run is not left "running" and locked)."""
    from hrvision.outdir import out_dir_run
    out = tmp_path / 'out'
    try:
        with out_dir_run(str(out), command='hrvision test'):
            assert json.loads((out / MANIFEST).read_text())['status'] == 'running'
            (out / 'metrics.json').write_text('{}')
            if raised:
                raise raised()
    except (KeyboardInterrupt, ValueError):
        pass
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest['status'] == status and manifest['files'] == ['metrics.json']
    assert not (out / LOCK).exists()
    with out_dir_run(str(out), overwrite=True, command='hrvision test'):   # the same process may take it again
        pass
