"""A model whose export cannot match eager: its output depends on the input width through Python control flow,
which tracing bakes in (TorchScript) or specialises (torch.export). Used by tests/test_export.py (refusal path)."""
from torch import nn

from hrvision.registry import MODELS


@MODELS.register_module()
class WidthBranchNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        y = self.conv(x)
        return y * 2 if x.shape[-1] == 32 else y * 3
