"""HRNetV2 face-landmark head (official ``head``) with the official MSE heatmap loss.

Decoding is the task bridge's job (:class:`~hrvision.tasks.face.bridge.FaceBridge`).

Layers: HRNetV2 concat (a neck) -> 1x1 conv(15C->15C, bias) -> BN -> ReLU -> conv(->K heatmaps).
The Sequential is called ``head`` so the official checkpoint keys ``head.0..3`` map to
``head.head.*`` in :class:`~hrvision.tasks.face.model.FaceModel`.

Official quirk not reproduced: with ``FINAL_CONV_KERNEL == 3`` the official ``head.0`` (a 1x1
conv) also gets padding 1, which grows the map by two pixels; the shipped configs use kernel 1,
where both agree (SPEC §8.25).
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from hrvision.checks import check_int
from hrvision.heads.segmentation import concat_head_layers
from hrvision.registry import MODELS, register_alias


@MODELS.register_module()
class FaceHead(nn.Module):
    """Heatmap head for K landmarks. Input: (N, 15C, H/4, W/4) concat map; output (N, K, H/4, W/4).

    Args:
        in_channels: channels of the HRNetV2 concat map (270 for W18).
        num_landmarks: the dataset's landmark count (its metadata's ``keypoint_names``; 98 for the WFLW preset, 68
            for 300W, 29 COFW, 19 AFLW); ``FaceModel.check_dataset_meta`` refuses a count that differs.
        kernel: ``FINAL_CONV_KERNEL`` of the last conv (official: 1).
        momentum: BatchNorm momentum (official face code: 0.01); ``FaceModel`` fills it from its backbone.
        loss_weight: factor on the MSE (official: 1, plain ``MSELoss`` mean over all elements).
    """

    def __init__(self, in_channels: int, num_landmarks: int = 98, kernel: int = 1, momentum: float = 0.01,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if kernel not in (1, 3):
            raise ValueError(f'FaceHead kernel must be 1 or 3 (official FINAL_CONV_KERNEL), got {kernel}')
        num_landmarks = check_int('FaceHead num_landmarks', num_landmarks, low=1)
        self.head = concat_head_layers(in_channels, num_landmarks, kernel, momentum)
        self.num_landmarks = num_landmarks
        self.loss_weight = loss_weight

    def forward(self, x: Tensor) -> Tensor:
        return self.head(x)

    def loss(self, x: Tensor, target: Tensor) -> dict[str, Tensor]:
        """``target``: (N, K, h, w) gaussian heatmaps (the codec's targets). Official: no target weights."""
        heatmaps = self.forward(x)
        if heatmaps.shape != target.shape:
            raise ValueError(f'heatmap targets have shape {tuple(target.shape)}, the head outputs '
                             f'{tuple(heatmaps.shape)}; check the codec heatmap size vs the input size')
        return {'loss_heatmap': self.loss_weight * F.mse_loss(heatmaps.float(), target.float())}

# Old names (one vocabulary per task, docs/ARCHITECTURE.md): configs and old checkpoints still build,
# with a warning once per name; the Python names stay importable.
register_alias(MODELS, 'LandmarkHead', FaceHead)
LandmarkHead = FaceHead
