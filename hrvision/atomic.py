"""Files are written complete or not at all: a temporary file beside the target, renamed into place.

A write that fails (disk full, ``RLIMIT_FSIZE``, I/O error) becomes a :class:`~hrvision.errors.WriteError` naming
the target file and the cause, and the temporary file is removed. Serialisers written in C++ (torch's zip writer
behind ``torch.save``, ``torch.export.save``, TorchScript) get a :class:`GuardedFile`: an ``OSError`` raised inside
them aborts the process (``c10::Error``, exit 134) or turns into ``RuntimeError: [enforce fail ...]``, so the
guard remembers the first failed write, drops the rest, and the error is raised once the serialiser has returned.
"""
from __future__ import annotations

import errno as _errno
import io
import os
import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; when the block succeeds it becomes ``path`` (``os.replace``),
    on any failure (Ctrl-C, SIGTERM's SystemExit, disk full, a failed check) it is removed."""
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(path: str, text: str, what: str = 'file') -> None:
    """Write a small text file complete or not at all (a failed write: :class:`WriteError` naming ``path``)."""
    with atomic_path(path) as tmp:
        with writing(path, what):
            with open(tmp, 'w', encoding='utf-8') as f:
                f.write(text)


def write_error(e: OSError, path: str, what: str = 'file', note: str = '') -> OSError:
    """``e`` (an ``OSError`` of a write) as a :class:`WriteError` naming ``path``: ``cannot write <what> <path>:
    No space left on device (...)``; ``note`` says what was kept."""
    from .errors import WriteError
    cause = e.strerror or str(e) or type(e).__name__
    hint = {_errno.ENOSPC: 'the disk is full', _errno.EDQUOT: 'the disk quota is used up',
            _errno.EFBIG: 'the file size limit (ulimit -f) or the file system\'s largest file is reached'}.get(e.errno)
    extra = '; '.join(x for x in (hint, 'nothing was written' if not note else note) if x)
    err = WriteError(f'cannot write {what} {path}: {cause} ({extra})')
    err.errno, err.strerror, err.filename = e.errno, e.strerror, path
    return err


@contextmanager
def writing(path: str, what: str = 'file', note: str = '') -> Iterator[None]:
    """Turn an ``OSError`` raised in the block into a :class:`WriteError` naming ``path`` (one already naming
    its file passes through)."""
    from .errors import WriteError
    try:
        yield
    except WriteError:
        raise
    except OSError as e:
        raise write_error(e, path, what, note) from e


class GuardedFile(io.RawIOBase):
    """A binary file for C++ serialisers: the first ``OSError`` of a write or flush is kept in ``error`` and the
    later writes are dropped (reported as written), so the serialiser finishes; :meth:`check` raises it."""

    def __init__(self, f) -> None:
        super().__init__()
        self._f, self.error = f, None

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._f.seekable()

    def write(self, b) -> int:
        n = memoryview(b).nbytes
        if self.error is None:
            try:
                self._f.write(b)
            except OSError as e:
                self.error = e
        return n

    def flush(self) -> None:
        if self.error is None and not self._f.closed:
            try:
                self._f.flush()
            except OSError as e:
                self.error = e

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def check(self) -> None:
        if self.error is not None:
            raise self.error


def write_with(path: str, tmp: str, save: Callable[[io.RawIOBase], None], what: str = 'file',
               note: str = '', sync: bool = False) -> None:
    """Open ``tmp`` and let ``save(f)`` write it through a :class:`GuardedFile` (then flush, and ``fsync`` when
    ``sync``); a failed write raises :class:`WriteError` naming ``path`` (the caller's :func:`atomic_path`
    removes ``tmp``)."""
    with writing(path, what, note):
        with open(tmp, 'wb') as raw:
            f = GuardedFile(raw)
            try:
                save(f)
            except Exception:
                f.check()   # a serialiser that tripped over a failed write: the write's error is the cause
                raise
            f.flush()
            f.check()
            if sync:
                os.fsync(raw.fileno())


class defer_sigint:
    """``with defer_sigint():`` Ctrl-C arriving inside the block takes effect when it ends, as the handler in place
    before would have taken it (Python's default: ``KeyboardInterrupt``; ignored stays ignored): a checkpoint, or
    one image's files, are written all or none. Main thread only; elsewhere a no-op."""

    def __enter__(self) -> 'defer_sigint':
        self.got, self.installed = [], threading.current_thread() is threading.main_thread()
        if self.installed:
            self.old = signal.signal(signal.SIGINT, lambda signum, frame: self.got.append(frame))
        return self

    def __exit__(self, *exc) -> None:
        if not self.installed:
            return
        signal.signal(signal.SIGINT, self.old)   # None (a handler not set from Python) is restored as it was
        if self.got:   # now act on it as the earlier handler would have (default: KeyboardInterrupt)
            if callable(self.old):
                self.old(signal.SIGINT, self.got[0])
            elif self.old == signal.SIG_DFL:
                os.kill(os.getpid(), signal.SIGINT)
