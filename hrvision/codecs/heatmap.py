"""Gaussian heatmap codec shared by pose and face: targets per sample, batched decoding in torch.

One class per convention, both registered in ``TASK_UTILS`` and built by :func:`build_codec`; each
reproduces its official code base (SPEC §3.1, §3.2) number for number. Heads and bridges receive a codec
object, never a convention name.

:class:`PoseHeatmapCodec` (deep-high-resolution-net.pytorch)
    * ``encode(keypoints, visible)``: keypoints (K, 2) in *input-crop* pixels; ``mu = int(x / stride + 0.5)``,
      a 6σ+1 window, peak 1; ``keypoint_weights = visible``, 0 when the window is off the heatmap;
      invisible joints get no Gaussian (``JointsDataset.generate_target``).
    * ``decode(heatmaps, center, scale)``: argmax (first maximum; (0, 0) when max <= 0) -> asymmetric
      quarter-pixel shift (only when ``1 < x < W-1``, ``1 < y < H-1``) or DARK (``decode_mode='dark'``)
      -> inverse affine of (center, scale, rot 0, heatmap size). Returns image pixels (float) and the
      maxima as scores (``get_final_preds``).

:class:`FaceHeatmapCodec` (HRNet-Facial-Landmark-Detection)
    * ``encode(keypoints, center=c, scale=s, rot=r)``: keypoints (K, 2) in *original-image* pixels;
      ``tpts = transform_pixel(pts + 1, c, s, heatmap)`` for points with y > 0, Gaussian drawn at ``tpts - 1``
      (σ 1.5: asymmetric 10-pixel window); returns ``heatmap_keypoints`` = tpts as the official ``meta['tpts']``.
      Without center/scale the keypoints are taken as heatmap pixels and drawn as they are.
    * ``decode(heatmaps, center, scale)``: 1-based argmax -> symmetric ±0.25 shift -> +0.5 ->
      ``transform_pixel(..., invert=1)``: integer image pixels, as ``decode_preds``. ``scale`` is (N,).

Batch helpers (torch, (N, K, H, W), no per-keypoint loops): :func:`get_max_preds`, :func:`refine_quarter`,
:func:`refine_dark`, :func:`face_get_preds`, :func:`face_refine`, :func:`heatmap_to_image`,
:func:`face_heatmap_to_image`, :func:`flip_back` (+ :func:`shift_right` for the pose flip test).

Example (face developer)::

    codec = build_codec(dict(type='FaceHeatmapCodec', input_size=(256, 256), heatmap_size=(64, 64), sigma=1.5))
    enc = codec.encode(pts, center=c, scale=s, rot=r)   # enc['heatmaps'] (K, 64, 64), enc['heatmap_keypoints']
    coords, scores = codec.decode(model(images), centers, scales)   # (N, K, 2) image pixels, (N, K)
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hrvision.data.keypoints import face_transform, flip_permutation, get_affine_transform, transform_pixel
from hrvision.errors import ConfigError, OptionError, UnknownNameError, did_you_mean
from hrvision.registry import TASK_UTILS

DECODE_MODES = ('quarter', 'dark', 'none')


# ---------------------------------------------------------------------------------------------
# Encoding (numpy, one sample)
# ---------------------------------------------------------------------------------------------

def draw_gaussians(mu: np.ndarray, sigma: float, size: Sequence[int], draw: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Official window drawing, vectorised over points.

    ``mu`` (K, 2) centres in heatmap pixels; window ``ul = int(mu - 3σ)``, ``br = int(mu + 3σ + 1)``
    (truncation toward zero), values ``g[p - ul]`` of a ``2*3σ+1`` float32 Gaussian centred at
    index ``(2*3σ+1)//2``. Returns (heatmaps (K, H, W) float32, inside (K,) bool: window touches the map).
    Only points with ``draw`` True are painted.
    """
    w, h = int(size[0]), int(size[1])
    mu = np.asarray(mu, np.float64).reshape(-1, 2)
    k = len(mu)
    tmp = sigma * 3
    n_win = int(math.ceil(2 * tmp + 1))           # len(np.arange(0, 2*tmp+1))
    c0 = (2 * tmp + 1) // 2
    ul = np.trunc(mu - tmp).astype(np.int64)
    br = np.trunc(mu + tmp + 1).astype(np.int64)
    inside = ~((ul[:, 0] >= w) | (ul[:, 1] >= h) | (br[:, 0] < 0) | (br[:, 1] < 0))
    out = np.zeros((k, h, w), np.float32)
    paint = inside & np.asarray(draw, bool).reshape(-1)
    if not paint.any():
        return out, inside
    xs, ys = np.arange(w), np.arange(h)
    ix = xs[None] - ul[paint, 0:1]                   # window index per pixel (P, W)
    iy = ys[None] - ul[paint, 1:2]
    vx = (xs[None] < br[paint, 0:1]) & (ix >= 0) & (ix < n_win)
    vy = (ys[None] < br[paint, 1:2]) & (iy >= 0) & (iy < n_win)
    dx = (ix.astype(np.float32) - np.float32(c0)) ** 2
    dy = (iy.astype(np.float32) - np.float32(c0)) ** 2
    g = np.exp(-(dx[:, None, :] + dy[:, :, None]) / np.float32(2 * sigma ** 2)).astype(np.float32)
    out[paint] = np.where(vy[:, :, None] & vx[:, None, :], g, np.float32(0))
    return out, inside


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)


# ---------------------------------------------------------------------------------------------
# Decoding (torch, batches)
# ---------------------------------------------------------------------------------------------

def _check_heatmaps(heatmaps: Tensor) -> Tensor:
    if not isinstance(heatmaps, Tensor):
        heatmaps = torch.as_tensor(np.asarray(heatmaps))
    if heatmaps.dim() != 4:
        raise ValueError(f'heatmaps must be (N, K, H, W); got shape {tuple(heatmaps.shape)}')
    if heatmaps.dtype in (torch.float16, torch.bfloat16):   # coordinates need more than 8-11 mantissa bits
        heatmaps = heatmaps.float()
    return heatmaps


def _gather(hm: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """hm (N, K, H, W), integer x/y (N, K) clamped into the map -> values (N, K)."""
    h, w = hm.shape[-2:]
    idx = (y.clamp(0, h - 1) * w + x.clamp(0, w - 1)).long()
    return hm.flatten(2).gather(2, idx.unsqueeze(-1)).squeeze(-1)


def get_max_preds(heatmaps: Tensor) -> tuple[Tensor, Tensor]:
    """Argmax per map (first maximum, row-major) -> (coords (N, K, 2) float (x, y), maxvals (N, K)).
    Coordinates are (0, 0) where the maximum is <= 0, as official ``get_max_preds``."""
    hm = _check_heatmaps(heatmaps)
    w = hm.shape[-1]
    maxvals, idx = hm.flatten(2).max(dim=2)
    coords = torch.stack([idx % w, torch.div(idx, w, rounding_mode='floor')], dim=-1).to(hm.dtype)
    coords = coords * (maxvals > 0).unsqueeze(-1).to(hm.dtype)
    return coords, maxvals


def refine_quarter(heatmaps: Tensor, coords: Tensor) -> Tensor:
    """Pose post-processing: ``+0.25*sign`` of the neighbour difference, only where
    ``1 < px < W-1`` and ``1 < py < H-1`` with ``p = floor(c + 0.5)`` (asymmetric, as official)."""
    hm = _check_heatmaps(heatmaps)
    h, w = hm.shape[-2:]
    px = torch.floor(coords[..., 0] + 0.5).long()
    py = torch.floor(coords[..., 1] + 0.5).long()
    ok = ((px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)).to(coords.dtype)
    dx = _gather(hm, px + 1, py) - _gather(hm, px - 1, py)
    dy = _gather(hm, px, py + 1) - _gather(hm, px, py - 1)
    return coords + torch.stack([dx.sign(), dy.sign()], -1).to(coords.dtype) * 0.25 * ok.unsqueeze(-1)


def _blur(hm: Tensor, kernel: int) -> Tensor:
    """Gaussian blur (cv2's sigma for ``kernel``), zero border, peak height preserved (DARK)."""
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8
    r = torch.arange(kernel, dtype=hm.dtype, device=hm.device) - (kernel - 1) / 2
    g = torch.exp(-r ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    n, k, h, w = hm.shape
    x = hm.reshape(n * k, 1, h, w)
    x = F.conv2d(x, g.view(1, 1, 1, -1), padding=(0, kernel // 2))
    x = F.conv2d(x, g.view(1, 1, -1, 1), padding=(kernel // 2, 0)).reshape(n, k, h, w)
    peak_before = hm.flatten(2).amax(2)
    peak_after = x.flatten(2).amax(2).clamp_min(1e-12)
    return x * (peak_before / peak_after)[..., None, None]


def refine_dark(heatmaps: Tensor, coords: Tensor, kernel: int = 11) -> Tensor:
    """DARK (Zhang et al., CVPR 2020): blur, log, second-order Taylor step ``-H^-1 g`` at the
    integer maximum, where ``1 < px < W-2`` and ``1 < py < H-2`` and the Hessian is invertible."""
    hm = _check_heatmaps(heatmaps).float()
    h, w = hm.shape[-2:]
    lg = torch.log(_blur(hm, kernel).clamp_min(1e-10))
    px, py = coords[..., 0].round().long(), coords[..., 1].round().long()

    def at(dx: int, dy: int) -> Tensor:
        return _gather(lg, px + dx, py + dy)

    c = at(0, 0)
    gx = 0.5 * (at(1, 0) - at(-1, 0))
    gy = 0.5 * (at(0, 1) - at(0, -1))
    dxx = 0.25 * (at(2, 0) - 2 * c + at(-2, 0))
    dyy = 0.25 * (at(0, 2) - 2 * c + at(0, -2))
    dxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    det = dxx * dyy - dxy ** 2
    ok = (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2) & (det.abs() > 1e-12)
    safe = torch.where(ok, det, torch.ones_like(det))
    ox = -(dyy * gx - dxy * gy) / safe
    oy = -(-dxy * gx + dxx * gy) / safe
    off = torch.stack([ox, oy], -1) * ok.unsqueeze(-1)
    return coords + off.to(coords.dtype)


def _matrices(fn, center, scale, n: int) -> np.ndarray:
    c, s = _np(center), _np(scale)
    if c.shape[0] != n or s.shape[0] != n:
        raise ValueError(f'center/scale must have one row per heatmap sample ({n}); got center {c.shape}, '
                         f'scale {s.shape}')
    return np.stack([fn(c[i], s[i]) for i in range(n)])    # per sample (not per keypoint): cheap


def heatmap_to_image(coords: Tensor, center, scale, heatmap_size: Sequence[int]) -> Tensor:
    """Pose ``transform_preds``: heatmap pixels (N, K, 2) -> image pixels with the inverse affine of
    (center, scale, rot 0, heatmap size (W, H)); the matrices are the official cv2 construction."""
    mats = _matrices(lambda c, s: get_affine_transform(c, s, 0, heatmap_size, inv=True),
                     center, scale, coords.shape[0])
    m = torch.as_tensor(mats, dtype=torch.float64, device=coords.device)
    p = coords.double()
    return (p @ m[:, :, :2].transpose(1, 2) + m[:, None, :, 2]).to(coords.dtype)


def face_get_preds(heatmaps: Tensor) -> tuple[Tensor, Tensor]:
    """Face ``get_preds``: 1-based (x, y) of the maximum, 0 where max <= 0; plus maxvals (N, K)."""
    coords, maxvals = get_max_preds(heatmaps)
    return (coords + 1) * (maxvals > 0).unsqueeze(-1).to(coords.dtype), maxvals


def face_refine(heatmaps: Tensor, coords: Tensor) -> Tensor:
    """Face ``decode_preds`` shift: ±0.25 toward the larger neighbour where ``1 < p < res`` (1-based,
    symmetric), then +0.5."""
    hm = _check_heatmaps(heatmaps)
    h, w = hm.shape[-2:]
    px = torch.floor(coords[..., 0]).long()
    py = torch.floor(coords[..., 1]).long()
    ok = ((px > 1) & (px < w) & (py > 1) & (py < h)).to(coords.dtype)
    x0, y0 = px - 1, py - 1
    dx = _gather(hm, x0 + 1, y0) - _gather(hm, x0 - 1, y0)
    dy = _gather(hm, x0, y0 + 1) - _gather(hm, x0, y0 - 1)
    coords = coords + torch.stack([dx.sign(), dy.sign()], -1).to(coords.dtype) * 0.25 * ok.unsqueeze(-1)
    return coords + 0.5


def face_heatmap_to_image(coords: Tensor, center, scale, heatmap_size: Sequence[int]) -> Tensor:
    """Face ``transform_preds``: ``int(T^-1 (p - 1)) + 1`` per point (integers, truncation toward zero).
    ``heatmap_size`` is (W, H); ``scale`` is (N,)."""
    hw = (heatmap_size[1], heatmap_size[0])
    mats = _matrices(lambda c, s: np.linalg.inv(face_transform(c, s, hw)), center,
                     _np(scale).reshape(-1), coords.shape[0])
    m = torch.as_tensor(mats, dtype=torch.float64, device=coords.device)
    p = coords.double() - 1
    out = p @ m[:, :2, :2].transpose(1, 2) + m[:, None, :2, 2]
    return (torch.trunc(out) + 1).to(coords.dtype)


def flip_back(heatmaps: Tensor, flip_pairs: Sequence[Sequence[int]]) -> Tensor:
    """Heatmaps of a horizontally flipped input -> the unflipped layout: reverse W, swap pairs."""
    hm = _check_heatmaps(heatmaps).flip(-1)
    return hm[:, flip_permutation(hm.shape[1], flip_pairs)]


def shift_right(heatmaps: Tensor) -> Tensor:
    """Official ``SHIFT_HEATMAP``: ``out[..., 1:] = out[..., :-1]`` (column 0 keeps its value)."""
    return torch.cat([heatmaps[..., :1], heatmaps[..., :-1]], dim=-1)


# ---------------------------------------------------------------------------------------------
# The codec objects: one class per convention, sharing the checks and the decode skeleton
# ---------------------------------------------------------------------------------------------

def _check_size(where: str, size) -> None:
    """A (W, H) pair of positive integers, else one line naming ``where``."""
    ok = isinstance(size, (tuple, list)) and len(size) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in size)
    if not ok:
        raise ConfigError(f'{where}: expected (W, H), two positive integers; got {size!r}')


def _check_sigma(where: str, sigma) -> None:
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.number)) or not sigma > 0:
        raise ConfigError(f'{where}: expected a positive number (Gaussian σ in heatmap pixels); got {sigma!r}')


class BaseHeatmapCodec:
    """What both conventions share: sizes, σ, the decode skeleton (refine -> optional image mapping).

    Subclasses implement ``encode``, ``decode_heatmap_coords`` and ``to_image``; ``convention`` names the
    official code base they reproduce (for reports, never for branching)."""

    convention = ''

    def __init__(self, input_size: Sequence[int], heatmap_size: Sequence[int] | None, sigma: float) -> None:
        name = type(self).__name__
        _check_size(f'{name} input_size', input_size)
        if heatmap_size is None:   # never a default: it follows from the map the head reads
            raise ConfigError(f'{name} heatmap_size is not set: give (W, H), or leave it out of a model/pipeline codec '
                              'config, where it is filled from the head\'s stride (hrvision.codecs.fill_heatmap_size)')
        _check_size(f'{name} heatmap_size', heatmap_size)
        _check_sigma(f'{name} sigma', sigma)
        self.input_size = tuple(int(v) for v in input_size)
        self.heatmap_size = tuple(int(v) for v in heatmap_size)
        self.sigma = sigma
        self.stride = np.array(self.input_size, np.float64) / np.array(self.heatmap_size, np.float64)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, heatmap_size={self.heatmap_size}, '
                f'sigma={self.sigma})')

    @staticmethod
    def _keypoints(keypoints, visible) -> tuple[np.ndarray, np.ndarray]:
        kp = _np(keypoints).astype(np.float64)
        if kp.ndim != 2 or kp.shape[1] < 2:
            raise ValueError(f'keypoints must be (K, 2) or (K, 3); got shape {kp.shape}')
        kp = kp[:, :2]
        k = len(kp)
        vis = np.ones(k, np.float32) if visible is None else _np(visible).astype(np.float32).reshape(k, -1)[:, 0]
        return kp, vis

    def encode(self, keypoints, visible=None, **kwargs) -> dict:
        raise NotImplementedError

    def decode_heatmap_coords(self, heatmaps: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def to_image(self, coords: Tensor, center, scale) -> Tensor:
        raise NotImplementedError

    def to_input(self, coords: Tensor) -> Tensor:
        """Heatmap coordinates -> network-input pixels when the crop is the whole input (no center/scale): the
        whole-image heads of the multi-task model decode with their own convention this way."""
        raise NotImplementedError

    def encode_input(self, keypoints, visible=None) -> dict:
        """Targets of keypoints in network-input pixels of a whole input (the inverse of :meth:`to_input`)."""
        raise NotImplementedError

    def decode_input(self, heatmaps: Tensor) -> tuple[Tensor, Tensor]:
        """Batch decode -> (keypoints in network-input pixels (N, K, 2), scores (N, K)), see :meth:`to_input`."""
        coords, scores = self.decode(heatmaps)
        return self.to_input(coords), scores

    def decode(self, heatmaps: Tensor, center=None, scale=None) -> tuple[Tensor, Tensor]:
        """Batch decode (N, K, H, W) -> (keypoints (N, K, 2), scores (N, K)); image pixels when
        ``center``/``scale`` are given, else heatmap pixels."""
        hm = _check_heatmaps(heatmaps)
        if (center is None) != (scale is None):
            raise ValueError('decode needs both center and scale, or neither')
        if tuple(hm.shape[-2:]) != (self.heatmap_size[1], self.heatmap_size[0]):
            raise ValueError(f'heatmaps are {tuple(hm.shape[-2:])} (H, W) but the codec was built for '
                             f'{self.heatmap_size[::-1]}')
        coords, scores = self.decode_heatmap_coords(hm)
        if center is not None:
            coords = self.to_image(coords, center, scale)
        return coords, scores


@TASK_UTILS.register_module()
class PoseHeatmapCodec(BaseHeatmapCodec):
    """The official pose convention (deep-high-resolution-net.pytorch; module docstring).

    Args:
        input_size: network input (W, H).
        heatmap_size: heatmap (W, H); required (no default: a config leaves it out and
            :func:`fill_heatmap_size` fills it from the head's stride).
        sigma: Gaussian σ in heatmap pixels (2 at 256x192, 3 at 384x288).
        decode_mode: refinement: ``'quarter'`` (official), ``'dark'`` or ``'none'``.
        dark_kernel: odd blur kernel for DARK.
        joint_weights: optional (K,) multipliers of the target weights
            (official ``USE_DIFFERENT_JOINTS_WEIGHT``).
    """

    convention = 'pose'

    def __init__(self, input_size: Sequence[int] = (192, 256), heatmap_size: Sequence[int] | None = None,
                 sigma: float = 2.0, decode_mode: str = 'quarter', dark_kernel: int = 11,
                 joint_weights: Sequence[float] | None = None) -> None:
        if decode_mode not in DECODE_MODES:
            raise ValueError(f'PoseHeatmapCodec decode_mode must be one of {DECODE_MODES}; got {decode_mode!r}')
        if dark_kernel % 2 != 1:
            raise ValueError(f'dark_kernel must be odd; got {dark_kernel}')
        super().__init__(input_size, heatmap_size, sigma)
        self.decode_mode = decode_mode
        self.dark_kernel = dark_kernel
        self.joint_weights = None if joint_weights is None else np.asarray(joint_weights, np.float32)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', decode_mode={self.decode_mode!r})'

    def encode(self, keypoints, visible=None, **_crop) -> dict:
        """Targets of one crop: ``{'heatmaps': (K, H, W) float32, 'keypoint_weights': (K,) float32}``;
        keypoints in input-crop pixels, ``visible`` (K,) or (K, >=1) (default all visible)."""
        kp, vis = self._keypoints(keypoints, visible)
        mu = np.trunc(kp / self.stride + 0.5)
        heatmaps, inside = draw_gaussians(mu, self.sigma, self.heatmap_size, vis > 0.5)
        weights = np.where(inside, vis, 0).astype(np.float32)
        if self.joint_weights is not None:
            weights = weights * self.joint_weights
        return {'heatmaps': heatmaps, 'keypoint_weights': weights}

    def decode_heatmap_coords(self, heatmaps: Tensor) -> tuple[Tensor, Tensor]:
        """Refined coordinates in heatmap pixels and scores, (N, K, 2), (N, K)."""
        hm = _check_heatmaps(heatmaps)
        coords, maxvals = get_max_preds(hm)
        if self.decode_mode == 'quarter':
            coords = refine_quarter(hm, coords)
        elif self.decode_mode == 'dark':
            coords = refine_dark(hm, coords, self.dark_kernel)
        return coords, maxvals

    def to_image(self, coords: Tensor, center, scale) -> Tensor:
        return heatmap_to_image(coords, center, scale, self.heatmap_size)

    def to_input(self, coords: Tensor) -> Tensor:
        """``coords * stride``: a top-down crop's input pixels, the crop being the whole input."""
        return coords * torch.as_tensor(self.stride, dtype=coords.dtype, device=coords.device)

    def encode_input(self, keypoints, visible=None) -> dict:
        return self.encode(keypoints, visible)   # pose keypoints are in input-crop pixels already


@TASK_UTILS.register_module()
class FaceHeatmapCodec(BaseHeatmapCodec):
    """The official face convention (HRNet-Facial-Landmark-Detection; module docstring): input 256,
    heatmap 64, σ 1.5 by default; decoding only with its official quarter shift."""

    convention = 'face'

    def __init__(self, input_size: Sequence[int] = (256, 256), heatmap_size: Sequence[int] = (64, 64),
                 sigma: float = 1.5) -> None:
        super().__init__(input_size, heatmap_size, sigma)

    def encode(self, keypoints, visible=None, center=None, scale=None, rot: float = 0.0) -> dict:
        """Targets of one face: ``heatmaps`` (K, H, W), ``keypoint_weights`` (K,), ``heatmap_keypoints`` (K, 2)
        (the official ``tpts``). Keypoints in original-image pixels with center/scale, else heatmap pixels."""
        kp, vis = self._keypoints(keypoints, visible)
        tpts = kp.copy()
        mask = vis > 0
        if center is not None:
            mask &= kp[:, 1] > 0            # the official WFLW loader maps only points with y > 0
            if scale is None:
                raise ValueError('face encode with a center needs a scale too')
            hw = (self.heatmap_size[1], self.heatmap_size[0])
            if mask.any():
                tpts[mask] = transform_pixel(kp[mask] + 1, center, float(np.asarray(scale).reshape(-1)[0]), hw,
                                             rot=rot)
            heatmaps, inside = draw_gaussians(tpts - 1, self.sigma, self.heatmap_size, mask)
        else:
            heatmaps, inside = draw_gaussians(kp, self.sigma, self.heatmap_size, mask)
        return {'heatmaps': heatmaps, 'keypoint_weights': (mask & inside).astype(np.float32),
                'heatmap_keypoints': tpts.astype(np.float32)}

    def decode_heatmap_coords(self, heatmaps: Tensor) -> tuple[Tensor, Tensor]:
        """1-based coordinates with the ±0.25 shift and +0.5, and the maxima."""
        hm = _check_heatmaps(heatmaps)
        coords, maxvals = face_get_preds(hm)
        return face_refine(hm, coords), maxvals

    def to_image(self, coords: Tensor, center, scale) -> Tensor:
        return face_heatmap_to_image(coords, center, scale, self.heatmap_size)

    def to_input(self, coords: Tensor) -> Tensor:
        """``trunc(stride * (p - 1)) + 1``: :meth:`to_image` with the box = the whole input (for a square input
        exactly ``transform_pixel(..., invert=1)`` of center = the input's middle, scale = its side / 200)."""
        stride = torch.as_tensor(self.stride, dtype=torch.float64, device=coords.device)
        return (torch.trunc((coords.double() - 1) * stride) + 1).to(coords.dtype)

    def encode_input(self, keypoints, visible=None) -> dict:
        """Targets of keypoints in input pixels, the box = the whole input: heatmap points ``trunc(p / stride)``
        (``transform_pixel(p + 1, ...) - 1`` of :meth:`encode`), only points with y > 0 (as officially)."""
        kp, vis = self._keypoints(keypoints, visible)
        mask = (vis > 0) & (kp[:, 1] > 0)
        heatmaps, inside = draw_gaussians(np.trunc(kp / self.stride), self.sigma, self.heatmap_size, mask)
        return {'heatmaps': heatmaps, 'keypoint_weights': (mask & inside).astype(np.float32)}


CODEC_TYPES = ('PoseHeatmapCodec', 'FaceHeatmapCodec')


def fill_heatmap_size(cfg: dict, stride: int, where: str = 'codec') -> dict:
    """A codec config that leaves out ``heatmap_size`` gets it from the stride of the map its head reads
    (input / stride), so a config states the input size and σ once and choosing another HRNet branch is the only
    change (the article's output-resolution ablation, ``configs/pose/*_{2x,4x,8x}.py``). σ is stated for the
    official stride-4 heatmaps; at a coarser stride it keeps its size in input pixels, but at least 1 heatmap pixel,
    so the target stays a blob rather than a dot: ``max(σ * 4 / stride, 1)``. A config that states
    ``heatmap_size`` is returned unchanged (the model checks it against the stride). ``where`` names the codec in
    messages (``model.codec``): an input size that is not (W, H), not a multiple of the stride, or a σ that is not a
    positive number is refused."""
    if cfg.get('heatmap_size') is not None:
        return cfg
    import inspect
    kind = TASK_UTILS.get(cfg.get('type', 'PoseHeatmapCodec'))
    defaults = {k: v.default for k, v in inspect.signature(kind).parameters.items()} if kind else {}
    input_size = cfg.get('input_size', defaults.get('input_size'))
    sigma = cfg.get('sigma', defaults.get('sigma'))
    _check_size(f'{where}.input_size', input_size)
    _check_sigma(f'{where}.sigma', sigma)
    if any(int(v) % stride for v in input_size):
        raise ConfigError(f'{where}.input_size {tuple(input_size)} is not a multiple of the stride {stride} of the map '
                          f'the head reads: the heatmap would not cover the input evenly; use a multiple of {stride} '
                          f'or set {where}.heatmap_size')
    return dict(cfg, heatmap_size=tuple(int(v) // stride for v in input_size),
                sigma=sigma if stride == 4 else max(sigma * 4 / stride, 1.0))


def fill_targets_codec(targets, codec, default: str) -> None:
    """The training targets encode what the model's codec decodes, so ``codec`` (``model.codec``, a config dict)
    is stated once: each ``(where, transform dict)`` of ``targets`` that states no codec gets a copy of it (in
    place); one that states another (another class, input size, heatmap size or σ) is refused, naming it, since
    targets drawn at another size or σ train a model that is then read wrongly without an error. ``default``: the
    codec class of a config that names none."""
    import copy
    wanted = None
    for where, t in targets:
        if t.get('codec') is None:
            t['codec'] = copy.deepcopy(codec) if codec is not None else dict(type=default)
            continue
        wanted = wanted or _encoding(codec, default)
        stated = _encoding(t['codec'], default)
        if stated != wanted:
            raise ConfigError(f'{where}.codec encodes {_describe(stated)}, but model.codec decodes '
                              f'{_describe(wanted)}: state the codec once, in model.codec (the targets take it)')


def _encoding(codec, default: str) -> tuple:
    built = build_codec(codec, default=default)
    return type(built).__name__, built.input_size, built.heatmap_size, float(built.sigma)


def _describe(enc: tuple) -> str:
    kind, inp, hm, sigma = enc
    return f'{kind}(input_size={inp}, heatmap_size={hm}, sigma={sigma:g})'


def build_codec(cfg: dict | BaseHeatmapCodec | None, default: str = 'PoseHeatmapCodec') -> BaseHeatmapCodec:
    """The one way to make a codec: an object is returned as is; a dict is built from ``TASK_UTILS`` by its
    ``type`` (``default`` when it names none). Unknown types name the registered codecs."""
    if isinstance(cfg, BaseHeatmapCodec):
        return cfg
    if cfg is not None and not isinstance(cfg, dict):
        raise OptionError(f'codec must be a dict with a "type" or a codec object; got {type(cfg).__name__}')
    cfg = dict(cfg or {})
    cfg.setdefault('type', default)
    kind = cfg['type']
    if not (isinstance(kind, str) and TASK_UTILS.get(kind) is not None
            and isinstance(TASK_UTILS.get(kind), type) and issubclass(TASK_UTILS.get(kind), BaseHeatmapCodec)):
        raise UnknownNameError(f'codec type {kind!r} is not a registered codec{did_you_mean(str(kind), CODEC_TYPES)} '
                               f'registered: {", ".join(CODEC_TYPES)}')
    return TASK_UTILS.build(cfg)


__all__ = ['BaseHeatmapCodec', 'PoseHeatmapCodec', 'FaceHeatmapCodec', 'build_codec', 'fill_heatmap_size',
           'draw_gaussians', 'get_max_preds', 'refine_quarter', 'refine_dark', 'heatmap_to_image', 'face_get_preds',
           'face_refine', 'face_heatmap_to_image', 'flip_back', 'shift_right']
