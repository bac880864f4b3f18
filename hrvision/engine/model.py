"""The mode dispatch every hrvision task model shares (mmengine's ``forward(inputs, data_samples, mode)``)."""
from __future__ import annotations

from typing import Any, Sequence

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
