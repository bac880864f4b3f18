"""HRNet + classification head as an mmengine model (``forward`` returns logits)."""
from __future__ import annotations

import torch
from torch import Tensor

from hrvision.engine.model import TaskModel
from hrvision.engine.preprocessor import build_module
from hrvision.registry import MODELS
from hrvision.structures import DataSample


@MODELS.register_module()
class ClassificationModel(TaskModel):
    def __init__(self, backbone, head, data_preprocessor=None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = build_module(backbone)
        self.head = build_module(head)

    def tensor_forward(self, inputs: Tensor) -> Tensor:
        return self.head(self.backbone(inputs))

    def loss(self, inputs: Tensor, data_samples) -> dict:
        labels = torch.stack([torch.as_tensor(s.gt_label) for s in data_samples]).to(inputs.device).long()
        return self.head.loss(self.backbone(inputs), labels)

    def predict(self, inputs: Tensor, data_samples=None) -> list[DataSample]:
        logits = self.tensor_forward(inputs)
        samples = data_samples or [DataSample() for _ in range(len(inputs))]
        for s, row in zip(samples, logits):
            s.pred_score = row.softmax(0)
            s.pred_label = int(row.argmax())
        return samples
