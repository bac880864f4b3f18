"""Top-down keypoint head: the official pose ``final_layer`` on the stride-4 branch, its loss and flip test.

* ``forward``: 1x1 conv (bias) of one HRNet map -> K heatmaps at that map's stride (officially the stride-4
  branch; ``in_index`` picks another of the maps it is given, for the article's 1x/2x/4x/8x experiment).
  The conv is named ``final_layer`` so official keys ``final_layer.*`` (and mmpose
  ``keypoint_head.final_layer.*``) map to ``head.final_layer.*`` in :class:`~hrvision.tasks.pose.model.PoseModel`.
* ``loss``: official ``JointsMSELoss(use_target_weight=True)``: ``0.5 * mean(((pred - gt) * w) ** 2)``
  (per-joint MSE averaged over joints, which is the same number), plus the official PCK accuracy.
* ``predict``: official flip test -- flip back with the pairs, shift one pixel right, average (heatmaps;
  the pose bridge decodes them).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from hrvision.checks import check_int
from hrvision.codecs.heatmap import flip_back, get_max_preds, shift_right
from hrvision.errors import InputError
from hrvision.registry import MODELS

COCO_FLIP_PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))


def joints_mse_loss(heatmaps: Tensor, target: Tensor, target_weight: Tensor | None = None) -> Tensor:
    """Official ``JointsMSELoss``: heatmaps/target (N, K, H, W), target_weight (N, K) or (N, K, 1) or None."""
    if heatmaps.shape != target.shape:
        raise ValueError(f'heatmap targets have shape {tuple(target.shape)} but the head outputs '
                         f'{tuple(heatmaps.shape)}; check the codec heatmap size against the input size')
    diff = heatmaps.float() - target.float()
    if target_weight is not None:
        diff = diff * target_weight.reshape(*heatmaps.shape[:2], 1, 1).float()
    return 0.5 * diff.pow(2).mean()


def heatmap_accuracy(output: Tensor, target: Tensor, thr: float = 0.5) -> tuple[Tensor, Tensor, int]:
    """Official ``core.evaluate.accuracy`` (PCK of the heatmap argmax): distances normalised by
    ``(H/10, W/10)`` applied to (x, y) as officially; joints whose target argmax is not > 1 in both
    axes are skipped. Returns (per-joint accuracy (K,) with -1 for skipped joints, average, count)."""
    pred, _ = get_max_preds(output.detach().float())
    gt, _ = get_max_preds(target.detach().float())
    h, w = output.shape[-2:]
    norm = torch.tensor([h / 10, w / 10], dtype=pred.dtype, device=pred.device)
    valid = (gt[..., 0] > 1) & (gt[..., 1] > 1)                   # (N, K)
    dist = ((pred - gt) / norm).norm(dim=-1)
    n_valid = valid.sum(0)
    hits = ((dist < thr) & valid).sum(0)
    acc = torch.where(n_valid > 0, hits.float() / n_valid.clamp_min(1), torch.full_like(hits, -1, dtype=torch.float))
    counted = acc >= 0
    cnt = int(counted.sum())
    avg = acc[counted].mean() if cnt else acc.new_zeros(())
    return acc, avg, cnt


@MODELS.register_module()
class KeypointHead(nn.Module):
    """Args:
        in_channels: channels of the stride-4 branch (C0: 32 for W32, 48 for W48).
        num_keypoints: 17 for COCO.
        kernel: official ``FINAL_CONV_KERNEL`` (1; 3 uses padding 1).
        use_target_weight: weight each joint's error by its target weight (official: True).
        loss_weight: factor on the loss.
        flip_pairs: left/right pairs for the flip test.
        shift_heatmap: official ``SHIFT_HEATMAP`` (one-pixel right shift of the flipped heatmaps).
        in_index: which of the feature maps it is given the head reads (0: the first; a single map is read as is).
    """

    def __init__(self, in_channels: int, num_keypoints: int = 17, kernel: int = 1, use_target_weight: bool = True,
                 loss_weight: float = 1.0, flip_pairs: Sequence[Sequence[int]] = COCO_FLIP_PAIRS,
                 shift_heatmap: bool = True, in_index: int = 0) -> None:
        super().__init__()
        self.in_index = check_int('KeypointHead in_index', in_index, low=0)
        num_keypoints = check_int('KeypointHead num_keypoints', num_keypoints, low=1)
        if kernel not in (1, 3):
            raise ValueError(f'KeypointHead kernel must be 1 or 3 (official FINAL_CONV_KERNEL), got {kernel}')
        bad = [p for p in flip_pairs if not all(0 <= i < num_keypoints for i in p)]
        if bad:
            raise ValueError(f'flip_pairs {bad} name keypoints outside 0..{num_keypoints - 1}')
        self.final_layer = nn.Conv2d(in_channels, num_keypoints, kernel, 1, 1 if kernel == 3 else 0, bias=True)
        self.num_keypoints = num_keypoints
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight
        self.flip_pairs = [tuple(p) for p in flip_pairs]
        self.shift_heatmap = shift_heatmap

    def init_weights(self) -> None:
        """Official init: normal(0, 0.001) weights, zero bias."""
        nn.init.normal_(self.final_layer.weight, std=0.001)
        nn.init.zeros_(self.final_layer.bias)

    def forward(self, feats: Tensor | Sequence[Tensor]) -> Tensor:
        if isinstance(feats, (list, tuple)):
            if self.in_index >= len(feats):
                raise InputError(f'KeypointHead in_index={self.in_index} but it was given {len(feats)} feature map(s)')
            feats = feats[self.in_index]
        return self.final_layer(feats)

    def loss(self, feats: Tensor | Sequence[Tensor], target: Tensor, target_weight: Tensor | None = None
             ) -> dict[str, Tensor]:
        heatmaps = self.forward(feats)
        w = target_weight if self.use_target_weight else None
        loss = self.loss_weight * joints_mse_loss(heatmaps, target, w)
        _, avg, _ = heatmap_accuracy(heatmaps, target)
        return {'loss_kpt': loss, 'acc_pose': avg.to(loss.device)}

    def flip_average(self, heatmaps: Tensor, heatmaps_flipped: Tensor) -> Tensor:
        """Official flip test: flip back with the pairs, shift right by one pixel, average."""
        back = flip_back(heatmaps_flipped, self.flip_pairs)
        if self.shift_heatmap:
            back = shift_right(back)
        return (heatmaps + back) * 0.5

    def predict(self, feats: Tensor | Sequence[Tensor], feats_flipped: Tensor | Sequence[Tensor] | None = None
                ) -> Tensor:
        """Heatmaps, flip-averaged when ``feats_flipped`` is given; decoding is the task bridge's job
        (:class:`~hrvision.tasks.pose.bridge.PoseBridge`)."""
        heatmaps = self.forward(feats)
        if feats_flipped is not None:
            heatmaps = self.flip_average(heatmaps, self.forward(feats_flipped))
        return heatmaps
