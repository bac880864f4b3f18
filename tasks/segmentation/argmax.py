"""The class map of bilinearly upsampled scores, without upsampling every class everywhere.

Bilinear weights are never negative, so an output pixel is a convex combination of the four source pixels of its
cell: where one class is the (first) maximum at all four, it is the maximum at every output pixel of the cell too
(each rounded multiply and add is monotonic, so this holds in float arithmetic as well, up to classes that the
rounding makes equal there). Only the cells whose four
corners disagree - the class borders - are interpolated, pixel by pixel in torch's own order (``F.interpolate``'s
``(x00 w0 + x01 w1) h0 + (x10 w0 + x11 w1) h1``, its weights computed as its kernel does). At 1024x2048 with 19
classes this replaces an upsampling of 40 M scores and a class maximum over them: the cost of a labels-only
full-size prediction (``benchmarks/RESULTS.md``, "Full-size segmentation labels").
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_BORDER_SHARE = 0.5   # above this share of border cells, upsampling everything is cheaper
_CHUNK = 2048         # border cells per step (their blocks stay in cache)


def _source_index(n_in: int, n_out: int, align_corners: bool) -> tuple[Tensor, Tensor, Tensor]:
    """Per output index along one axis: the first source index and the two weights, as torch's bilinear kernel
    computes them (``area_pixel_compute_source_index`` and ``guard_index_and_lambda``, float32); the second source
    index is the next one, clamped at the last."""
    d = torch.arange(n_out, dtype=torch.float32)
    if align_corners:
        src = d * torch.tensor((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0, dtype=torch.float32)
    else:
        src = ((d + 0.5) * torch.tensor(n_in / n_out, dtype=torch.float32) - 0.5).clamp_(min=0)
    i0 = src.floor().long().clamp_(max=n_in - 1)
    lam = (src - i0).clamp_(0, 1)
    return i0, 1 - lam, lam


def _cell_table(i0: Tensor, w0: Tensor, w1: Tensor, n_in: int) -> tuple[Tensor, Tensor, Tensor]:
    """Per source index i: the output indices whose cell starts at i (padded with -1 to the longest run) and
    their two weights, (n_in, m) each."""
    counts = torch.bincount(i0, minlength=n_in)
    m = max(int(counts.max()), 1)
    starts = torch.cumsum(counts, 0) - counts
    idx = starts[:, None] + torch.arange(m)
    valid = torch.arange(m) < counts[:, None]
    idx = torch.where(valid, idx, torch.full_like(idx, -1))
    safe = idx.clamp(min=0)
    zero = torch.zeros((), dtype=w0.dtype)
    return idx, torch.where(valid, w0[safe], zero), torch.where(valid, w1[safe], zero)


def _upsample_then_max(scores: Tensor, size: tuple[int, int], align_corners: bool) -> Tensor:
    """What :func:`upsampled_argmax` stands for, done in full: every class upsampled, then the class maximum."""
    return F.interpolate(scores[None], size=size, mode='bilinear', align_corners=align_corners)[0].max(0).indices


def border_cells(label: Tensor) -> Tensor:
    """(h, w) bool: whether the cell starting at each source pixel has corners of two classes (its corners: the
    pixel, the next one right, below and diagonally, clamped at the last row and column as torch does)."""
    grid = torch.cat([label, label[-1:]], 0)
    grid = torch.cat([grid, grid[:, -1:]], 1)
    a = grid[:-1, :-1]
    return ~((a == grid[1:, :-1]) & (a == grid[:-1, 1:]) & (a == grid[1:, 1:]))


def upsampled_argmax(scores: Tensor, size, align_corners: bool) -> Tensor:
    """``F.interpolate(scores[None], size, mode='bilinear', align_corners=...)[0].max(0).indices`` for (C, h, w)
    ``scores`` -> (H, W) int64 labels, equal to it except where two classes tie within float rounding."""
    scores = scores.float()
    c, h, w = scores.shape
    H, W = (int(s) for s in size)
    if scores.device.type != 'cpu':   # the GPU upsamples everything faster than it gathers
        return _upsample_then_max(scores, (H, W), align_corners)
    if (H, W) == (h, w):   # F.interpolate returns the scores themselves
        return scores.max(0).indices
    r0, rw0, rw1 = _source_index(h, H, align_corners)
    c0, cw0, cw1 = _source_index(w, W, align_corners)
    label = scores.max(0).indices                                 # the first maximum, as torch's max
    border = border_cells(label)
    # mostly borders: upsampling everything is cheaper; a NaN or infinite score: torch's own handling of it
    if float(border.float().mean()) > _BORDER_SHARE or not bool(torch.isfinite(scores).all()):
        return _upsample_then_max(scores, (H, W), align_corners)
    out = torch.empty(H * W + 1, dtype=torch.long)                # the last slot takes the blocks' padding
    # pixel (y, x) lies in cell (r0[y], c0[x]); columns first: the row gather then copies whole rows
    torch.index_select(label.index_select(1, c0), 0, r0, out=out[:-1].view(H, W))
    ci, cj = border.nonzero(as_tuple=True)
    if len(ci):
        ys, wy0, wy1 = _cell_table(r0, rw0, rw1, h)
        xs, wx0, wx1 = _cell_table(c0, cw0, cw1, w)
        corners = scores.permute(1, 2, 0).reshape(h * w, c)       # (source pixel, class)
        for s in range(0, len(ci), _CHUNK):
            i, j = ci[s:s + _CHUNK], cj[s:s + _CHUNK]
            i1, j1 = (i + 1).clamp(max=h - 1), (j + 1).clamp(max=w - 1)   # torch clamps the second index
            x = torch.stack([corners[i * w + j], corners[i * w + j1], corners[i1 * w + j], corners[i1 * w + j1]], 2)
            cls, x = _candidates(x)                                # (k, m) classes, (k, m, 4) their corner scores
            vx0, vx1 = wx0[j][:, None, None, :], wx1[j][:, None, None, :]   # (k, 1, 1, mx)
            vy0, vy1 = wy0[i][:, None, :, None], wy1[i][:, None, :, None]   # (k, 1, my, 1)
            top_row = x[..., 0, None, None] * vx0 + x[..., 1, None, None] * vx1
            bottom_row = x[..., 2, None, None] * vx0 + x[..., 3, None, None] * vx1
            best = (top_row * vy0 + bottom_row * vy1).max(1).indices          # (k, my, mx): candidate slot
            block = cls.gather(1, best.flatten(1)).view_as(best)
            yy, xx = ys[i][:, :, None], xs[j][:, None, :]
            lin = torch.where((yy >= 0) & (xx >= 0), yy * W + xx, H * W)
            out.index_put_((lin.flatten(),), block.flatten())
    return out[:-1].view(H, W)


def _candidates(x: Tensor) -> tuple[Tensor, Tensor]:
    """Classes that can be the maximum somewhere in a cell: an interpolated score lies between the smallest and
    the largest of its four corners, so a class whose largest corner is below another class's smallest corner
    never wins. (k, C, 4) corner scores -> (k, m) candidate classes in ascending order (so that the first maximum
    is torch's) and (k, m, 4) their scores; a cell with fewer candidates repeats its first one at the end."""
    k, c, _ = x.shape
    floor = x.amin(2).amax(1, keepdim=True)                       # (k, 1): the best class's worst corner
    can = x.amax(2) >= floor                                      # (k, C)
    m = int(can.sum(1).max())
    key = can * (c - torch.arange(c))                             # candidates, lower classes first, then the rest
    rank = key.topk(m, 1).indices                                 # (sorted: largest key = lowest candidate first)
    rank = torch.where(can.gather(1, rank), rank, rank[:, :1])    # padding: the first candidate again (never
    return rank, x.gather(1, rank[..., None].expand(k, m, 4))     # chosen: max takes the first of equal scores)
