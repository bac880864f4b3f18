"""HRNet + classification head as an mmengine model (``forward`` returns logits)."""
from __future__ import annotations

import torch
from mmengine.model import BaseModel
from torch import Tensor

from hrvision.engine.preprocessor import build_data_preprocessor, build_module
from hrvision.registry import MODELS
from hrvision.structures import DataSample


@MODELS.register_module()
class ClassificationModel(BaseModel):
    def __init__(self, backbone, head, data_preprocessor=None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=build_data_preprocessor(data_preprocessor), init_cfg=init_cfg)
        self.backbone = build_module(backbone)
        self.head = build_module(head)

    def forward(self, inputs: Tensor, data_samples: list[DataSample] | None = None, mode: str = 'tensor'):
        feats = self.backbone(inputs)
        if mode == 'tensor':
            return self.head(feats)
        if mode == 'loss':
            labels = torch.stack([torch.as_tensor(s.gt_label) for s in data_samples]).to(inputs.device).long()
            return self.head.loss(feats, labels)
        if mode == 'predict':
            logits = self.head(feats)
            samples = data_samples or [DataSample() for _ in range(len(inputs))]
            for s, row in zip(samples, logits):
                s.pred_score = row.softmax(0)
                s.pred_label = int(row.argmax())
            return samples
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")
