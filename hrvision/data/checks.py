"""The one check every dataset reader ends with: refuse an empty dataset.

An empty training set makes the ``InfiniteSampler`` spin forever (it draws from an empty
permutation without end); an empty evaluation set gives meaningless metrics. Readers call
:func:`require_samples` at the end of ``load_data_list`` with their skip counts so the error says
why nothing was usable.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from ..errors import EmptyDatasetError


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
