"""Official HRNet experiment configs -> eval-ready hrvision models with the official weights.

``MODEL.NAME`` picks the family in :data:`hrvision.registry.OFFICIAL_FAMILIES`; each task folder registers
its builders there (``@register_official(...)`` in ``tasks/<task>/official.py``), which build the model with
that family's conventions (upsampling, BN momentum, head names). This module names no task.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

from torch import Tensor, nn

from .registry import OFFICIAL_FAMILIES
from .weights import load_weights


def read_config(config: str | os.PathLike | Mapping[str, Any]) -> dict:
    """An official experiment YAML path, or the same structure as a dict."""
    if isinstance(config, Mapping):
        return dict(config)
    path = os.fspath(config)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'official config not found: {path}')
    import yaml
    with open(path, encoding='utf-8') as f:
        cfg = yaml.safe_load(f)
    if not isinstance(cfg, dict) or 'MODEL' not in cfg:
        raise ValueError(f'{path} is not an official HRNet experiment config: expected a mapping with a MODEL section')
    return cfg


def from_official(config: str | os.PathLike | Mapping[str, Any],
                  checkpoint: str | os.PathLike | Mapping[str, Tensor] | None = None) -> nn.Module:
    """Build the hrvision model an official config describes and load ``checkpoint`` strictly.

    The result is in eval mode; ``model(images)`` returns what the official model returns
    (pose/face heatmaps, seg low-resolution logits, cls logits).
    """
    cfg = read_config(config)
    name = str(cfg.get('MODEL', {}).get('NAME', '')).lower()
    model = OFFICIAL_FAMILIES.lookup(name)(cfg)   # unknown names: UnknownNameError listing the registered ones
    if checkpoint is not None:
        model.load_report = load_weights(model, checkpoint)   # refused if any tensor of the model stays unset
    return model.eval()
