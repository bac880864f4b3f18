"""What a face config leaves to code: the training targets' codec is the model's. ``FaceHeatmapTargets`` encodes
what the model's codec decodes, so the heatmap size and σ are stated once, in ``model.codec``; a targets transform
that states no codec gets the model's and one that states another is refused
(:func:`hrvision.codecs.fill_targets_codec`). ``prepare_config`` calls :func:`complete_config` through
``FaceModel.complete_config`` after every override (``build_runner`` again, for configs built without it).
"""
from __future__ import annotations

from hrvision.codecs import fill_targets_codec
from hrvision.registry import TRANSFORMS


def complete_config(cfg) -> None:
    """Give every ``FaceHeatmapTargets`` of the dataloaders' datasets (through dataset wrappers) ``model.codec``
    where it states none (in place); refuse one whose codec encodes otherwise."""
    from hrvision.engine.runner import loader_datasets
    model = cfg.get('model')
    targets = [(f'{where}.pipeline.{i}', t) for where, ds in loader_datasets(cfg)
               for i, t in enumerate(ds.get('pipeline', None) or ())
               if isinstance(t, dict) and TRANSFORMS.current_name(t.get('type')) == 'FaceHeatmapTargets']
    fill_targets_codec(targets, model.get('codec') if isinstance(model, dict) else None, 'FaceHeatmapCodec')


__all__ = ['complete_config']
