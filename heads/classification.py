"""HRNet ImageNet classification head (official ``cls_hrnet``; the same keys in timm).

Per branch one Bottleneck (``incre_modules.i``) widening to 4*head_channels[i], then strided 3x3
convs (``downsamp_modules``) fold the high-resolution branch into the next one, a 1x1
``final_layer`` to ``final_channels``, global average pooling and a Linear ``classifier``.
The official code hard-codes head_channels (32, 64, 128, 256), 2048 and 1000 classes.
"""
from __future__ import annotations

from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from hrvision.backbones.hrnet import Bottleneck, make_layer
from hrvision.registry import MODELS


@MODELS.register_module()
class ClassificationHead(nn.Module):
    def __init__(self, in_channels: Sequence[int], head_channels: Sequence[int] = (32, 64, 128, 256),
                 final_channels: int = 2048, num_classes: int = 1000, momentum: float = 0.1) -> None:
        super().__init__()
        if len(in_channels) != len(head_channels):
            raise ValueError(f'in_channels {list(in_channels)} and head_channels {list(head_channels)} differ in length')
        widths = [c * Bottleneck.expansion for c in head_channels]
        self.incre_modules = nn.ModuleList(
            make_layer(Bottleneck, cin, c, 1, momentum) for cin, c in zip(in_channels, head_channels))
        self.downsamp_modules = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i], widths[i + 1], 3, 2, 1, bias=True),
                          nn.BatchNorm2d(widths[i + 1], momentum=momentum), nn.ReLU(inplace=True))
            for i in range(len(widths) - 1))
        self.final_layer = nn.Sequential(nn.Conv2d(widths[-1], final_channels, 1, bias=True),
                                         nn.BatchNorm2d(final_channels, momentum=momentum), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(final_channels, num_classes)
        self.num_classes = num_classes

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        y = self.incre_modules[0](feats[0])
        for i, down in enumerate(self.downsamp_modules):
            y = self.incre_modules[i + 1](feats[i + 1]) + down(y)
        y = self.final_layer(y)
        return self.classifier(y.mean(dim=(2, 3)))

    def loss(self, feats: Sequence[Tensor], labels: Tensor) -> dict[str, Tensor]:
        return {'loss_cls': F.cross_entropy(self.forward(feats), labels)}
