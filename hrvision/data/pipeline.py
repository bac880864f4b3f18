"""Building transform pipelines from hrvision's registry (works without a default scope)."""
from __future__ import annotations

from typing import Callable, Sequence

from ..registry import TRANSFORMS


def build_pipeline(pipeline: Sequence[dict | Callable]) -> list[Callable]:
    """Dict configs -> transform objects; callables pass through.

    mmengine's ``BaseDataset`` builds dicts from its *root* registry, which sees hrvision's
    transforms only under ``default_scope='hrvision'``; building them here makes datasets usable
    from plain Python too.
    """
    return [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
