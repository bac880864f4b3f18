"""Pretrained HRNet weights by timm tag, through the huggingface_hub cache (as timm finds them).

``build_backbone('hrnet_w32', pretrained=True)`` takes timm's default tag of that variant
(``timm/hrnet_w32.ms_in1k``); ``pretrained='timm/hrnet_w18.ms_in1k'`` (or ``'hrnet_w18.ms_in1k'``) a
named one; ``pretrained='path/to/file'`` a local checkpoint; ``pretrained='hrnet-w32-imagenet'`` (any zoo alias
of that backbone, :mod:`hrvision.zoo`) the zoo's verified, converted file; a task model's alias
(``'hrnet-w32-coco-256x192'``) its backbone part, every tensor (the fuse settings stay the builder's; a pose
net's last module is single-scale: ``multi_scale_output=False, out_indices=(0,)``). All go through
:func:`hrvision.zoo.resolve_checkpoint`. The file (``model.safetensors``, else
``pytorch_model.bin``) is taken from the hub cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else
``~/.cache/huggingface/hub``), downloaded only when ``HF_HUB_OFFLINE`` is not set, and loaded with
:func:`hrvision.load_weights` (the ImageNet classifier keys are reported as dropped). The environment is
read at call time, not when huggingface_hub was imported.
"""
from __future__ import annotations

import logging
import os

from torch import nn

from .errors import InputError, MissingFileError

FILES = ('model.safetensors', 'pytorch_model.bin')
# hrvision variant -> timm model name (the rest are equal)
TIMM_NAMES = {'hrnet_w18_small_v1': 'hrnet_w18_small'}


def timm_name(variant: str) -> str:
    return TIMM_NAMES.get(variant, variant)


def hub_cache() -> str:
    """The hub cache folder huggingface_hub uses with the current environment."""
    if os.environ.get('HF_HUB_CACHE'):
        return os.environ['HF_HUB_CACHE']
    home = os.environ.get('HF_HOME') or os.path.join(os.environ.get('XDG_CACHE_HOME') or
                                                     os.path.expanduser('~/.cache'), 'huggingface')
    return os.path.join(home, 'hub')


def offline() -> bool:
    return os.environ.get('HF_HUB_OFFLINE', '').strip().lower() in ('1', 'true', 'yes', 'on')


def resolve_tag(variant: str, pretrained: bool | str) -> str:
    """``True`` / ``'hrnet_w32.ms_in1k'`` / ``'timm/hrnet_w32.ms_in1k'`` -> hub repo id; checks the variant."""
    want = timm_name(variant)
    if pretrained is True:
        from timm.models import get_pretrained_cfg
        cfg = get_pretrained_cfg(want)
        if cfg is None or not cfg.hf_hub_id:
            raise InputError(f'pretrained=True: timm has no default weights for {want!r}; name a tag or a file')
        return cfg.hf_hub_id
    if not isinstance(pretrained, str) or not pretrained:
        raise InputError(f'pretrained: expected True, a timm tag like "timm/{want}.ms_in1k" or a file, '
                         f'got {pretrained!r}')
    repo = pretrained if '/' in pretrained else f'timm/{pretrained}'
    arch = repo.split('/', 1)[1].split('.', 1)[0]
    if arch != want:
        raise InputError(f'pretrained {pretrained!r} holds {arch!r} weights, not {want!r} (the {variant} backbone)')
    return repo


def cached_file(repo_id: str) -> str:
    """The weights file of ``repo_id`` from the hub cache (downloaded unless offline)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError
    cache, local_only = hub_cache(), offline()
    for fname in FILES:
        try:
            return hf_hub_download(repo_id, fname, cache_dir=cache, local_files_only=local_only)
        except (LocalEntryNotFoundError, EntryNotFoundError, FileNotFoundError):
            continue
        except OSError as e:  # network errors: no silent fallback
            raise MissingFileError(f'pretrained {repo_id!r}: cannot download {fname} ({type(e).__name__}: {e}); '
                                   f'hub cache {cache}') from None
    how = 'HF_HUB_OFFLINE is set, so nothing is downloaded' if local_only else 'not found on the hub either'
    raise MissingFileError(f'pretrained {repo_id!r}: no {" or ".join(FILES)} in the hub cache {cache} ({how}); '
                           f'fetch it with `huggingface-cli download {repo_id}` or point HF_HUB_CACHE at a cache '
                           'that holds it')


def load_pretrained(net: nn.Module, variant: str, pretrained: bool | str):
    """Put ``pretrained`` (tag, True, a file or a zoo alias) into ``net`` with :func:`hrvision.load_weights`; the
    report."""
    from .weights import load_weights
    from .zoo import get_entry, is_alias, resolve_checkpoint
    task_model = False
    if is_alias(pretrained) and not os.path.exists(pretrained):
        entry = get_entry(pretrained)
        if entry.arch != variant:
            raise InputError(f'pretrained {pretrained!r} holds {entry.arch!r} weights, not {variant!r} (the {variant} '
                             'backbone)')
        task_model = entry.config is not None   # a trained task model: its backbone part (backbone.*)
    path = resolve_checkpoint(resolve_tag(variant, True) if pretrained is True else pretrained, variant=variant)
    if task_model:
        from .weights import extract_state_dict, read_checkpoint_file
        sd = extract_state_dict(read_checkpoint_file(path), path)
        path = {k[len('backbone.'):]: v for k, v in sd.items() if k.startswith('backbone.')}
    report = load_weights(net, path, **({'strict': True, 'name': f'{pretrained} (backbone.*)'} if task_model else {}))
    logging.getLogger('hrvision').info('pretrained %s: %s', variant, report)
    return report
