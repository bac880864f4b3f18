"""What a pose config leaves to code, so that the crop size, σ and the branch the head reads are stated once, in
``model.codec`` / ``model.backbone`` (``prepare_config`` calls :func:`complete_config` through
``PoseModel.complete_config`` after every override; ``build_runner`` again, for configs built without it):

* the codec's ``heatmap_size`` (and σ at that stride) follows from the map the head reads
  (:func:`hrvision.codecs.fill_heatmap_size` is the rule), in the model's codec and in every targets codec;
* a ``PoseHeatmapTargets`` that states no codec takes the model's;
* the crop size of ``TopDownAffine`` / ``TopDownHalfBody`` and of a dataset that takes one (the box aspect ratio)
  is the model codec's ``input_size`` where the config states none.

A value stated where it could be filled must agree with the model's (a targets codec encoding another size or σ,
a crop of another size): crops and targets the model does not read are refused in one line naming the field.
"""
from __future__ import annotations

import inspect

from hrvision.codecs import fill_heatmap_size, fill_targets_codec
from hrvision.errors import ConfigError
from hrvision.registry import DATASETS

CROPPERS = ('TopDownAffine', 'TopDownHalfBody')   # the transforms whose input_size is the network's


def head_stride(model_cfg) -> int:
    """The stride of the backbone output the head reads (``head.in_index``, default 0), from the backbone's
    ``output_shape()``; a backbone config is built on the meta device (no memory, no weights)."""
    import torch

    from hrvision.engine.preprocessor import build_module
    backbone = model_cfg['backbone']
    if isinstance(backbone, dict):
        with torch.device('meta'):
            backbone = build_module(dict(backbone))
    shapes = list(backbone.output_shape().values())
    head = model_cfg.get('head')
    index = head.get('in_index', 0) if isinstance(head, dict) else getattr(head, 'in_index', 0)
    return shapes[index].stride if isinstance(index, int) and 0 <= index < len(shapes) else shapes[0].stride


def _size(value) -> tuple | None:
    try:
        return tuple(int(v) for v in value)
    except (TypeError, ValueError):
        return None


def complete_config(cfg) -> None:
    """Fill what follows from ``model.codec`` (in place; module docstring); refuse a stated value that disagrees."""
    from hrvision.engine.runner import loader_datasets, loader_transforms
    model = cfg.get('model')
    if not isinstance(model, dict):
        return
    codec = model.get('codec')
    targets = list(loader_transforms(cfg, 'PoseHeatmapTargets'))
    missing = [(where, t) for where, t in targets
               if isinstance(t.get('codec'), dict) and t['codec'].get('heatmap_size') is None]
    own = isinstance(codec, dict) and codec.get('heatmap_size') is None
    if missing or own:
        stride = head_stride(model)
        if own:
            model['codec'] = codec = fill_heatmap_size(codec, stride, 'model.codec')
        for where, t in missing:
            t['codec'] = fill_heatmap_size(t['codec'], stride, f'{where}.codec')
    if not isinstance(codec, dict) or codec.get('input_size') is None:
        return   # a codec object or the class default: nothing stated to fill from
    fill_targets_codec(targets, codec, 'PoseHeatmapCodec')
    size = _size(codec['input_size'])
    for where, ds in loader_datasets(cfg):
        cls = DATASETS.get(ds['type']) if isinstance(ds.get('type'), str) else None
        if cls is not None and 'input_size' in inspect.signature(cls.__init__).parameters:
            _fill_size(ds, size, where)
    for where, t in loader_transforms(cfg, *CROPPERS):
        _fill_size(t, size, where)


def _fill_size(owner: dict, size: tuple, where: str) -> None:
    if owner.get('input_size') is None:
        owner['input_size'] = size
    elif _size(owner['input_size']) != size:
        stated = _size(owner['input_size']) or owner['input_size']
        raise ConfigError(f'{where}.input_size is {stated!r}, but model.codec.input_size is {size}: '
                          'the network reads crops of the codec\'s size; state it once, in model.codec '
                          '(the crops and datasets take it)')


__all__ = ['complete_config', 'head_stride', 'CROPPERS']
