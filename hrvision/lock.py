"""One hrvision run per folder: an exclusive ``flock`` on ``FOLDER/.hrvision.lock``, which holds the pid.

The kernel drops the lock when the process ends in any way (also ``kill -9``), so a lock is never stale; the
file itself may be left behind by a killed run and means nothing then. :func:`held_by` tells whether a live
run holds a folder (its pid) without taking the lock. Without ``fcntl`` (Windows) the lock is the file's
existence (``O_EXCL``): a killed run's file keeps the folder refused until the user removes it.
"""
from __future__ import annotations

import os
import os.path as osp

from .errors import InputError

LOCK = '.hrvision.lock'

try:
    import fcntl
except ImportError:   # Windows: no flock; the lock file's existence is the lock (see FolderLock)
    fcntl = None


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode('ascii', 'replace').strip()
    except OSError:
        return '?'
    return text if text.isdigit() else '?'


def held_by(folder: str) -> str | None:
    """The pid (as text, '?' if unreadable) of the live run holding ``folder``'s lock, or None."""
    path = osp.join(folder, LOCK)
    if not osp.isfile(path) or osp.islink(path):
        return None
    if fcntl is None:   # no flock: the file is there while a run holds the folder (or after one was killed)
        try:
            with open(path, 'rb') as f:
                text = f.read(32).decode('ascii', 'replace').strip()
        except OSError:
            return '?'
        return text if text.isdigit() else '?'
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)   # succeeds only when no run holds it exclusively
        return None
    except OSError:
        return _read_pid(fd)
    finally:
        os.close(fd)   # closing drops the shared lock, if taken


class FolderLock:
    """``FolderLock(folder, what).acquire()`` ... ``release()``; ``what`` names the folder in the refusal
    (``--out``, ``--work-dir``)."""

    def __init__(self, folder: str, what: str = '--out') -> None:
        self.folder, self.what, self.fd = folder, what, None
        self.path = osp.join(folder, LOCK)

    def acquire(self) -> 'FolderLock':
        """Take the lock or raise ``InputError`` naming the holder's pid; the folder must exist."""
        if fcntl is None:
            return self._acquire_exclusive_create()
        for _ in range(20):   # retried only when a releasing run removed the file between open and flock
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0), 0o644)
            except OSError as e:
                if osp.islink(self.path):
                    raise InputError(f'{self.what} {self.folder}: {LOCK} is a symlink, not hrvision\'s; nothing '
                                     'written (remove it or choose another folder)') from None
                raise InputError(f'{self.what} {self.folder} cannot be written ({e.strerror or e})') from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                pid = _read_pid(fd)
                os.close(fd)
                raise InputError(f'{self.what} {self.folder} is in use by another hrvision run (pid {pid}); wait '
                                 'for it to end or choose another folder') from None
            try:
                same = os.fstat(fd).st_ino == os.lstat(self.path).st_ino
            except OSError:
                same = False
            if not same:   # we locked a file the previous holder just unlinked: try the current one
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, f'{os.getpid()}\n'.encode(), 0)
            self.fd = fd
            return self
        raise InputError(f'{self.what} {self.folder}: could not take {LOCK} (it keeps being replaced)')

    def _acquire_exclusive_create(self) -> 'FolderLock':
        """Without flock: the lock is the file's existence (``O_EXCL``); a killed run's file stays and keeps the
        folder refused until the user removes it (never taken for a dead run's: the pid cannot be checked here)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise InputError(f'{self.what} {self.folder} is in use by another hrvision run (pid '
                             f'{held_by(self.folder) or "?"}); if that run is gone, remove {self.path}') from None
        except OSError as e:
            raise InputError(f'{self.what} {self.folder} cannot be written ({e.strerror or e})') from None
        os.write(fd, f'{os.getpid()}\n'.encode())
        self.fd = fd
        return self

    def release(self) -> None:
        """Remove the lock file while still holding it (so nobody locks a file about to vanish), then unlock."""
        if self.fd is None:
            return
        try:
            if os.fstat(self.fd).st_ino == os.lstat(self.path).st_ino:
                os.remove(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> 'FolderLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def lock_work_dir(work_dir: str) -> FolderLock | None:
    """``hrvision train``: hold ``work_dir`` for this run (rank 0 only under torchrun); None on other ranks."""
    if os.environ.get('RANK', '0') != '0':
        return None
    os.makedirs(work_dir, exist_ok=True)
    return FolderLock(work_dir, '--work-dir').acquire()
