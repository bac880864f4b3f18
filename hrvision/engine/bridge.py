"""What every task bridge shares: the metainfo a prediction needs, and the input-pixel -> original-pixel
rescaling of a resized image.

A bridge (``hrvision.tasks.<task>.bridge``) turns data samples into its head's targets and the head's
outputs into predictions in original-image coordinates; the single-task model and the multi-task model
call the same bridge, so each conversion exists once. A key the conversion needs (``scale_factor``,
``img_shape``, ``ori_shape``) is never guessed: without it a custom pipeline would get predictions in resized
or padded pixels, silently, so its absence is an error naming the key and the transform that sets it.
"""
from __future__ import annotations

from torch import Tensor

from ..errors import DataError

# which transform normally puts each key in the metainfo (kept by the task's Pack transform)
SET_BY = {
    'scale_factor': 'the loading transform sets (1, 1) and every resize (DetectionResize, MultiTaskResize) updates it',
    'img_shape': 'the loading transform and every resize / crop set it',
    'ori_shape': 'the loading transform sets it',
}


def require_meta(sample, *keys: str, who: str = 'the prediction') -> list:
    """The values of ``keys`` in ``sample.metainfo``; missing ones are a ``DataError`` naming them, the sample and
    the transforms that set them."""
    meta = getattr(sample, 'metainfo', None)
    meta = sample if meta is None and isinstance(sample, dict) else (meta or {})
    missing = [k for k in keys if meta.get(k) is None]
    if missing:
        where = meta.get('img_path') or (f'image id {meta["img_id"]}' if meta.get('img_id') is not None else
                                         'without img_path')
        why = '; '.join(f'{k}: {SET_BY[k]}' if k in SET_BY else k for k in missing)
        raise DataError(f'data sample {where} has no metainfo {", ".join(missing)}, which {who} needs to map '
                        f'predictions to original-image pixels ({why}); a custom pipeline must set and pack '
                        f'{"it" if len(missing) == 1 else "them"}')
    return [meta[k] for k in keys]


def scale_factor(sample) -> tuple[float, float]:
    """``metainfo['scale_factor']`` (x, y) of a resized image ((1, 1) when the loader did not resize); required."""
    sx, sy = require_meta(sample, 'scale_factor')[0]
    return float(sx), float(sy)


def to_original(xy: Tensor, sample) -> Tensor:
    """Points (..., 2) or xyxy boxes (..., 4) in resized-input pixels -> original-image pixels."""
    sx, sy = scale_factor(sample)
    div = xy.new_tensor([sx, sy] * (xy.shape[-1] // 2))
    return xy / div


__all__ = ['SET_BY', 'require_meta', 'scale_factor', 'to_original']
