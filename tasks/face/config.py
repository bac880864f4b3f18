"""What a face config leaves to code: the training targets' codec is the model's. ``FaceHeatmapTargets`` encodes
what the model's codec decodes, so the heatmap size and σ are stated once, in ``model.codec``; a targets transform
that states no codec gets the model's (``prepare_config`` calls :func:`complete_config` through
``FaceModel.complete_config``, after every override), and one that states another is refused: targets drawn at
another size or σ than the model decodes train a model that is then read wrongly, without an error.
"""
from __future__ import annotations

import copy

from hrvision.codecs import build_codec
from hrvision.errors import ConfigError
from hrvision.registry import TRANSFORMS


def _encoding(codec) -> tuple:
    """What decides the targets: the codec's class, input size, heatmap size and σ."""
    built = build_codec(codec, default='FaceHeatmapCodec')
    return type(built).__name__, built.input_size, built.heatmap_size, float(built.sigma)


def complete_config(cfg) -> None:
    """Give every ``FaceHeatmapTargets`` of the dataloaders' datasets (through dataset wrappers) ``model.codec``
    where it states none (in place); refuse one whose codec encodes otherwise (:class:`ConfigError`)."""
    from hrvision.engine.runner import loader_datasets
    model = cfg.get('model')
    codec = model.get('codec') if isinstance(model, dict) else None
    codec = copy.deepcopy(codec) if codec is not None else dict(type='FaceHeatmapCodec')
    wanted = None
    for where, ds in loader_datasets(cfg):
        for i, t in enumerate(ds.get('pipeline', None) or ()):
            if not (isinstance(t, dict) and TRANSFORMS.current_name(t.get('type')) == 'FaceHeatmapTargets'):
                continue
            if t.get('codec') is None:
                t['codec'] = copy.deepcopy(codec)
                continue
            wanted = wanted or _encoding(codec)
            stated = _encoding(t['codec'])
            if stated != wanted:
                raise ConfigError(
                    f'{where}.pipeline.{i}.codec encodes {_describe(stated)}, but model.codec decodes '
                    f'{_describe(wanted)}: state the codec once, in model.codec (the targets take it)')


def _describe(enc: tuple) -> str:
    kind, inp, hm, sigma = enc
    return f'{kind}(input_size={inp}, heatmap_size={hm}, sigma={sigma:g})'


__all__ = ['complete_config']
