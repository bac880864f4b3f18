"""Resources (issue 27): full disks, huge images, one Inferencer in two threads.

* Full disk: ``hrvision export`` (every format), ``hrvision train`` (a checkpoint save) and ``hrvision infer``
  on a disk that fills up give one line naming the file, exit 2, no temporary file, the previous checkpoint
  intact. The disk is a real small tmpfs when this process may mount one in a private mount namespace
  (``unshare -m``: writes fail with ENOSPC); elsewhere a real file-size limit (``RLIMIT_FSIZE`` with SIGXFSZ
  ignored: writes past the limit fail with EFBIG). Either way the write that fails is the real one, in the
  real process; nothing is monkeypatched.
* Huge images: PNGs whose header declares 50000x50000 / 16000x16000 pixels (72 bytes on disk) are refused from
  the header, before decoding: skipped with a line by ``hrvision infer``, an error naming the file in a dataset.
* Threads: each thread calling one Inferencer sees its own ``skipped`` list.
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
CFG = str(ROOT / 'tests' / 'configs' / 'seg_tiny.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
ENV.pop('HRVISION_DEBUG', None)
ENV.pop('HRVISION_MAX_IMAGE_PIXELS', None)

# ---- a small disk ------------------------------------------------------------------------------------------------
# Runs ARGV with DISK holding a copy of STAGE (if any) and at most SIZE bytes more (tmpfs: the whole disk; fsize:
# each file), then writes {"rc", "files": {relative path: sha256}} to RESULT (a tmpfs vanishes with the namespace).
_DISK = r'''
import hashlib, json, os, resource, shutil, signal, subprocess, sys
mode, disk, stage, size, result, *argv = sys.argv[1:]
size = int(size)
if mode == 'tmpfs':   # room for the staged files (in whole pages), and SIZE bytes more
    used = sum(-(-os.path.getsize(os.path.join(d, f)) // 4096) * 4096 + 4096
               for d, _, fs in os.walk(stage) for f in fs) if stage != '-' else 0
    subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size + used}', 'tmpfs', disk], check=True)
if stage != '-':
    shutil.copytree(stage, disk, dirs_exist_ok=True)
def limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
rc = subprocess.run(argv, preexec_fn=limit if mode == 'fsize' else None).returncode
files = {os.path.relpath(os.path.join(d, f), disk): hashlib.sha256(open(os.path.join(d, f), 'rb').read()).hexdigest()
         for d, _, fs in os.walk(disk) for f in fs}
json.dump({'rc': rc, 'files': files}, open(result, 'w'))
'''

_MODE = []


def _disk_mode() -> str:
    """'tmpfs' when a tmpfs can be mounted in a private mount namespace (root, or CAP_SYS_ADMIN), else 'fsize'."""
    if not _MODE:
        forced = os.environ.get('HRVISION_TEST_DISK')
        probe = subprocess.run(['unshare', '-m', 'sh', '-c', 'mount -t tmpfs -o size=4k tmpfs /mnt'],
                               capture_output=True) if shutil.which('unshare') and not forced else None
        _MODE.append(forced or ('tmpfs' if probe is not None and probe.returncode == 0 else 'fsize'))
    return _MODE[0]


def _on_small_disk(tmp_path, disk: Path, size: int, argv: list, stage: Path | None = None, mode: str | None = None):
    """Run ``argv`` (a subprocess) with ``disk`` small; returns (rc, stderr lines, {file: sha256} on the disk)."""
    mode = mode or _disk_mode()
    disk.mkdir(parents=True, exist_ok=True)
    script, result, err = tmp_path / 'small_disk.py', tmp_path / 'disk_result.json', tmp_path / 'stderr.txt'
    script.write_text(_DISK)
    wrap = ['unshare', '-m'] if mode == 'tmpfs' else []
    with open(err, 'w') as f:
        subprocess.run([*wrap, sys.executable, str(script), mode, str(disk), str(stage or '-'), str(size),
                        str(result), *map(str, argv)], stdout=subprocess.DEVNULL, stderr=f, env=ENV, timeout=600,
                       cwd=str(ROOT), check=True)
    out = json.loads(result.read_text())
    return out['rc'], [ln for ln in err.read_text().splitlines() if ln.strip()], out['files']


def _cause() -> str:
    """What the failed write says: a full tmpfs is ENOSPC, a file-size limit EFBIG."""
    return 'No space left on device' if _disk_mode() == 'tmpfs' else 'File too large'


def _one_line(rc, lines, *texts):
    text = '\n'.join(lines)
    assert rc == 2 and 'Traceback' not in text and 'c10::Error' not in text, text[-3000:]
    assert len(lines) == 1 and lines[0].startswith('hrvision: error: '), text[-3000:]
    for t in texts:
        assert t in lines[0], (t, lines[0])


@pytest.mark.slow
@pytest.mark.parametrize('fmt', ['pt2', 'torchscript', 'onnx'])
def test_export_to_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, fmt):
    """torch's C++ zip writer aborted the process (exit 134, a c10::Error backtrace) for pt2 and TorchScript, and
    TorchScript left a partial ``model.ts.tmp<pid>``."""
    pytest.importorskip('onnxruntime') if fmt == 'onnx' else None
    disk = tmp_path / 'disk'
    out = disk / f'model.{fmt}'
    rc, lines, files = _on_small_disk(tmp_path, disk, 24 * 1024, [
        sys.executable, '-m', 'hrvision', 'export', CFG, '--shape', '32', '64', '--out', out, '--format', fmt])
    _one_line(rc, lines, f'cannot write exported model {out}: {_cause()}', 'nothing was written')
    assert files == {}, 'neither the model nor a temporary file is left'


@pytest.fixture(scope='module')
def seg_data(tmp_path_factory):
    from hrvision.tasks.segmentation import synth
    root = tmp_path_factory.mktemp('segdata')
    synth.write_synthetic(str(root), n_train=2, n_val=2, size=(64, 128), seed=5)
    return root


def _data_opts(root) -> dict:
    o = {f'{k}.dataset.data_root': str(root) for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    return dict(o, **{'train_cfg.val_interval': 100, 'default_hooks.checkpoint.interval': 1,
                      'train_dataloader.batch_size': 1})


@pytest.mark.slow
def test_training_save_on_a_full_disk_names_the_checkpoint_and_keeps_the_previous(tmp_path, seg_data):
    """``hrvision train --resume`` on a disk that fills up at the next save: said to be 'No space left on device'
    with the checkpoint named (was ``RuntimeError: [enforce fail at inline_container.cc:672]``); iter_1.pth is
    untouched, ``last_checkpoint`` still names it, no temporary file."""
    from hrvision.engine.runner import build_runner, prepare_config
    work = tmp_path / 'work'   # the first run writes iter_1.pth where the small disk will be, then moves aside
    build_runner(prepare_config(CFG, work_dir=str(work), cfg_options=dict(
        _data_opts(seg_data), **{'train_cfg.max_iters': 1}))).train()
    stage = tmp_path / 'stage'
    work.rename(stage)
    before = hashlib.sha256((stage / 'iter_1.pth').read_bytes()).hexdigest()
    size = (stage / 'iter_1.pth').stat().st_size // 2   # room for logs, not for another checkpoint
    opts = [f'{k}={v}' for k, v in dict(_data_opts(seg_data), **{'train_cfg.max_iters': 2}).items()]
    rc, lines, files = _on_small_disk(tmp_path, work, size, [
        sys.executable, '-m', 'hrvision', 'train', CFG, '--work-dir', work, '--resume', '--cfg-options', *opts],
        stage=stage)
    _one_line(rc, lines, f'cannot write checkpoint {work / "iter_2.pth"}: {_cause()}', 'earlier checkpoints are kept')
    assert files['iter_1.pth'] == before
    assert not [f for f in files if '.tmp' in f or f.startswith('iter_2')], files
    assert (stage / 'last_checkpoint').read_text().strip() == str(work / 'iter_1.pth')
    assert files['last_checkpoint'] == hashlib.sha256((stage / 'last_checkpoint').read_bytes()).hexdigest()


# ---- models and images ---------------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def seg_model(tmp_path_factory):
    """(config, checkpoint) of the tiny seg model."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from hrvision.registry import MODELS
    init_default_scope('hrvision')
    root = tmp_path_factory.mktemp('segmodel')
    torch.manual_seed(0)
    torch.save({'state_dict': MODELS.build(Config.fromfile(CFG).model).state_dict()}, root / 'w.pth')
    return CFG, str(root / 'w.pth')


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))


def huge_png(path: Path, w: int, h: int, channels: int = 3) -> Path:
    """A well-formed PNG declaring ``w`` x ``h`` pixels with a few rows of data (decoding it would allocate the
    whole image before finding the data short; the readers must refuse it from the header)."""
    ihdr = struct.pack('>IIBBBBB', w, h, 8, {1: 0, 3: 2}[channels], 0, 0, 0)
    rows = zlib.compress((b'\0' * (1 + channels * min(w, 256))) * 8, 9)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + _chunk(b'IHDR', ihdr) + _chunk(b'IDAT', rows) + _chunk(b'IEND', b''))
    return path


def _noise(path: Path, h: int = 64, w: int = 96, seed: int = 0) -> Path:
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))
    return path


def test_infer_skips_images_whose_header_declares_too_many_pixels(tmp_path, seg_model):
    """A 50000x50000 PNG stopped the whole run with an OpenCV assertion (no image processed); a 16000x16000 one
    was decoded into 768 MB before failing. Both are skipped from their header, with a line naming the file, the
    size and the limit; the readable image gets its results."""
    cfg, ckpt = seg_model
    folder = tmp_path / 'in'
    folder.mkdir()
    _noise(folder / 'b_good.png')
    huge_png(folder / 'a_50k.png', 50000, 50000)
    huge_png(folder / 'c_16k.png', 16000, 16000)
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'infer', cfg, ckpt, str(folder), '--out',
                        str(tmp_path / 'out')], capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    skipped = [ln for ln in r.stderr.splitlines() if ln.startswith('hrvision: skipped ')]
    assert len(skipped) == 2, r.stderr[-3000:]
    for line, name, wh in zip(skipped, ('a_50k.png', 'c_16k.png'), ('50000x50000', '16000x16000')):
        assert name in line and f'declares {wh} pixels' in line and 'above the limit of 89478485 pixels' in line \
            and 'HRVISION_MAX_IMAGE_PIXELS' in line, line
    assert '1 images, 2 skipped' in r.stdout, r.stdout
    assert sorted(p.name for p in (tmp_path / 'out').rglob('*.png')) == ['b_good_color.png', 'b_good_labelIds.png']


def test_dataset_with_a_huge_image_or_label_names_the_file(tmp_path, seg_data):
    """In a dataset (read in a DataLoader worker, as train/test do), a header-declared huge image or label map is
    an error naming the file (was an OpenCV assertion naming nothing)."""
    from hrvision.errors import DataError
    from hrvision.tasks.segmentation.dataset import CityscapesDataset
    root = tmp_path / 'data'
    shutil.copytree(seg_data, root)
    img = sorted((root / 'leftImg8bit' / 'val').rglob('*.png'))[0]
    lab = sorted((root / 'gtFine' / 'val').rglob('*_labelIds.png'))[1]
    huge_png(img, 50000, 50000)
    huge_png(lab, 16000, 16000, channels=1)
    ds = CityscapesDataset(str(root), split='val', pipeline=[dict(type='LoadCityscapes')])
    loader = torch.utils.data.DataLoader(ds, num_workers=1, collate_fn=lambda x: x)
    with pytest.raises(DataError) as info:
        next(iter(loader))
    assert str(info.value) .startswith(f'cannot decode image {img}: it declares 50000x50000 pixels'), info.value
    with pytest.raises(DataError, match=rf'cannot decode label map {lab}: it declares 16000x16000 pixels'):
        ds[1]


def test_pixel_limit_is_settable(tmp_path, monkeypatch):
    """``hrvision.data.io.MAX_IMAGE_PIXELS``, else ``$HRVISION_MAX_IMAGE_PIXELS``, else Pillow's default; 0 = none."""
    import hrvision.data.io as hio
    from hrvision.errors import DataError, InputError
    path = _noise(tmp_path / 'x.png', 20, 30)
    assert hio.max_image_pixels() == hio.DEFAULT_MAX_IMAGE_PIXELS == 89478485
    assert hio.read_image(str(path)).shape == (20, 30, 3)
    monkeypatch.setenv('HRVISION_MAX_IMAGE_PIXELS', '599')
    with pytest.raises(DataError, match=r'x\.png: it declares 30x20 pixels .* above the limit of 599 pixels'):
        hio.read_image(str(path))
    monkeypatch.setenv('HRVISION_MAX_IMAGE_PIXELS', '600')
    assert hio.read_image(str(path)).shape == (20, 30, 3)
    monkeypatch.setattr(hio, 'MAX_IMAGE_PIXELS', 100)   # the attribute wins over the environment
    with pytest.raises(DataError, match='above the limit of 100 pixels'):
        hio.read_label(str(path))
    monkeypatch.setattr(hio, 'MAX_IMAGE_PIXELS', None)
    monkeypatch.setenv('HRVISION_MAX_IMAGE_PIXELS', 'lots')
    with pytest.raises(InputError, match="HRVISION_MAX_IMAGE_PIXELS='lots': expected a whole number of pixels"):
        hio.read_image(str(path))
    monkeypatch.setenv('HRVISION_MAX_IMAGE_PIXELS', '0')   # no limit: OpenCV's own limit still refuses, by name
    with pytest.raises(DataError, match=r'50k\.png: OpenCV refused it \(.*CV_IO_MAX_IMAGE_PIXELS'):
        hio.read_image(str(huge_png(tmp_path / '50k.png', 50000, 50000)))
    for ext in ('.jpg', '.bmp', '.tif', '.webp'):   # every format is checked from its header
        ok, buf = cv2.imencode(ext, np.zeros((20, 30, 3), np.uint8))
        assert hio.declared_size(buf.tobytes()) == (30, 20), ext


def test_infer_on_a_full_disk_names_the_file_it_could_not_write(tmp_path, seg_model):
    """The results fit, the --show-dir picture (noise: a large PNG) does not: the line names that file (was the bare
    OS error, no file), and no temporary file is left."""
    cfg, ckpt = seg_model
    folder = tmp_path / 'in'
    folder.mkdir()
    _noise(folder / 'big.png', 384, 512)   # ~590 KB as a PNG; its label maps are a few KB
    out = tmp_path / 'disk' / 'out'
    rc, lines, files = _on_small_disk(tmp_path, out.parent, 64 * 1024, [
        sys.executable, '-m', 'hrvision', 'infer', cfg, ckpt, folder, '--out', out, '--show-dir', out / 'show'])
    _one_line(rc, lines, f'cannot write image {out / "show" / "big.png"}: {_cause()}')
    assert not [f for f in files if '.tmp' in f or f.startswith('out/show/')], files


_WRITERS = r'''
import sys, numpy as np
from hrvision.atomic import atomic_write_text
from hrvision.data.io import write_image
from hrvision.inference.video import VideoOut
disk = sys.argv[1]
noise = np.random.default_rng(0).integers(0, 255, (256, 256, 3), np.uint8)   # ~200 KB as a PNG


def video(path):
    with VideoOut(path, 25) as v:
        for i in range(30):
            v.write(np.roll(noise, i, axis=1))


for write in (lambda: write_image(disk + '/a.png', noise), lambda: atomic_write_text(disk + '/b.json', 'x' * 100_000,
              'results file'), lambda: video(disk + '/c.mp4'), lambda: video(disk + '/d.avi')):
    try:
        write()
    except OSError as e:   # hrvision.errors.WriteError is one
        print(f'error: {e.errno} {e.filename} {e}', file=sys.stderr)
'''


def test_writers_on_a_full_disk_name_the_file_and_leave_nothing(tmp_path):
    """The writing layer of ``infer`` (``write_image``, ``atomic_write_text``, the annotated video) on a disk that
    is full: an ``OSError`` (``WriteError``) with ``errno`` and ``filename`` set and the file named in its message
    (was the bare OS error without the file), nothing left. OpenCV's video writer only warns when its writes fail:
    the broken file (no frame readable) was renamed into place as ``<video>_annotated.mp4``."""
    disk = tmp_path / 'disk'
    rc, lines, files = _on_small_disk(tmp_path, disk, 64 * 1024, [sys.executable, '-c', _WRITERS, disk])
    said = [ln for ln in lines if ln.startswith('error: ')]
    assert rc == 0 and len(said) == 4, lines[-10:]
    code = 28 if _disk_mode() == 'tmpfs' else 27
    for line, what, name in zip(said, ('image', 'results file', 'video', 'video'),
                                ('a.png', 'b.json', 'c.mp4', 'd.avi')):
        errno = code if what != 'video' else None   # OpenCV does not say why its writes failed
        assert line.startswith(f'error: {errno} {disk / name} cannot write {what} {disk / name}: '), line
        assert ('0 of its 30 frames could be read back' if what == 'video' else _cause()) in line, line
    assert files == {}


def test_one_inferencer_in_two_threads_keeps_each_threads_skipped_list(tmp_path, seg_model):
    """The ``skipped`` list (and ``stats``) of a call belongs to the calling thread: a second thread's call does not
    replace it (it was one shared list)."""
    from hrvision.inference import Inferencer
    inf = Inferencer(*seg_model, device='cpu')
    a, b = tmp_path / 'a', tmp_path / 'b'
    a.mkdir(), b.mkdir()
    _noise(a / 'good.png'), (a / 'broken.png').write_bytes(b'not an image')
    _noise(b / 'one.png', seed=1), _noise(b / 'two.png', seed=2)
    seen, errors = {}, []
    turn = {n: threading.Event() for n in ('a_called', 'b_called')}

    def worker(name, folder, wait_for, then_set):
        try:
            if wait_for:
                turn[wait_for].wait(60)
            res = inf(str(folder))
            turn[then_set].set()
            if name == 'a':
                turn['b_called'].wait(60)   # read after the other thread's call
            seen[name] = ([r['name'] for r in res], list(inf.skipped.entries), dict(inf.stats))
        except Exception as e:  # noqa: BLE001
            errors.append(e)
            for ev in turn.values():
                ev.set()

    threads = [threading.Thread(target=worker, args=('a', a, None, 'a_called')),
               threading.Thread(target=worker, args=('b', b, 'a_called', 'b_called'))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert seen['a'][0] == [str(a / 'good.png')] and [n for n, _ in seen['a'][1]] == [str(a / 'broken.png')]
    assert seen['a'][2]['images'] == 1 and seen['a'][2]['skipped'] == 1
    assert seen['b'][0] == [str(b / 'one.png'), str(b / 'two.png')] and seen['b'][1] == []
    assert seen['b'][2]['images'] == 2 and seen['b'][2]['skipped'] == 0
    # at the same time, many calls each: every thread's list is its own
    barrier, bad = threading.Barrier(2), []

    def loop(folder, want):
        barrier.wait(60)
        for _ in range(3):
            inf(str(folder))
            if [n for n, _ in inf.skipped.entries] != want:
                bad.append((folder, inf.skipped.entries))
    threads = [threading.Thread(target=loop, args=(a, [str(a / 'broken.png')])),
               threading.Thread(target=loop, args=(b, []))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert bad == []
    assert inf.skipped.entries == [] and inf.stats == {}   # this thread made no call
