"""Backbones. HRNet is registered as ``HRNet`` (by ``arch``) and under each variant name."""
import inspect

from ..registry import MODELS
from .hrnet import ALIASES, FUSE_PRESETS, VARIANTS, HRNet, build_hrnet

MODELS.register_module('HRNet', module=HRNet)


def _factory(name: str):
    def build(**overrides) -> HRNet:
        return build_hrnet(name, **overrides)
    build.__name__ = name
    build.__doc__ = f'HRNet variant {name}.'
    sig = inspect.signature(HRNet)  # HRNet's options, so config checks can name a misspelt one
    build.__signature__ = sig.replace(parameters=[p for p in sig.parameters.values() if p.name != 'arch'])
    return build


for _name in list(VARIANTS) + list(ALIASES):
    MODELS.register_module(_name, module=_factory(_name))

__all__ = ['HRNet', 'VARIANTS', 'ALIASES', 'FUSE_PRESETS', 'build_hrnet']
