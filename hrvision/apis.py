"""``init_model``: a config (or an official experiment file) + a checkpoint -> a model ready for inference.

The one way the CLI (``export``), the benchmarks and user code get a trained model, so loading is strict
everywhere (:func:`hrvision.load_weights` refuses a checkpoint that leaves any weight unset).
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping

from torch import nn

OFFICIAL_SUFFIXES = ('.yaml', '.yml', '.json')


def _official_cfg(path: str) -> dict | str:
    if not path.endswith('.json'):
        return path
    from .errors import ConfigError, MissingFileError
    if not os.path.isfile(path):
        raise MissingFileError(f'official config not found: {path}')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ConfigError(f'{path}: not valid JSON: {e.msg} at line {e.lineno}') from None


def _dataset_meta(obj) -> dict | None:
    """The training data's metainfo mmengine saves in a checkpoint (``meta.dataset_meta``: classes, category ids,
    annotation file), or None (none there, a bare state dict, safetensors)."""
    meta = obj.get('meta') if isinstance(obj, Mapping) else None
    found = meta.get('dataset_meta') if isinstance(meta, Mapping) else None
    return dict(found) if isinstance(found, Mapping) else None


def init_model(config: Any, checkpoint: str | os.PathLike | Mapping | None = None, device: str | None = None, *,
               allow_partial: bool = False, cfg_options: Mapping[str, Any] | None = None) -> nn.Module:
    """Build the model of ``config`` and load ``checkpoint`` into it; returns it on ``device`` in eval mode.

    ``config``: a zoo alias (``'hrnet-w32-coco-256x192'``: its config, and its weights when ``checkpoint`` is
    None; :mod:`hrvision.zoo`), an mmengine config file (.py), an ``mmengine.Config``, or an official HRNet experiment
    YAML/JSON (path) or its dict (with a ``MODEL`` section), as :func:`hrvision.from_official` reads.
    ``checkpoint``: a zoo alias, or any format :func:`hrvision.load_weights` reads (path or state dict); ``None`` keeps
    the initialisation. A load that leaves weights unset is refused (the report is the message) unless
    ``allow_partial``; the report is kept as ``model.load_report``. ``device``: default CUDA when available.
    ``cfg_options``: dotted-key overrides of an mmengine config (``{'model.test_cfg.flip_test': False}``).
    Kept on the model: ``model.dataset_meta`` (the checkpoint's ``meta.dataset_meta``, the training data's classes
    and category ids, else None) and ``model.cfg`` (the mmengine ``Config``; None for an official file).
    """
    import torch

    from .weights import load_weights, read_checkpoint_file
    from .zoo import entry_options, is_alias, note_other_config, resolve_checkpoint, resolve_config
    if checkpoint is None and is_alias(config) and not os.path.exists(config):
        checkpoint = config   # a zoo alias names the config and the weights
    note_other_config(config, checkpoint)
    aliases = (config, checkpoint)   # a zoo model's training settings go into the config (zoo.apply_entry_options)
    config, checkpoint = resolve_config(config), resolve_checkpoint(checkpoint)
    cfg = None   # an official experiment file has no mmengine config
    if isinstance(config, (str, os.PathLike)) and os.fspath(config).lower().endswith(OFFICIAL_SUFFIXES) or \
            isinstance(config, Mapping) and 'MODEL' in config:
        from .official import from_official
        if cfg_options or entry_options(*aliases):
            from .errors import InputError
            raise InputError('init_model: cfg_options (and a zoo model\'s settings) apply to mmengine configs, not '
                             'to official experiment files')
        model = from_official(_official_cfg(os.fspath(config)) if not isinstance(config, Mapping) else config)
    else:
        from mmengine.config import Config
        from mmengine.registry import init_default_scope

        from .engine.config_checks import load_config_file
        from .registry import MODELS
        from .engine.runner import apply_options
        from .zoo import apply_entry_options
        cfg = config.copy() if isinstance(config, Config) else load_config_file(config)
        apply_entry_options(cfg, *aliases)
        # as train/test do: data_root moves every dataset/evaluator path, a key that changes nothing is refused,
        # values that follow from others are filled
        apply_options(cfg, dict(cfg_options or {}))
        init_default_scope('hrvision')
        model = MODELS.build(cfg.model)
    if isinstance(checkpoint, (str, os.PathLike)):   # read once: the weights and the meta
        name, checkpoint = os.fspath(checkpoint), read_checkpoint_file(checkpoint)
    else:
        name = None
    if checkpoint is not None:
        model.load_report = load_weights(model, checkpoint, allow_partial=allow_partial, name=name)
    # the checkpoint's, else what the model was built with (an official COCO pose file: the COCO preset)
    model.dataset_meta = _dataset_meta(checkpoint) or getattr(model, 'dataset_meta', None)
    if model.dataset_meta is None and cfg is not None:   # e.g. official weights: the config's keypoint preset
        from .data.metainfo import config_metainfo
        meta = config_metainfo(cfg)
        model.dataset_meta = meta if meta and meta.get('keypoint_names') else None
    model.cfg = cfg
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    return model.to(device).eval()


__all__ = ['init_model']
