"""Load checkpoints of every HRNet family into hrvision models, and say what was dropped and why.

Recognised layouts (detected from the keys, no flag needed):

* ``official``  -- plain official keys (pose ``final_layer``, seg ``last_layer``, face ``head``,
  cls ``incre_modules``/``classifier``); also wrapped as ``module.`` (DataParallel) or ``model.``
  (the official seg ``FullModel``, which also stores ``loss.criterion.weight``).
* ``timm``      -- identical to the official classification keys.
* ``mmpose``    -- 0.x ``keypoint_head.final_layer`` -> the pose head, the 0.x face head
  (``keypoint_head.final_layer.{0,1,3}``, WFLW) -> the face head; a 1.x file (``backbone.`` + ``head.final_layer``)
  has exactly hrvision's pose keys and reads as ``hrvision``; a backbone-only file (``backbone.`` alone) as ``mmpose``.
* ``mmseg``     -- ``backbone.`` + ``decode_head.`` of an ``FCNHead`` (``convs.0.conv/bn``, ``conv_seg``) -> the official
  seg head ``last_layer``; of an OCRNet (``decode_head.0`` FCNHead + ``decode_head.1`` OCRHead) -> the official
  ``seg_hrnet_ocr`` names of ``OCRHead``. Biases the official layers have and mmseg's do not (a conv before a BN)
  are filled with zeros, the exact equivalent (``LoadReport.filled``).
* ``mmdet``     -- ``backbone.`` + HRFPN ``neck.`` -> ``HRNetV2p``; Faster R-CNN ``rpn_head.`` / ``roi_head.`` ->
  torchvision's ``rpn`` / ``roi_heads`` (class rows moved: mmdet's background is last, torchvision's first).
  mmdet's FCOS head is refused in one line (per-level scales, exp() decoding, centerness on the other tower).
  The OpenMMLab layouts live in :mod:`hrvision.weight_formats` (the report: ``variant``, ``converted`` = their key ->
  ours, ``filled``); a checkpoint of theirs loads only into a model built with the fuse settings it was trained
  with (refused in one line otherwise), and a head hrvision has no counterpart for is refused in one line.
* ``hrvision``  -- our own task models (``backbone.``, ``head.``, ...); keys of a task's earlier layout are renamed
  by the rules the task registered (``hrvision.registry.register_key_renames``; ``LoadReport.renamed``).
* safetensors files.

Files are read with ``torch.load(weights_only=True)``: untrusted checkpoints cannot run code.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
from torch import Tensor, nn

from . import weight_formats
from .digest import verify_digest
from .errors import CheckpointFileError, HRVisionError

_WRAPPER_KEYS = ('state_dict', 'model', 'state_dict_ema', 'model_ema', 'module', 'net', 'params')
_STRIP_PREFIXES = ('module.', 'model.', '_orig_mod.')

# Why a key of a checkpoint may have no place in the target model.
_UNEXPECTED_CAUSES = [
    (re.compile(r'^(incre_modules|downsamp_modules|final_layer\.\d|classifier)\.'),
     'ImageNet classification head (cls/timm): not part of a dense-prediction model'),
    (re.compile(r'^loss\.'), 'training-loss state saved by the official seg FullModel'),
    (re.compile(r'^(head\.)?(aux_head|conv3x3_ocr|ocr_distri_head|cls_head)\.'),
     "HRNet-OCR head (official seg_hrnet_ocr): a model for it has model.head.type='OCRHead'"),
    (re.compile(r'^(final_layer|keypoint_head|head\.final_layer)'), 'pose keypoint head (final_layer)'),
    (re.compile(r'^(last_layer|decode_head|head\.last_layer)'), 'segmentation head (last_layer)'),
    (re.compile(r'^head\.'), 'task head (face landmark head or hrvision head)'),
    (re.compile(r'^stage4\.\d+\.fuse_layers\.[123]\.'),
     'lower-resolution fuse rows of the last module (the pose net builds only row 0)'),
    (re.compile(r'^(neck|necks?)\.'), 'neck'),
    (re.compile(r'^data_preprocessor\.'), 'data preprocessor buffers'),
]
_MISSING_CAUSES = [
    (re.compile(r'(^|\.)stage4\.\d+\.fuse_layers\.[123]\.'),
     'pose checkpoints have no lower-resolution fuse rows in the last module (official multi_scale_output=False)'),
    (re.compile(r'(^|\.)(head|last_layer|final_layer|decode_head)'), 'task head not in the checkpoint (backbone-only weights)'),
    (re.compile(r'^backbone\.'), 'backbone key absent from the checkpoint'),
    (re.compile(r'(^|\.)necks?\.'), 'neck not in the checkpoint'),
]


class CheckpointError(CheckpointFileError, ValueError):
    """A file or object that is not a usable state dict (unreadable, truncated, corrupt, not tensors)."""


class WeightsMismatchError(HRVisionError, KeyError, ValueError):
    """A state dict that does not fill the model: the message carries the :class:`LoadReport`."""


@dataclass
class LoadReport:
    """What :func:`load_weights` did. ``missing_keys``/``unexpected_keys`` use the model's / file's names."""
    format: str
    loaded_keys: list[str] = field(default_factory=list)
    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    source: str = '<state dict>'
    renamed: dict[str, str] = field(default_factory=dict)   # earlier-layout key -> model key (register_key_renames)
    layouts: list[str] = field(default_factory=list)   # the earlier layouts those keys come from
    order_kept: bool = True   # the file lists the loaded tensors in the model's order (what optimizer state needs)
    variant: str = ''   # which head layout of the format (e.g. 'FCNHead', 'Faster R-CNN ...'; OpenMMLab layouts)
    filled: dict[str, str] = field(default_factory=dict)   # model key -> why it was filled (source lacks it)
    converted: dict[str, str] = field(default_factory=dict)   # OpenMMLab key -> model key (hrvision.weight_formats)
    notes: list[str] = field(default_factory=list)   # what the user should know (settings that differ, ...)

    def explain(self) -> dict[str, dict[str, list[str]]]:
        """Group missing and unexpected keys by cause."""
        return {'missing': _group(self.missing_keys, _MISSING_CAUSES),
                'unexpected': _group(self.unexpected_keys, _UNEXPECTED_CAUSES)}

    def __str__(self) -> str:
        fmt = f'{self.format}, {self.variant}' if self.variant else self.format
        lines = [f'loaded {len(self.loaded_keys)} tensors from {self.source} (format: {fmt})']
        for why in dict.fromkeys(self.filled.values()):
            keys = [k for k, w in self.filled.items() if w == why]
            lines.append(f'  filled {len(keys)}: {why} [{", ".join(keys[:3])}{" ..." if len(keys) > 3 else ""}]')
        lines += [f'  note: {n}' for n in self.notes]
        if self.converted:
            k, n = next(iter(self.converted.items()))
            lines.append(f'  renamed {len(self.converted)}: keys of the {self.format} layout (e.g. {k} -> {n})')
        if self.renamed:
            lines.append(f'  renamed {len(self.renamed)}: keys of an earlier layout ({"; ".join(self.layouts)}) '
                         f'(e.g. {next(iter(self.renamed))} -> {next(iter(self.renamed.values()))})')
        for kind, groups in self.explain().items():
            for cause, keys in groups.items():
                shown = ', '.join(keys[:3]) + (' ...' if len(keys) > 3 else '')
                lines.append(f'  {kind} {len(keys)}: {cause} [{shown}]')
        return '\n'.join(lines)


def _group(keys: list[str], causes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k in keys:
        cause = next((c for rx, c in causes if rx.search(k)), 'other')
        out.setdefault(cause, []).append(k)
    return out


def read_checkpoint(path: str | os.PathLike) -> dict[str, Tensor]:
    """Read a checkpoint file safely and return a flat ``{key: tensor}`` dict (digest checked when recorded)."""
    return extract_state_dict(read_checkpoint_file(path), os.fspath(path))


def read_checkpoint_file(path: str | os.PathLike) -> Any:
    """The checkpoint file's object as saved (``state_dict`` / ``meta`` dict, or a flat state dict), read safely
    (``weights_only``), digest checked when recorded; safetensors give their flat dict."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        try:
            return dict(load_file(path))
        except Exception as e:  # safetensors raises its own error types
            raise CheckpointError(f'cannot read safetensors checkpoint {path}: {e}') from e
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if 'Weights only load failed' in str(e):
            hint = ('it pickles Python objects (e.g. a whole model); hrvision only loads plain state dicts '
                    'with weights_only=True. Re-save it as model.state_dict() from trusted code')
        else:
            hint = 'the file is truncated, corrupt or not a PyTorch checkpoint'
        raise CheckpointError(f'cannot read checkpoint {path}: {hint} ({msg})') from e
    verify_digest(obj, path)
    return obj


def extract_state_dict(obj: Any, source: str = '<object>') -> dict[str, Tensor]:
    """Unwrap ``{'state_dict': ...}``-style containers; fail clearly if no tensors are found."""
    for _ in range(3):
        if isinstance(obj, Mapping) and not _is_tensor_dict(obj):
            inner = next((obj[k] for k in _WRAPPER_KEYS if k in obj and isinstance(obj[k], Mapping)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, Mapping) or not _is_tensor_dict(obj):
        kind = type(obj).__name__
        keys = list(obj)[:5] if isinstance(obj, Mapping) else []
        raise CheckpointError(f'{source} is not a state dict: expected a mapping of parameter names to tensors '
                              f'(optionally under "state_dict"), got {kind}' + (f' with keys {keys}' if keys else ''))
    return {k: v for k, v in obj.items() if isinstance(v, Tensor)}


def _is_tensor_dict(d: Mapping) -> bool:
    return len(d) > 0 and sum(isinstance(v, Tensor) for v in d.values()) >= max(1, len(d) // 2)


def detect_format(sd: Mapping[str, Tensor]) -> str:
    keys = list(sd)
    rules = _key_renames()
    if any(legacy_rule(k, rules) for k in keys):
        return 'hrvision'   # an earlier layout of a task's model (register_key_renames)
    mm = weight_formats.detect(_strip(sd))
    if mm is not None:
        return mm[0]   # mmseg / mmdet / the mmpose face head (hrvision.weight_formats)
    if any(k.startswith(('keypoint_head.', 'decode_head.')) for k in keys):
        return 'mmpose'
    if any(k.startswith('backbone.') for k in keys):
        return 'hrvision' if any(k.startswith('head.') for k in keys) else 'mmpose'
    if any(k.startswith(('incre_modules.', 'classifier.')) for k in keys):
        return 'timm/official-cls'
    if any(k.startswith(('module.', 'model.')) for k in keys):
        return 'official(wrapped)'
    return 'official'


def _strip(sd: Mapping[str, Tensor]) -> dict[str, Tensor]:
    out = {}
    for k, v in sd.items():
        for p in _STRIP_PREFIXES:
            if k.startswith(p):
                k = k[len(p):]
        out[k] = v
    return out


def _key_renames() -> list:
    """The tasks' rules for keys of their earlier layouts (``hrvision.registry.register_key_renames``)."""
    from .registry import KEY_RENAMES, load_tasks
    load_tasks()
    return KEY_RENAMES


def legacy_rule(key: str, rules: list | None = None) -> tuple[str, str] | None:
    """(today's name, layout) of a key of an earlier layout a task registered (None: not one)."""
    for rx, repl, layout in (_key_renames() if rules is None else rules):
        if rx.match(key):
            return rx.sub(repl, key, count=1), layout
    return None


def legacy_name(key: str) -> str | None:
    """Today's name of a key of an earlier layout a task registered (None: not one)."""
    found = legacy_rule(key)
    return found[0] if found else None


def _candidates(key: str) -> list[str]:
    """Names a checkpoint key may have in an hrvision model, most specific first."""
    renamed = legacy_name(key)
    c = [key] + ([renamed] if renamed else []) + ['backbone.' + key, 'head.' + key]
    for p in ('backbone.', 'keypoint_head.', 'decode_head.', 'head.'):
        if key.startswith(p):
            rest = key[len(p):]
            c += [rest, 'head.' + rest, 'backbone.' + rest] if p != 'backbone.' else [rest]
    return c


def _renames(sd: Mapping[str, Tensor], mapped: Mapping[str, Tensor]):
    """(checkpoint key, model key) of the loaded keys that took an earlier-layout name's place."""
    for k in _strip(sd):
        renamed = legacy_name(k)
        if renamed is not None and renamed in mapped and k not in mapped:
            yield k, renamed


def map_state_dict(sd: Mapping[str, Tensor], model: nn.Module,
                   origin: Mapping[str, str] | None = None) -> tuple[dict[str, Tensor], list[str]]:
    """Rename checkpoint keys to the model's names. Returns (mapped, unexpected source keys). ``origin``: the
    file's name of a key converted by :mod:`hrvision.weight_formats` (used in messages and the unexpected list)."""
    target = model.state_dict()
    mapped: dict[str, Tensor] = {}
    unexpected = []
    origin = origin or {}
    for k, v in _strip(sd).items():
        name = next((c for c in _candidates(k) if c in target), None)
        if name is None or name in mapped:
            unexpected.append(origin.get(k) or k)
            continue
        want = tuple(target[name].shape)
        if tuple(v.shape) != want:
            src = origin.get(k) or k
            raise ValueError(f'shape mismatch for {name!r} (checkpoint key {src!r}): checkpoint has '
                             f'{tuple(v.shape)}, model expects {want}')
        mapped[name] = v
    return mapped, unexpected


def _check_conversion(conv: weight_formats.Conversion, model: nn.Module, report: LoadReport, strict: bool,
                      allow_partial: bool) -> None:
    """Fill the report of an OpenMMLab checkpoint, and refuse in one line what would load wrongly: a head that
    hrvision has no counterpart for, a head of another task, or a model built with other fuse settings than the
    checkpoint was trained with (checked when its head loads; a backbone-only load only notes them)."""
    report.variant = conv.variant
    mapped = set(report.loaded_keys)
    report.converted = {src: k for k, src in conv.origin.items() if src and src != k and k in mapped}
    for k, why in conv.filled.items():
        n = next((c for c in _candidates(k) if c in mapped), None)
        if n is not None:
            report.filled[n] = why
    name = type(model).__name__
    fails = (report.missing_keys and not allow_partial) or (strict and report.unexpected_keys)
    head = conv.head_keys()
    head_unplaced = [k for k in head if (conv.origin.get(k) or k) in report.unexpected_keys]
    head_loaded = len(head_unplaced) < len(head)
    if conv.refusal and (fails or head_loaded):   # a head it cannot place, even when every tensor was filled
        raise WeightsMismatchError(f'{report.source} ({conv.format} {conv.variant}) cannot load into the {name} '
                                   f'model: {conv.refusal}')
    if fails and head and not head_loaded:
        theirs = next((k for k in report.missing_keys if not k.startswith(('backbone.', 'neck.'))), None)
        raise WeightsMismatchError(
            f'{report.source} is an {conv.format} {conv.variant} checkpoint: its head '
            f'({conv.origin.get(head[0]) or head[0]}, ...) has no place in the {name} model'
            + (f', whose head is {theirs.rsplit(".", 1)[0]}' if theirs else '') + ': not weights of this model')
    mismatches = weight_formats.settings_mismatches(model, conv)
    if mismatches and head_loaded:
        raise WeightsMismatchError(
            f'{report.source} ({conv.format} {conv.variant}) was trained with other fuse settings than the {name} '
            f'model has: {"; ".join(mismatches)}. Its outputs would not be the published ones: build the model '
            f'with the checkpoint\'s settings')
    report.notes += [f'{conv.format} trained with other fuse settings: {m}' for m in mismatches]
    if conv.refusal:
        report.notes.append(conv.refusal)


def check_trained_settings(model: nn.Module, checkpoint: Any, src: str) -> None:
    """A zoo checkpoint records the settings its weights were trained with that its config does not state
    (``meta.zoo.options``, e.g. ``model.backbone.align_corners``: :mod:`hrvision.zoo`); used by its path, the
    model must have been built with them (the alias applies them), else it would run silently with others."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
    zoo = meta.get('zoo') if isinstance(meta, Mapping) else None
    options = zoo.get('options') if isinstance(zoo, Mapping) else None
    for key, want in (options or {}).items():
        obj: Any = model
        for part in key.split('.')[1:] if key.startswith('model.') else ():
            obj = getattr(obj, part, _MISSING)
            if obj is _MISSING:
                break
        if obj is not _MISSING and key.startswith('model.') and obj != want:
            raise WeightsMismatchError(
                f'{src} was trained with {key}={want!r} (zoo {zoo.get("alias")}), the model has {obj!r}: build it '
                f'with that setting (--cfg-options {key}={want}), or give the alias instead of the file')


_MISSING = object()


def load_weights(model: nn.Module, source: str | os.PathLike | Mapping[str, Tensor], strict: bool = False,
                 allow_partial: bool = False, name: str | None = None,
                 before_load: Callable[[LoadReport], None] | None = None) -> LoadReport:
    """Load ``source`` (path or state dict, any supported layout) into ``model``; the one way weights go in.

    Refused (:class:`WeightsMismatchError`, message = the report): a source that shares no key with the
    model, and, unless ``allow_partial``, a load that leaves any parameter or buffer of the model unset
    (``num_batches_tracked`` excepted), since the model would silently keep random values. Keys of the
    source that have no place in the model are reported, and refused only with ``strict=True``.
    Shape mismatches always raise ``ValueError`` naming the key and both shapes. ``name`` names an
    in-memory source in messages. ``before_load(report)`` runs once the mapping is known and before any
    tensor enters the model, so a caller's refusal (``--resume`` of a reordered checkpoint) leaves it untouched.
    """
    if isinstance(source, (str, os.PathLike)):
        src = os.fspath(source)
        obj = read_checkpoint_file(source)
    else:
        src, obj = name or '<state dict>', source
    sd = extract_state_dict(obj, src)
    check_trained_settings(model, obj, src)
    fmt = detect_format(sd)
    target = model.state_dict()
    conv = None
    if fmt in ('mmseg', 'mmdet', 'mmpose'):   # OpenMMLab layouts renamed first (hrvision.weight_formats)
        conv = weight_formats.convert(_strip(sd), has=lambda k: any(c in target for c in _candidates(k)))
    try:
        mapped, unexpected = map_state_dict(conv.state_dict if conv else sd, model, conv.origin if conv else None)
    except ValueError as e:
        raise WeightsMismatchError(f'{src} does not fit the {type(model).__name__} model (another width or '
                                   f'network?): {e}') from None
    missing = [k for k in target if k not in mapped and not k.endswith('num_batches_tracked')]
    if not mapped:
        raise WeightsMismatchError(
            f'{src} shares no key with the {type(model).__name__} model (format: {fmt}; checkpoint keys e.g. '
            f'{list(sd)[:3]}, model keys e.g. {list(target)[:3]}): not weights of this model')
    renamed = {k: n for k, n in _renames(sd, mapped)}
    layouts = sorted({legacy_rule(k)[1] for k in renamed})
    report = LoadReport(fmt, sorted(mapped), missing, unexpected, src, renamed=renamed, layouts=layouts,
                        order_kept=list(mapped) == [k for k in target if k in mapped])
    if conv is not None:
        _check_conversion(conv, model, report, strict, allow_partial)
    if before_load is not None:
        before_load(report)   # may refuse: the model is untouched until here
    if missing and not allow_partial:
        raise WeightsMismatchError(f'{src} leaves {len(missing)} of the model\'s tensors unset (refused: they would '
                                   f'keep random values; a deliberate partial load needs allow_partial):\n{report}')
    if strict and unexpected:
        raise WeightsMismatchError(f'strict load of {src} failed: {len(unexpected)} checkpoint keys have no '
                                   f'place in the model:\n{report}')
    model.load_state_dict(mapped, strict=False)   # nothing is changed when the load is refused
    return report
