"""What a user points an Inferencer at -> a flat list of images, with the unusable ones named and counted.

Accepted: a path, a folder (its images, sorted, not recursive), a glob, a video file, an HxWx3 uint8 RGB array,
or a list of those. A folder with no images and a pattern matching nothing are errors; inside a folder a
non-image file is skipped with a word and an image that does not decode, or whose header declares more pixels
than the readers' limit (``HRVISION_MAX_IMAGE_PIXELS``, :func:`hrvision.data.io.max_image_pixels`), is reported
and skipped (counted).
"""
from __future__ import annotations

import glob
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from ..errors import DataError, InputError, MissingFileError

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg', '.wmv')


@dataclass
class Item:
    """One image to run: ``path`` (None for an array), ``array`` (RGB, when given in memory), ``name``;
    ``frame``: its number when it is a frame of a video (the only frame marker: ``#`` in a name is not one)."""
    name: str
    path: str | None = None
    array: np.ndarray | None = None
    frame: int | None = None


@dataclass
class Skipped:
    """Inputs left out, each with the reason (printed by the CLI, returned by the Inferencer)."""
    entries: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, why: str) -> None:
        self.entries.append((name, why))

    def __len__(self) -> int:
        return len(self.entries)


def is_video(path: str) -> bool:
    return isinstance(path, str) and path.lower().endswith(VIDEO_EXTS) and osp.isfile(path)


def check_array(where: str, arr: Any) -> np.ndarray:
    """An HxWx3 uint8 RGB array, or an error saying what it is instead."""
    if not isinstance(arr, np.ndarray) or arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8 \
            or 0 in arr.shape:
        what = (f'{arr.dtype} array of shape {arr.shape}' if isinstance(arr, np.ndarray) else type(arr).__name__)
        raise InputError(f'{where}: expected an HxWx3 uint8 RGB array, got a {what}')
    return np.ascontiguousarray(arr)


def _folder(path: str, skipped: Skipped) -> list[Item]:
    names = sorted(n for n in os.listdir(path) if osp.isfile(osp.join(path, n)))
    items = []
    for n in names:
        if n.lower().endswith(IMAGE_EXTS):
            items.append(Item(osp.join(path, n), path=osp.join(path, n)))
        else:
            skipped.add(osp.join(path, n), 'not an image file (by its extension)')
    if not items:
        raise InputError(f'{path}: folder holds no images ({", ".join(IMAGE_EXTS)})'
                         + (f'; {len(names)} other files' if names else ''))
    return items


def collect(inputs: Any, skipped: Skipped, allow_video: bool = False) -> list[Item]:
    """Flatten ``inputs`` into items (videos stay single items when ``allow_video``)."""
    if isinstance(inputs, (str, os.PathLike, np.ndarray)):
        inputs = [inputs]
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise InputError(f'inputs: expected a path, folder, glob, HxWx3 array or a non-empty list of those, '
                         f'got {inputs!r:.80}')
    items: list[Item] = []
    for k, x in enumerate(inputs):
        if isinstance(x, np.ndarray):
            items.append(Item(f'array{k}', array=check_array(f'inputs[{k}]', x)))
            continue
        if not isinstance(x, (str, os.PathLike)):
            raise InputError(f'inputs[{k}]: expected a path or an array, got {type(x).__name__}')
        x = os.fspath(x)
        if osp.isdir(x):
            items += _folder(x, skipped)
        elif osp.isfile(x):
            if is_video(x) and not allow_video:
                raise InputError(f'{x}: a video; run it with Inferencer.video() or hrvision infer')
            items.append(Item(x, path=x))
        elif glob.has_magic(x):
            found = sorted(p for p in glob.glob(x) if osp.isfile(p))
            if not found:
                raise InputError(f'{x}: the pattern matches no file')
            for p in found:
                if p.lower().endswith(IMAGE_EXTS):
                    items.append(Item(p, path=p))
                else:
                    skipped.add(p, 'not an image file (by its extension)')
            if not any(it.path in found for it in items):
                raise InputError(f'{x}: the pattern matches no image file')
        else:
            raise MissingFileError(f'input not found: {x}')
    return items


def load(items: list[Item], skipped: Skipped) -> Iterator[tuple[Item, np.ndarray]]:
    """Decode each item; one that does not decode (or is too large) is reported in ``skipped`` and left out.
    An invalid ``HRVISION_MAX_IMAGE_PIXELS`` (``InputError``) stops the run: it is not about one image."""
    from ..data.io import read_image
    for it in items:
        if it.array is not None:
            yield it, it.array
            continue
        try:
            yield it, read_image(it.path)
        except (DataError, OSError) as e:
            skipped.add(it.path, str(e))
