"""hrvision: HRNet multi-task dense prediction (pose, segmentation, face landmarks, detection).

Public API::

    hrvision.list_backbones()                 # registered HRNet variant names
    hrvision.build_backbone('hrnet_w32')      # -> HRNet returning 4 maps at strides 4/8/16/32
    hrvision.load_weights(model, path)        # official / timm / mmpose / hrvision / safetensors
    hrvision.from_official(yaml, checkpoint)  # official experiment config -> eval-ready model
    hrvision.init_model(config, checkpoint)   # mmengine config or official YAML + any checkpoint -> eval model
    hrvision.count(model, (H, W))             # params and multiply-adds (official GFLOPs)
"""
from __future__ import annotations

__version__ = '0.1.0'


def _source_checkout_parts() -> None:
    """A source checkout used without installing (``PYTHONPATH=.``): ``heads/`` and ``tasks/`` sit beside this
    package, and setup.py's ``package_dir`` is what makes them ``hrvision.heads`` / ``hrvision.tasks`` when
    installed (wheel or editable). Map the same two names here, only when nothing else finds them."""
    import importlib.util
    import os.path as osp
    import sys

    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    parts = {f'{__name__}.{p}': osp.join(repo, p) for p in ('heads', 'tasks')}
    if not osp.isfile(osp.join(repo, 'setup.py')) or any(importlib.util.find_spec(n) for n in parts):
        return

    class _Finder:
        @staticmethod
        def find_spec(fullname, path=None, target=None):
            folder = parts.get(fullname)
            return folder and importlib.util.spec_from_file_location(
                fullname, osp.join(folder, '__init__.py'), submodule_search_locations=[folder])

    sys.meta_path.append(_Finder)


_source_checkout_parts()

from .backbones.hrnet import ALIASES, VARIANTS, HRNet, build_hrnet
from .flops import Count, count
from .weights import CheckpointError, LoadReport, load_weights
from .inference import Inferencer  # a model on your own images: hrvision.Inferencer(cfg, ckpt)(paths)


def list_backbones() -> list[str]:
    """Names accepted by :func:`build_backbone` (official variants; timm's aliases also work)."""
    return sorted(VARIANTS)


def build_backbone(name: str, pretrained: bool | str | None = None, **overrides) -> HRNet:
    """Build an HRNet variant by registry name; ``overrides`` go to :class:`HRNet`.

    ``pretrained``: True (timm's default tag), a timm tag (``'timm/hrnet_w32.ms_in1k'``), a zoo alias
    (``'hrnet-w32-imagenet'``, :mod:`hrvision.zoo`) or a file; see :mod:`hrvision.hub`.
    """
    net = build_hrnet(name, **overrides)
    if pretrained:
        from .hub import load_pretrained
        load_pretrained(net, ALIASES.get(name, name), pretrained)
    return net


def list_models(task: str | None = None) -> list[str]:
    """The zoo's aliases (trained models by name, :mod:`hrvision.zoo`), of one ``task`` if given; each works as
    ``init_model(alias)``, ``Inferencer(alias)``, a checkpoint argument, or ``build_backbone(pretrained=alias)``."""
    from .zoo import entries
    return [a for a, e in entries().items() if task in (None, e.task)]


def from_official(config, checkpoint=None):
    """Official experiment YAML (path or dict) + checkpoint -> eval-ready hrvision model."""
    from .official import from_official as _impl
    return _impl(config, checkpoint)


def init_model(config, checkpoint=None, device=None, *, allow_partial=False, cfg_options=None):
    """Config (.py / Config), official YAML/JSON or zoo alias + checkpoint (or zoo alias) -> model on ``device``
    (default CUDA when available) in eval mode, loaded strictly (see :func:`hrvision.apis.init_model`)."""
    from .apis import init_model as _impl
    return _impl(config, checkpoint, device, allow_partial=allow_partial, cfg_options=cfg_options)


__all__ = ['list_backbones', 'list_models', 'build_backbone', 'load_weights', 'from_official', 'init_model', 'count', 'Count',
           'Inferencer', 'LoadReport', 'CheckpointError', 'HRNet', '__version__']
