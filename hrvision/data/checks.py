"""The checks every dataset reader shares: its arguments and folder keys (:func:`check_dataset_args`, one word for
the folders in every task, ``data_prefix=dict(img=...)``), and, at the end of reading, refuse an empty dataset.

An empty training set makes the ``InfiniteSampler`` spin forever (it draws from an empty
permutation without end); an empty evaluation set gives meaningless metrics. Readers call
:func:`require_samples` at the end of ``load_data_list`` with their skip counts so the error says
why nothing was usable.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from ..errors import ConfigError, EmptyDatasetError, did_you_mean


def describe_counts(counts: Mapping[str, int]) -> str:
    """``{'crowd': 2, 'non_positive_box': 1}`` -> ``'crowd=2, non_positive_box=1'`` (zeros left out)."""
    return ', '.join(f'{k}={v}' for k, v in sorted(counts.items()) if v) or 'none'


def require_samples(data_list: Sequence, source: str, what: str, counts: Mapping[str, int] | None = None,
                    found: str = '') -> Sequence:
    """Return ``data_list``, or raise :class:`~hrvision.errors.EmptyDatasetError` (a ``ValueError``)
    naming ``source`` when it is empty.

    ``what`` names the kind of sample (``'person boxes'``), ``found`` what the file held
    (``'3 images, 0 annotations'``) and ``counts`` the reader's skip counts."""
    if len(data_list) == 0:
        held = f'; the file holds {found}' if found else ''
        raise EmptyDatasetError(f'{source}: no usable {what}{held}; skipped: {describe_counts(counts or {})}. '
                                'An empty dataset cannot be trained or evaluated')
    return data_list


#: words other tools (and older hrvision configs) use for a dataset's folders, and the ``data_prefix`` key each means
FOLDER_WORDS = {'img_path': 'img', 'img_dir': 'img', 'img_prefix': 'img', 'image_dir': 'img', 'images': 'img',
                'image': 'img', 'img_root': 'img', 'ann_dir': 'seg', 'seg_map_path': 'seg', 'seg_map': 'seg',
                'seg_dir': 'seg', 'mask_dir': 'seg', 'masks': 'seg', 'mask': 'seg', 'ann': 'seg'}


def dataset_arguments(dataset: type) -> list[str]:
    """The keyword arguments ``dataset`` accepts: its classes' ``__init__`` arguments, ``BaseDataset``'s included."""
    import inspect
    return sorted({name for klass in dataset.__mro__ if '__init__' in vars(klass)
                   for name, p in inspect.signature(vars(klass)['__init__']).parameters.items()
                   if name != 'self' and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)})


def check_dataset_args(dataset: type, kwargs: dict, prefix_keys: Sequence[str] = ('img',),
                       optional: Sequence[str] = ()) -> None:
    """The keyword arguments a dataset class was given beyond its own: each must be one of its classes'
    ``__init__`` arguments, and its folders are said one way in every task, ``data_prefix=dict(img=...)`` (the
    segmentation folder dataset adds ``seg=``, the mask folder). Anything else (``data_prefix=dict(img_path=...)``,
    ``img_dir=``, a misspelt argument) would be ignored or fail far away: ``ConfigError`` naming the class, with a
    did-you-mean. ``prefix_keys``: the ``data_prefix`` keys the class reads; ``optional``: those that may be None.
    Relative ``data_prefix`` folders are joined with ``data_root`` by mmengine's ``BaseDataset``, so they follow
    ``--data-root``."""
    known = dataset_arguments(dataset)
    name = dataset.__name__
    keys = tuple(prefix_keys)
    form = 'data_prefix=dict(' + ', '.join(f"{k}='...'" for k in keys) + ')'
    for key in kwargs:
        if key in known:
            continue
        if 'data_prefix' in known and FOLDER_WORDS.get(key) in keys:
            raise ConfigError(f"{name}: unknown argument {key!r}; did you mean data_prefix=dict({FOLDER_WORDS[key]}="
                              f"'...')? (the folders are {form}, relative to data_root)")
        raise ConfigError(f'{name}: unknown argument {key!r}{did_you_mean(key, known)} (known: {", ".join(known)})')
    prefix = kwargs.get('data_prefix')
    if prefix is None:
        return
    if not isinstance(prefix, dict):
        raise ConfigError(f'{name}.data_prefix must be a dict like {form}, got {prefix!r:.80}')
    for key, value in prefix.items():
        if key not in keys:
            guess = FOLDER_WORDS.get(key) if FOLDER_WORDS.get(key) in keys else None
            hint = f'; did you mean {guess!r}?' if guess else did_you_mean(key, keys) or (
                f'; did you mean {keys[0]!r}?' if len(keys) == 1 else '')
            reads = '' if keys == ('img',) else f'; {name} reads {form}'
            raise ConfigError(f'{name}.data_prefix.{key}: unknown key{hint} (the image folder is '
                              f"data_prefix=dict(img='...') in every dataset{reads})")
        if not isinstance(value, str) and not (value is None and key in optional):
            raise ConfigError(f'{name}.data_prefix.{key} must be a folder (a string, relative to data_root), '
                              f'got {value!r:.80}')
