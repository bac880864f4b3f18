"""Errors hrvision raises for bad input, so the CLI can print one line for them and callers can catch them.

Every class also inherits the builtin type such a mistake raised before (``ValueError``, ``KeyError``,
``FileNotFoundError``, ``RuntimeError``), so existing ``except ValueError`` code keeps working.
Messages name the file / line / field and what was expected; the CLI prints ``str(e)`` as is.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class HRVisionError(Exception):
    """Base of every error hrvision raises on purpose; its message is complete and meant for the user."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return worker_message(str(self.args[0]) if len(self.args) == 1 else super().__str__())


def worker_message(text: str) -> str:
    """A DataLoader worker's error comes back as 'Caught X in DataLoader worker process N.\\nOriginal
    Traceback ...\\nmodule.X: message': keep the message (the traceback stays in HRVISION_DEBUG output)."""
    if text.startswith('Caught ') and '\nOriginal Traceback' in text:
        last = text.rstrip().splitlines()[-1]
        return last.split(': ', 1)[1] if ': ' in last else last
    return text


class InputError(HRVisionError, ValueError):
    """A bad argument to the API: a tensor of the wrong dtype/shape, an option outside its allowed values."""


class OptionError(InputError, TypeError):
    """An option of the wrong type (also a ``TypeError``, what Python raises for it)."""


class ConfigError(HRVisionError, ValueError):
    """A config file or override that cannot be used: syntax error, unknown key, impossible value."""


class ConfigKeyError(ConfigError, KeyError):
    """An unknown config key (also a ``KeyError``, what mmengine raised for it)."""


class UnknownNameError(InputError, KeyError):
    """A name (backbone variant, registry type) that does not exist; the message lists the known ones."""


class DataError(HRVisionError, ValueError):
    """A dataset file or annotation that cannot be used; names the file and line/field."""


class EmptyDatasetError(DataError):
    """A dataset with no usable sample (would make an infinite sampler spin forever)."""


class CheckpointFileError(HRVisionError, RuntimeError):
    """A checkpoint that is truncated, corrupt (digest mismatch) or not a state dict."""


def caused_by_ctrl_c(exc: BaseException) -> bool:
    """Whether Ctrl-C is behind ``exc``: some libraries catch everything and raise their own error (mmengine's
    config formatter turns a KeyboardInterrupt into ``SyntaxError``), which must not read as bad input."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def did_you_mean(name: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices``, or ``''`` when none is close."""
    by_lower: dict[str, str] = {}
    for c in map(str, choices):  # case-insensitive ('Adamw' -> 'AdamW'), first spelling wins
        by_lower.setdefault(c.lower(), c)
    key = str(name).lower()
    close = [key] if key in by_lower else difflib.get_close_matches(key, list(by_lower), n=1, cutoff=cutoff)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ''


class MissingFileError(HRVisionError, FileNotFoundError):
    """An input file or folder that does not exist (or is a folder where a file was expected)."""


class WriteError(HRVisionError, OSError):
    """A file that could not be written (disk full, file size limit, I/O error): names the file and the cause;
    nothing partial is left (``errno`` and ``filename`` are set as on the ``OSError`` behind it)."""


def one_line(text: object, limit: int = 2000) -> str:
    """``text`` with its whitespace (newlines included) collapsed, cut at ``limit`` characters."""
    flat = ' '.join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 3] + '...'


def user_message(exc: BaseException, context: str = '') -> str:
    """The one line the CLI prints for ``exc``: hrvision's own errors as they are; anything else prefixed
    with ``context`` (the command and its input) and the exception type, OS errors with their file."""
    if isinstance(exc, HRVisionError):
        return one_line(exc)
    if isinstance(exc, OSError) and exc.strerror:
        files = ' -> '.join(repr(f) for f in (exc.filename, exc.filename2) if f is not None)
        cause = f'{exc.strerror}{": " + files if files else ""}'
    else:
        text = worker_message(str(exc.args[0] if isinstance(exc, KeyError) and len(exc.args) == 1 else exc))
        cause = f'{type(exc).__name__}: {one_line(text)}' if text else type(exc).__name__
    return f'{context}: {cause}' if context else cause
