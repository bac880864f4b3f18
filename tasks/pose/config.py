"""What a pose config leaves to code: the codec's ``heatmap_size`` (and σ at that stride) follows from the map
the head reads, so the configs state the input size, σ and the backbone branch once
(:func:`hrvision.codecs.fill_heatmap_size` is the rule). :class:`~.model.PoseModel` fills its own codec; this fills
the training pipeline's ``PoseHeatmapTargets`` codecs the same way, after every override (``prepare_config``
calls it through ``PoseModel.complete_config``), so the targets always have the model's size.
"""
from __future__ import annotations

from hrvision.codecs import fill_heatmap_size
from hrvision.registry import TRANSFORMS

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


def complete_config(cfg) -> None:
    """Fill ``heatmap_size`` / σ into ``model.codec`` and into every ``PoseHeatmapCodec``-style targets codec that
    leaves it out (in place): each dataloader's dataset and every dataset nested in it (``ConcatDataset`` /
    ``RepeatDataset`` / ``MultiSourceDataset`` wrappers; the walker ``apply_data_root`` uses)."""
    from hrvision.engine.runner import loader_datasets
    model = cfg.get('model')
    todo = [(f'{where}.pipeline.{i}.codec', t) for where, ds in loader_datasets(cfg)
            for i, t in enumerate(ds.get('pipeline', None) or ())
            if isinstance(t, dict) and TRANSFORMS.current_name(t.get('type')) == 'PoseHeatmapTargets'
            and isinstance(t.get('codec'), dict) and t['codec'].get('heatmap_size') is None]
    codec = model.get('codec')
    own = isinstance(codec, dict) and codec.get('heatmap_size') is None
    if not todo and not own:
        return
    stride = head_stride(model)
    if own:
        model['codec'] = fill_heatmap_size(codec, stride, 'model.codec')
    for where, t in todo:
        t['codec'] = fill_heatmap_size(t['codec'], stride, where)


__all__ = ['complete_config', 'head_stride']
