"""``--out DIR`` of ``hrvision test``, ``infer`` and ``bench``: checked before any work, one run at a time, never a
mix of two runs, never a file of the user's touched, with a manifest.

* A run takes the folder's lock (:mod:`hrvision.lock`): a second run on the same folder is refused naming the
  first one's pid. ``hrvision_manifest.json`` is written first with ``status: running`` (and the pid), and again
  at the end (``complete`` / ``failed`` / ``interrupted``) listing every file and folder the run made.
* A non-empty DIR is refused unless ``overwrite``. Then, before anything is deleted, the whole tree is checked:
  a symlink anywhere in it (file or folder), or anything but regular files and folders, is not hrvision's and
  the folder is refused; every manifest entry must resolve (``realpath``) inside the resolved DIR without a
  symlink on the way; a file or folder the manifest does not list is the user's and the folder is refused
  (also an empty folder: the user's folders are never removed, nor mixed with new outputs). A manifest still
  saying ``running`` while nobody holds the lock belongs to a run that died (kill -9, power loss): everything
  under DIR is that run's output and is cleared. Files are removed through folder handles opened without
  following symlinks, so a folder swapped for a symlink meanwhile is not followed either.
* After :func:`prepare_out_dir` the tree holds no symlink; writers put files in place with :func:`move_in`,
  which creates and walks folders without following symlinks, so nothing is written outside DIR.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import stat
import time
from contextlib import contextmanager
from typing import Iterator

from .atomic import atomic_write_text, defer_sigint
from .errors import InputError, caused_by_ctrl_c
from .lock import LOCK, FolderLock, held_by

MANIFEST = 'hrvision_manifest.json'
STAGE = '.hrvision-stage'   # per-image staging folders of ``hrvision infer`` (see writers.py)
FINAL = ('complete', 'failed', 'interrupted')
_HELD: dict[str, FolderLock] = {}   # resolved folder -> the lock this process holds on it
_DIR_FLAGS = os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0) | getattr(os, 'O_NOFOLLOW', 0)


def _scan(real: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """(regular files, folders, symlinks, other things) under ``real``, relative, symlinks never followed.
    Not listed: the top manifest and lock file."""
    files, dirs, links, odd = [], [], [], []
    for d, subdirs, names in os.walk(real):
        for n in subdirs + names:
            p = osp.join(d, n)
            rel = osp.relpath(p, real)
            try:
                mode = os.lstat(p).st_mode
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(mode):
                links.append(rel)
            elif stat.S_ISDIR(mode):
                dirs.append(rel)
            elif not stat.S_ISREG(mode):
                odd.append(rel)
            elif rel not in (MANIFEST, LOCK):
                files.append(rel)
    return sorted(files), sorted(dirs), sorted(links), sorted(odd)


def _open_dir(real: str, parts: list[str], create: bool = False) -> int:
    """A handle on ``real/parts...``, each step opened without following a symlink (``create``: make missing
    folders). Raises ``OSError`` (ELOOP / ENOTDIR) where a step is a symlink or not a folder."""
    fd = os.open(real, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    try:
        for part in parts:
            if create:
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _split(rel: str) -> list[str]:
    return [p for p in rel.replace(os.sep, '/').split('/') if p not in ('', '.')]


def move_in(src: str, real: str, rel: str) -> str:
    """``os.replace`` the file ``src`` to ``real/rel``, creating folders and following no symlink below ``real``
    (a symlink there raises ``OSError``); returns the target path."""
    parts = _split(rel)
    fd = _open_dir(real, parts[:-1], create=True)
    try:
        os.replace(src, parts[-1], dst_dir_fd=fd)
    finally:
        os.close(fd)
    return osp.join(real, *parts)


def _remove(real: str, rel: str, folder: bool = False) -> None:
    parts = _split(rel)
    fd = _open_dir(real, parts[:-1])
    try:
        if folder:
            try:
                os.rmdir(parts[-1], dir_fd=fd)
            except OSError:   # not empty (something appeared meanwhile) or already gone: leave it
                pass
        elif stat.S_ISREG(os.stat(parts[-1], dir_fd=fd, follow_symlinks=False).st_mode):
            os.unlink(parts[-1], dir_fd=fd)
    except FileNotFoundError:
        pass
    finally:
        os.close(fd)


def _entries(root: str, real: str, manifest: dict, key: str) -> set[str]:
    """The manifest's ``key`` list, each entry resolved and checked to lie inside ``real``, no symlink on the way."""
    listed = manifest.get(key, [])
    if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
        raise InputError(f'--overwrite: {root}/{MANIFEST}: "{key}" is not a list of paths; nothing deleted')
    out = set()
    for rel in listed:
        path = osp.normpath(osp.join(real, rel))
        inside = not osp.isabs(rel) and path.startswith(osp.join(real, ''))
        if not inside or osp.realpath(path) != path:
            raise InputError(f'--overwrite: {root}/{MANIFEST} lists {rel!r}, which leads outside {root} or through '
                             'a symlink; nothing deleted (the manifest was edited; clear the folder yourself)')
        out.add(osp.relpath(path, real))
    return out


def _clear_previous(root: str, real: str) -> None:
    """Remove what an earlier hrvision run wrote in ``real``; everything is checked before anything is deleted."""
    files, dirs, links, odd = _scan(real)
    if osp.islink(osp.join(real, MANIFEST)):
        links.insert(0, MANIFEST)
    if links:
        first = osp.join(real, links[0])
        raise InputError(f'--overwrite: {root} holds a symlink ({links[0]} -> {os.readlink(first)}), which is not '
                         f"hrvision's; nothing deleted (remove the link or choose a new folder)")
    if odd:
        raise InputError(f'--overwrite: {root} holds {odd[0]}, which is not a regular file or folder; nothing '
                         'deleted (choose a new folder)')
    try:
        with open(osp.join(real, MANIFEST), encoding='utf-8') as f:
            manifest = json.load(f)
        status = manifest['status'] if 'status' in manifest else 'complete'
        manifest['files']
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f'--overwrite: {root} has no readable {MANIFEST}, so it was not written by hrvision test, '
                         'infer or bench; nothing deleted (choose an empty or new folder)') from None
    for d in dirs:   # a lock file below the top: a --show-dir of a run that may still be going
        pid = held_by(osp.join(real, d))
        if pid:
            raise InputError(f'--overwrite: {root}/{d} is in use by another hrvision run (pid {pid}); nothing '
                             'deleted')
    if status == 'running':   # its run died (we hold the lock): everything here is its output
        mine, folders = files, set(dirs)
    else:
        listed = _entries(root, real, manifest, 'files')
        folders = _entries(root, real, manifest, 'folders')
        for f in listed:   # the folders of listed files (manifests written before "folders" existed)
            while osp.dirname(f):
                f = osp.dirname(f)
                folders.add(f)
        foreign = [f for f in files if f not in listed and osp.basename(f) != LOCK]
        if foreign:
            raise InputError(f'--overwrite: {root} also holds {len(foreign)} files hrvision did not write (e.g. '
                             f'{foreign[0]}); nothing deleted, not mixing new outputs with them (choose a new folder)')
        foreign = [d for d in dirs if d not in folders]
        if foreign:
            raise InputError(f'--overwrite: {root} also holds {len(foreign)} folders hrvision did not make (e.g. '
                             f'{foreign[0]}/); nothing deleted, not mixing new outputs with them (choose a new '
                             'folder)')
        mine = [f for f in files if f in listed or osp.basename(f) == LOCK]
    for f in mine:
        _remove(real, f)
    for d in sorted(dirs, key=lambda d: -d.count(os.sep)):
        if d in folders:
            _remove(real, d, folder=True)
    _remove(real, MANIFEST)


def _refuse_busy(root: str, real: str) -> None:
    pid = held_by(real)
    if pid:
        raise InputError(f'--out {root} is in use by another hrvision run (pid {pid}); wait for it to end or '
                         'choose another folder')


def _busy(real: str) -> bool:
    return osp.isdir(real) and any(n != LOCK for n in os.listdir(real))


def prepare_out_dir(root: str, overwrite: bool = False, **info) -> None:
    """Make ``root`` an empty, writable folder held by this run, with a ``running`` manifest (``info`` goes into
    it); or raise ``InputError`` naming it, before any inference. Ends with :func:`write_manifest` (a final
    status) or :func:`release_out_dir`."""
    if osp.exists(root) and not osp.isdir(root):
        raise InputError(f'--out {root} exists and is not a folder')
    real = osp.realpath(root)
    if _busy(real) and not overwrite:   # looked at without writing anything into the user's folder
        _refuse_busy(root, real)
        raise InputError(f'--out {root} is not empty; choose a new folder, or pass --overwrite to replace '
                         'what an earlier hrvision run wrote there')
    try:
        os.makedirs(real, exist_ok=True)
    except OSError as e:
        raise InputError(f'--out {root} cannot be written ({e.strerror or e})') from None
    lock = FolderLock(real, '--out')
    try:
        lock.acquire()
    except InputError as e:
        raise InputError(str(e).replace(real, root, 1)) from None
    try:
        if _busy(real):
            if not overwrite:
                raise InputError(f'--out {root} is not empty; choose a new folder, or pass --overwrite to replace '
                                 'what an earlier hrvision run wrote there')
            _clear_previous(root, real)
        try:
            _write(real, {**info, 'status': 'running'})
        except OSError as e:
            raise InputError(f'--out {root} cannot be written ({e.strerror or e})') from None
    except BaseException:
        lock.release()
        raise
    _HELD[real] = lock


def _write(real: str, info: dict) -> str:
    files, dirs, _, _ = _scan(real)
    staged = lambda p: _split(p)[0].startswith(STAGE)   # noqa: E731  (an image being written right now)
    files = [f for f in files if osp.basename(f) != LOCK and not staged(f)]
    dirs = [d for d in dirs if not staged(d)]
    path = osp.join(real, MANIFEST)
    atomic_write_text(path, json.dumps({**info, 'pid': os.getpid(),
                                        'written': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                                        'files': files, 'folders': dirs},
                                       indent=1) + '\n')
    return path


def write_manifest(root: str, **info) -> str:
    """Record every file and folder now under ``root`` (and ``info``) in its manifest; returns its path. A final
    ``status`` (complete / failed / interrupted) also releases the folder's lock."""
    real = osp.realpath(root)
    try:
        return _write(real, info)
    finally:
        if info.get('status') in FINAL:
            release_out_dir(root)


@contextmanager
def out_dir_run(root: str, overwrite: bool = False, **info) -> Iterator[None]:
    """``with out_dir_run(args.out, args.overwrite, command=...):`` the whole life of a command's ``--out``:
    prepared (locked, manifest ``running``) before the block, and the final manifest when it ends: ``complete``,
    ``interrupted`` (Ctrl-C, also when a library re-raised it as its own error) or ``failed``, written with Ctrl-C
    held, which releases the lock."""
    prepare_out_dir(root, overwrite, **info)
    status = 'failed'
    try:
        yield
        status = 'complete'
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt) or caused_by_ctrl_c(e):
            status = 'interrupted'
        raise
    finally:
        with defer_sigint():
            write_manifest(root, **info, status=status)


def release_out_dir(root: str) -> None:
    """Let other runs use ``root`` (also done by the kernel when the process ends)."""
    lock = _HELD.pop(osp.realpath(root), None)
    if lock is not None:
        lock.release()
