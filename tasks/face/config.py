"""What a face config leaves to code: the training targets' codec is the model's. ``FaceHeatmapTargets`` encodes
what the model's codec decodes, so the heatmap size and σ are stated once, in ``model.codec``; a targets transform
that states no codec gets the model's and one that states another is refused
(:func:`hrvision.codecs.fill_targets_codec`). ``prepare_config`` calls :func:`complete_config` through
``FaceModel.complete_config`` after every override (``build_runner`` again, for configs built without it).
"""
from __future__ import annotations

from hrvision.codecs import fill_targets_codec


def complete_config(cfg) -> None:
    """Give every ``FaceHeatmapTargets`` of the dataloaders' datasets (through dataset wrappers) ``model.codec``
    where it states none (in place); refuse one whose codec encodes otherwise."""
    from hrvision.engine.runner import loader_transforms
    model = cfg.get('model')
    fill_targets_codec(list(loader_transforms(cfg, 'FaceHeatmapTargets')),
                       model.get('codec') if isinstance(model, dict) else None, 'FaceHeatmapCodec')


__all__ = ['complete_config']
