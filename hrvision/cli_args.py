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


def checkpoint_or_alias(text: str) -> str:
    """A checkpoint file that exists, or a zoo alias (``hrvision zoo list``; fetched when used)."""
    if not os.path.exists(text):
        from .zoo import is_alias
        if is_alias(text):
            return text
    try:
        return existing_file(text)
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f'{e} (nor a zoo alias: hrvision zoo list)') from None


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


def _nested_right(text: str) -> bool:
    """Brackets close in the order they open (``(1,[2)]`` and ``[1,2](3)`` are not values mmengine can parse)."""
    stack = []
    for i, c in enumerate(text):
        if c in '([':
            stack.append(c)
        elif c in ')]':
            if not stack or '(['[')]'.index(c)] != stack.pop():
                return False
            if not stack and i != len(text) - 1 and text[i + 1] != ',':   # a list item ends at a comma
                return False
    return not stack


def parse_override(key: str, text: str):
    """One ``--cfg-options`` value. mmengine's parser (ints, floats, booleans, None, ``a,b`` and ``[a,b]`` lists,
    ``(a,b)`` tuples) with what it gets wrong made exact or refused: it deletes every space (``work_dir=a b`` became
    ``ab``), splits quoted text at commas and fails on unbalanced brackets with an assertion. Here a value in
    matching quotes is that text, as written; a value with spaces (one shell word) stays one string; a space that
    would be lost inside a list, a quote inside a value, a value with both spaces and commas, unbalanced brackets
    are refused naming the key (``argparse.ArgumentTypeError``)."""
    from mmengine.config import DictAction
    where = f'{key}={text}'
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '"\'' and text[0] not in text[1:-1]:
        return text[1:-1]
    if '"' in text or "'" in text:
        raise argparse.ArgumentTypeError(f'{where}: quotes only around the whole value (they keep it one string, '
                                         f"e.g. {key}='\"a b,c\"'); got a quote inside it")
    if not _nested_right(text):
        raise argparse.ArgumentTypeError(f'{where}: brackets that do not pair up (unbalanced brackets, or text '
                                         'after a closing one); quote the value to keep it one string '
                                         f"({key}='\"{text}\"')")
    bracketed = text[:1] in '([' and text[-1:] in ')]'
    if any(c.isspace() for c in text):
        if not bracketed:
            if ',' in text:
                raise argparse.ArgumentTypeError(
                    f'{where}: spaces and commas: a list is written [a,b]; one string with both is quoted '
                    f"({key}='\"{text}\"')")
            return text
        import re
        if re.search(r'[^\s,(\[]\s+[^\s,)\]]', text):
            raise argparse.ArgumentTypeError(f'{where}: a space inside a list item would be dropped; quote the whole '
                                             'value for one string, or separate items with commas')
    return DictAction._parse_iterable(text)


def add_cfg_options(p: argparse.ArgumentParser) -> None:
    """``--cfg-options key=value ...``: :func:`parse_override` per value; a word without '=' is a usage error, not a
    traceback."""

    class Overrides(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            bad = [v for v in values if '=' not in v or not v.split('=', 1)[0]]
            if bad:
                raise argparse.ArgumentError(self, f'expected key=value, got {bad[0]!r}')
            options = dict(getattr(namespace, self.dest, None) or {})
            for kv in values:
                key, text = kv.split('=', 1)
                try:
                    options[key] = parse_override(key, text)
                except argparse.ArgumentTypeError as e:
                    raise argparse.ArgumentError(self, str(e)) from None
            setattr(namespace, self.dest, options)

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
