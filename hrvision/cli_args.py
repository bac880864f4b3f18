"""Argument types and builders shared by the core CLI and the commands tasks register.

Kept apart from :mod:`hrvision.cli` so that tasks and benchmarks never import the CLI itself. The one
builder for ``hrvision data synth-*`` (:func:`add_synth_command`) gives every synthetic-data writer the same
flags: ``OUT --n-train N --n-val N --size S --seed S``, plus the older per-task spellings as aliases.
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Callable

from .registry import CLI_COMMANDS


def positive_int(text: str) -> int:
    """argparse ``type`` for counts and sizes."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}') from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}')
    return value


def existing_file(text: str) -> str:
    """A file that exists (checked before any work starts, so a typo fails in a second, not after data loading)."""
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f'{text} is a folder; expected a file')
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f'file not found: {text}')
    return text


def image_size(text: str) -> tuple[int, int]:
    """``HxW`` (e.g. ``128x256``) or one number for a square, both positive."""
    parts = text.lower().split('x')
    try:
        if len(parts) not in (1, 2):
            raise ValueError
        hw = tuple(positive_int(p) for p in parts)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f'expected HxW (e.g. 128x256) or one positive integer, got {text!r}') \
            from None
    return (hw[0], hw[0]) if len(hw) == 1 else hw


def add_cfg_options(p: argparse.ArgumentParser) -> None:
    """``--cfg-options key=value ...`` (mmengine's parser); a word without '=' is a usage error, not a traceback."""
    from mmengine.config import DictAction

    class Overrides(DictAction):
        def __call__(self, parser, namespace, values, option_string=None):
            bad = [v for v in values if '=' not in v or not v.split('=', 1)[0]]
            if bad:
                raise argparse.ArgumentError(self, f'expected key=value, got {bad[0]!r}')
            super().__call__(parser, namespace, values, option_string)

    p.add_argument('--cfg-options', nargs='+', action=Overrides, help='override config keys: key=value ...')


def synth_command(name: str, help: str, writer: Callable[..., dict], *, n_train: int, n_val: int | None,
                  size: tuple[int, int] | None, what: str, n_train_aliases: tuple[str, ...] = (),
                  n_val_aliases: tuple[str, ...] = (), size_help: str = 'HxW or one side (square)',
                  extra: Callable[[argparse.ArgumentParser], None] | None = None,
                  extra_kwargs: Callable[[argparse.Namespace], dict] | None = None) -> None:
    """Register ``hrvision data NAME OUT [--n-train N] [--n-val N] [--size S] [--seed S]``, which calls
    ``writer(out, n_train=, n_val=, size=, seed=, **extra_kwargs(args))`` and prints its summary as one JSON line.

    ``size=None``: the writer has no size option (no ``--size`` flag). ``extra`` adds task-specific flags
    and ``extra_kwargs`` turns them into writer keywords. ``what`` describes OUT's layout for ``-h``.
    """
    def configure(p: argparse.ArgumentParser) -> None:
        p.add_argument('out', help=f'output folder ({what})')
        p.add_argument('--n-train', *n_train_aliases, dest='n_train', type=positive_int, default=n_train, metavar='N',
                       help=f'training images (default {n_train})')
        p.add_argument('--n-val', *n_val_aliases, dest='n_val', type=positive_int, default=n_val, metavar='N',
                       help='validation / test images (default '
                            f'{n_val if n_val is not None else "max(4, n_train // 4)"})')
        if size is not None:
            p.add_argument('--size', type=image_size, default=size,
                           help=f'{size_help} (default {"x".join(map(str, size))})')
        p.add_argument('--seed', type=int, default=0)
        if extra is not None:
            extra(p)
        p.set_defaults(func=run)

    def run(args: argparse.Namespace) -> int:
        kwargs = dict(n_train=args.n_train, n_val=args.n_val, seed=args.seed)
        if size is not None:
            kwargs['size'] = tuple(args.size)
        kwargs.update(extra_kwargs(args) if extra_kwargs else {})
        summary = writer(args.out, **kwargs)
        print(json.dumps(dict(out=args.out, **summary)))
        return 0

    CLI_COMMANDS.register('data', name, help)(configure)


def bench_command(name: str, help: str, add_arguments: Callable[[argparse.ArgumentParser], None],
                  run: Callable[[argparse.Namespace], object]) -> None:
    """Register ``hrvision bench NAME`` from the benchmark module's own argument builder and runner (the script
    under ``benchmarks/`` uses the same two), so flags and defaults exist once."""
    def configure(p: argparse.ArgumentParser) -> None:
        add_arguments(p)
        p.set_defaults(func=_run)

    def _run(args: argparse.Namespace) -> int:
        run(args)
        return 0

    CLI_COMMANDS.register('bench', name, help)(configure)
