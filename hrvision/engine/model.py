"""The mode dispatch every hrvision task model shares (mmengine's ``forward(inputs, data_samples, mode)``)."""
from __future__ import annotations

from typing import Any, Sequence

from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch import Tensor

from ..checks import check_image_batch
from .preprocessor import build_data_preprocessor


class TaskModel(BaseModel):
    """``mode='tensor'`` -> :meth:`tensor_forward` (what the official model returns), ``'loss'`` ->
    :meth:`loss` (dict of losses), ``'predict'`` -> :meth:`predict` (data samples with predictions).

    ``data_preprocessor`` dicts are built from hrvision's registry (see ``build_data_preprocessor``).
    """

    def __init__(self, data_preprocessor=None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=build_data_preprocessor(data_preprocessor), init_cfg=init_cfg)

    def check_dataset_meta(self, meta: dict, source: str) -> None:
        """Refuse metadata that contradicts the head (``ConfigError`` naming both, e.g. ``model.head.num_keypoints=17
        but the dataset (train_dataloader) has 12 keypoint_names``); called for every loop's dataset before
        training / testing starts (:class:`DatasetMetaCheckHook`). The base class checks nothing."""

    def tensor_forward(self, inputs: Tensor) -> Any:
        raise NotImplementedError

    def loss(self, inputs: Tensor, data_samples: Sequence[Any]) -> dict:
        raise NotImplementedError

    def predict(self, inputs: Tensor, data_samples: Sequence[Any] | None = None) -> list:
        raise NotImplementedError

    def forward(self, inputs: Tensor, data_samples: Sequence[Any] | None = None, mode: str = 'tensor'):
        if mode == 'tensor':  # a direct call: name a numpy / 3-D / integer input here, not deep in torch
            check_image_batch(f'{type(self).__name__} (mode="tensor")', inputs)
            return self.tensor_forward(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")


def check_loops_dataset_meta(runner) -> None:
    """``model.check_dataset_meta(dataset.metainfo, '<loop>_dataloader')`` for every loop the runner has built."""
    from mmengine.model import is_model_wrapper
    from mmengine.runner import BaseLoop
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    check = getattr(model, 'check_dataset_meta', None)
    if check is None:
        return
    for name in ('train', 'val', 'test'):
        loop = getattr(runner, f'_{name}_loop', None)
        if not isinstance(loop, BaseLoop):
            continue
        meta = getattr(getattr(loop.dataloader, 'dataset', None), 'metainfo', None)
        if meta:
            check(dict(meta), f'{name}_dataloader')



class DatasetMetaCheckHook(Hook):
    """Metadata vs head before any iteration: the loops (and so their datasets) exist at ``before_run``."""
    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        check_loops_dataset_meta(runner)
