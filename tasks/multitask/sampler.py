"""Batches from one source at a time, so each batch is labelled for its own task.

``MultiTaskBatchSampler`` wraps any index sampler over a :class:`.dataset.MultiSourceDataset` and groups the indices
it draws by source; ``mode='alternate'`` cycles the sources, ``mode='weighted'`` draws the next batch's source
with ``weights`` (numpy's global RNG, seeded by mmengine's ``randomness``, so resume is reproducible).
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from torch.utils.data import BatchSampler, Sampler

from hrvision.registry import DATA_SAMPLERS, register_alias

MODES = ('alternate', 'weighted')


@DATA_SAMPLERS.register_module()
class MultiTaskBatchSampler(BatchSampler):
    """Args:
        sampler: the index sampler (``InfiniteSampler`` for iteration-based training).
        batch_size: images per batch.
        mode: ``'alternate'`` or ``'weighted'``.
        weights: one per source (``'weighted'``), >= 0, not all 0.
        drop_last: drop incomplete batches when a finite sampler ends.
    """

    def __init__(self, sampler: Sampler, batch_size: int, mode: str = 'alternate',
                 weights: Sequence[float] | None = None, drop_last: bool = False) -> None:
        dataset = getattr(sampler, 'dataset', None)
        if dataset is None or not hasattr(dataset, 'source_of'):
            raise TypeError('MultiTaskBatchSampler needs a sampler over a MultiSourceDataset '
                            f'(got a sampler over {type(dataset).__name__})')
        if mode not in MODES:
            raise ValueError(f'MultiTaskBatchSampler mode must be one of {MODES}, got {mode!r}')
        n = len(dataset.datasets)
        if mode == 'weighted':
            w = np.asarray(weights if weights is not None else [1.0] * n, np.float64)
            if len(w) != n or (w < 0).any() or w.sum() <= 0:
                raise ValueError(f'MultiTaskBatchSampler weights {list(w)}: need {n} non-negative weights, not all 0')
            self.p = w / w.sum()
        self.sampler, self.batch_size, self.mode, self.drop_last = sampler, batch_size, mode, drop_last
        self.dataset, self.n_sources = dataset, n

    def __iter__(self) -> Iterator[list[int]]:
        buckets: list[list[int]] = [[] for _ in range(self.n_sources)]
        stream = iter(self.sampler)
        turn = 0
        while True:
            if self.mode == 'alternate':
                want = turn % self.n_sources
            else:
                want = int(np.random.choice(self.n_sources, p=self.p))
            turn += 1
            while len(buckets[want]) < self.batch_size:
                idx = next(stream, None)
                if idx is None:
                    break
                buckets[self.dataset.source_of(int(idx))].append(int(idx))
            if len(buckets[want]) < self.batch_size:   # the finite sampler ended
                for b in buckets:
                    if b and not self.drop_last:
                        yield b
                return
            yield buckets[want][:self.batch_size]
            buckets[want] = buckets[want][self.batch_size:]

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# Old names (one vocabulary per task, docs/ARCHITECTURE.md): configs and old checkpoints still build,
# with a warning once per name; the Python names stay importable.
register_alias(DATA_SAMPLERS, 'TaskBatchSampler', MultiTaskBatchSampler)
TaskBatchSampler = MultiTaskBatchSampler

__all__ = ['MultiTaskBatchSampler']
