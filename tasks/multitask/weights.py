"""Weights both ways between single-task models and a :class:`MultiTaskModel`.

Both directions go through one *view*: a throw-away ``nn.Module`` whose state-dict keys are those of the
single-task model (``backbone.*``, ``head.*``; detection also ``neck.*``, its HRNetV2p in ``necks.<name>``) while
its tensors *are* the multi-task model's (shared, not copied). So

* ``load_task_weights(model, 'pose', 'pose_hrnet_w32.pth')`` = :func:`hrvision.load_weights` into the view
  (every format it reads: hrvision, official, mmpose, timm, safetensors), and
* ``export_task(model, 'det')`` = the view's ``state_dict()``: a checkpoint the single-task model loads.

Keys a single-task model lacks (e.g. the pose net's last-module fuse rows 1..3) are never invented: such an
import is refused unless ``allow_partial=True`` (then they are reported).
"""
from __future__ import annotations

import os
from typing import Mapping

from torch import Tensor, nn

from hrvision.engine.checkpoint import atomic_save_checkpoint
from hrvision.weights import LoadReport, load_weights

from .model import MultiTaskModel


def _attach(root: nn.Module, path: str, module: nn.Module) -> None:
    parent = root
    parts = path.split('.')
    for p in parts[:-1]:
        if p not in parent._modules:
            parent.add_module(p, nn.Module())
        parent = parent._modules[p]
    parent.add_module(parts[-1], module)


def task_view(model: MultiTaskModel, task: str) -> nn.Module:
    """A module with the single-task key layout of head ``task`` over the multi-task model's tensors."""
    if task not in model.adapters:
        raise KeyError(f'no head named {task!r} in this multi-task model; heads: {sorted(model.adapters)}')
    layout = model.adapters[task].single_task_layout()
    targets = {'@backbone': model.backbone, '@head': model.heads[task]}
    if task in model.necks:
        targets['@neck'] = model.necks[task]
    view = nn.Module()
    for path, src in sorted(layout.items(), key=lambda kv: kv[0].count('.')):   # parents before children
        deeper = [o[len(path) + 1:] for o in layout if o.startswith(path + '.')]
        module = targets[src]
        _attach(view, path, _shell(module, deeper) if deeper else module)
    return view


def _shell(module: nn.Module, holes: list[str]) -> nn.Module:
    """A container with ``module``'s children by reference, minus the sub-paths in ``holes`` (filled later)."""
    shell = nn.Module()
    for name, child in module.named_children():
        deeper = [h[len(name) + 1:] for h in holes if h.startswith(name + '.')]
        if name in holes:
            continue
        shell.add_module(name, _shell(child, deeper) if deeper else child)
    return shell


def load_task_weights(model: MultiTaskModel, task: str, source: str | os.PathLike | Mapping[str, Tensor],
                      strict: bool = False, allow_partial: bool = False) -> LoadReport:
    """Load a single-task checkpoint (any supported format) into the backbone and head ``task``; refused if
    it leaves any of their tensors unset, unless ``allow_partial``."""
    return load_weights(task_view(model, task), source, strict=strict, allow_partial=allow_partial)


def export_task(model: MultiTaskModel, task: str) -> dict[str, Tensor]:
    """State dict of head ``task`` + backbone in the single-task model's key layout (detached copies)."""
    return {k: v.detach().clone() for k, v in task_view(model, task).state_dict().items()}


def export_task_model(model: MultiTaskModel, task: str, single: nn.Module) -> LoadReport:
    """Load the exported weights into a built single-task model; raises if it would keep any key of its own
    (the multi-task model must fully define it). Keys only the multi-task model has are reported."""
    return load_weights(single, export_task(model, task), name=f'head {task!r} of the multi-task model')


def save_task(model: MultiTaskModel, task: str, path: str | os.PathLike) -> str:
    """Write ``{'state_dict': export_task(...), 'meta': {'task': ..., digest}}`` atomically (``weights_only``-safe)."""
    atomic_save_checkpoint({'state_dict': export_task(model, task), 'meta': {'task': task}}, os.fspath(path))
    return os.fspath(path)


__all__ = ['task_view', 'load_task_weights', 'export_task', 'export_task_model', 'save_task']
