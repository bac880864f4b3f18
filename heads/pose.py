"""Top-down keypoint head: the official pose ``final_layer`` on the stride-4 branch, its loss and flip test.

* ``forward``: 1x1 conv (bias) of one HRNet map -> K heatmaps at that map's stride (officially the stride-4
  branch; ``in_index`` picks another of the maps it is given, for the article's 1x/2x/4x/8x experiment).
  The conv is named ``final_layer`` so official keys ``final_layer.*`` (and mmpose
  ``keypoint_head.final_layer.*``) map to ``head.final_layer.*`` in :class:`~hrvision.tasks.pose.model.PoseModel`.
* ``loss``: official ``JointsMSELoss(use_target_weight=True)``: ``0.5 * mean(((pred - gt) * w) ** 2)``
  (per-joint MSE averaged over joints, which is the same number), plus the official PCK accuracy.
* ``predict``: official flip test -- flip back with the dataset's ``flip_indices`` (the metadata's pairs, given by
  the caller: data samples or ``model.dataset_meta``), shift one pixel right, average (heatmaps; the pose bridge
  decodes them).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from hrvision.checks import check_int
from hrvision.codecs.heatmap import get_max_preds, shift_right
from hrvision.data.metainfo import flip_indices as pairs_to_indices
from hrvision.errors import ConfigError, InputError
from hrvision.registry import MODELS, register_alias


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
class PoseHead(nn.Module):
    """Args:
        in_channels: channels of the stride-4 branch (C0: 32 for W32, 48 for W48).
        num_keypoints: 17 for COCO.
        kernel: official ``FINAL_CONV_KERNEL`` (1; 3 uses padding 1).
        use_target_weight: weight each joint's error by its target weight (official: True).
        loss_weight: factor on the loss.
        flip_pairs: deprecated (the flip test reads the dataset's ``flip_indices``); when given, it must agree
            with the dataset's (refused otherwise) and serves a model used without any metadata.
        shift_heatmap: official ``SHIFT_HEATMAP`` (one-pixel right shift of the flipped heatmaps).
        in_index: which of the feature maps it is given the head reads (0: the first; a single map is read as is).
    """

    def __init__(self, in_channels: int, num_keypoints: int = 17, kernel: int = 1, use_target_weight: bool = True,
                 loss_weight: float = 1.0, flip_pairs: Sequence[Sequence[int]] | None = None,
                 shift_heatmap: bool = True, in_index: int = 0) -> None:
        super().__init__()
        self.in_index = check_int('PoseHead in_index', in_index, low=0)
        num_keypoints = check_int('PoseHead num_keypoints', num_keypoints, low=1)
        if kernel not in (1, 3):
            raise ValueError(f'PoseHead kernel must be 1 or 3 (official FINAL_CONV_KERNEL), got {kernel}')
        if flip_pairs is not None and (isinstance(flip_pairs, str) or not all(
                isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(i, int) for i in p)
                for p in flip_pairs)):
            raise ConfigError(f'model.head.flip_pairs must be a list of (left, right) 0-based index pairs, got '
                              f'{flip_pairs!r:.80}')
        bad = [tuple(p) for p in flip_pairs or () if not all(0 <= i < num_keypoints for i in p)]
        if bad:
            raise ConfigError(f'model.head.flip_pairs {bad} name keypoints outside 0..{num_keypoints - 1} '
                              f'(num_keypoints={num_keypoints}); better leave flip_pairs out: the dataset states them')
        self.final_layer = nn.Conv2d(in_channels, num_keypoints, kernel, 1, 1 if kernel == 3 else 0, bias=True)
        self.num_keypoints = num_keypoints
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight
        self.flip_pairs = None if flip_pairs is None else [tuple(p) for p in flip_pairs]
        self.shift_heatmap = shift_heatmap

    def init_weights(self) -> None:
        """Official init: normal(0, 0.001) weights, zero bias."""
        nn.init.normal_(self.final_layer.weight, std=0.001)
        nn.init.zeros_(self.final_layer.bias)

    def forward(self, feats: Tensor | Sequence[Tensor]) -> Tensor:
        if isinstance(feats, (list, tuple)):
            if self.in_index >= len(feats):
                raise InputError(f'PoseHead in_index={self.in_index} but it was given {len(feats)} feature map(s)')
            feats = feats[self.in_index]
        return self.final_layer(feats)

    def loss(self, feats: Tensor | Sequence[Tensor], target: Tensor, target_weight: Tensor | None = None
             ) -> dict[str, Tensor]:
        heatmaps = self.forward(feats)
        w = target_weight if self.use_target_weight else None
        loss = self.loss_weight * joints_mse_loss(heatmaps, target, w)
        _, avg, _ = heatmap_accuracy(heatmaps, target)
        return {'loss_kpt': loss, 'acc_pose': avg.to(loss.device)}

    def resolve_flip_indices(self, flip_indices, source: str = 'the data') -> list:
        """The permutation the flip test uses: the dataset's ``flip_indices`` (one list, or one per sample), else
        the deprecated ``flip_pairs`` argument; a ``flip_pairs`` that disagrees with the dataset is refused."""
        own = None if self.flip_pairs is None else pairs_to_indices(self.num_keypoints, self.flip_pairs)
        if flip_indices is None:
            if own is None:
                raise ConfigError('the flip test needs the keypoints\' flip pairs: none in the data samples '
                                  '(metainfo flip_indices, from the dataset) nor in model.dataset_meta; give the '
                                  'dataset metainfo (keypoint_names / flip_pairs) or set model.test_cfg.flip_test=False')
            return own
        arr = np.asarray(flip_indices)
        if arr.dtype.kind not in 'iu' or arr.ndim not in (1, 2):
            raise ConfigError(f'flip_indices from {source} must be a list of keypoint indices, got {flip_indices!r:.80}')
        per = [list(map(int, p)) for p in (arr if arr.ndim == 2 else arr[None])]
        if all(p == per[0] for p in per):
            per = per[:1]
        for p in per:
            if sorted(p) != list(range(self.num_keypoints)):
                raise ConfigError(f'flip_indices from {source} ({len(p)} entries) is not a permutation of the head\'s '
                                  f'{self.num_keypoints} keypoints')
            if own is not None and p != own:
                raise ConfigError(f'model.head.flip_pairs {self.flip_pairs} disagrees with the flip_indices of '
                                  f'{source} ({p}); leave flip_pairs out, the dataset metadata states them')
        return per if len(per) > 1 else per[0]

    def flip_average(self, heatmaps: Tensor, heatmaps_flipped: Tensor, flip_indices=None) -> Tensor:
        """Official flip test: mirror the flipped heatmaps back, put each keypoint's map at its mirror's index
        (``flip_indices``: the dataset's, one list or one per sample), shift right by one pixel, average."""
        perm = self.resolve_flip_indices(flip_indices)
        back = heatmaps_flipped.flip(-1)
        idx = torch.as_tensor(perm, dtype=torch.long, device=back.device)
        if idx.dim() == 1:
            back = back[:, idx]
        else:
            back = back[torch.arange(back.shape[0], device=back.device)[:, None], idx]
        if self.shift_heatmap:
            back = shift_right(back)
        return (heatmaps + back) * 0.5

    def predict(self, feats: Tensor | Sequence[Tensor], feats_flipped: Tensor | Sequence[Tensor] | None = None,
                flip_indices=None) -> Tensor:
        """Heatmaps, flip-averaged when ``feats_flipped`` is given; decoding is the task bridge's job
        (:class:`~hrvision.tasks.pose.bridge.PoseBridge`)."""
        heatmaps = self.forward(feats)
        if feats_flipped is not None:
            heatmaps = self.flip_average(heatmaps, self.forward(feats_flipped), flip_indices)
        return heatmaps


# Old names (one vocabulary per task, docs/ARCHITECTURE.md): configs and old checkpoints still build,
# with a warning once per name; the Python names stay importable.
register_alias(MODELS, 'KeypointHead', PoseHead)
KeypointHead = PoseHead
