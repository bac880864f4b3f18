"""Export a model for deployment and prove that the export gives the eager outputs, at any size.

* ``pt2`` (default): ``torch.export`` with dynamic batch, height and width, saved with
  ``torch.export.save`` (load with ``torch.export.load(path).module()``; AOTInductor / ExecuTorch
  take it from there). HRNet fuses by exact-size interpolation, so one exported graph serves every
  input size.
* ``torchscript``: ``torch.jit.trace`` (deprecated by PyTorch, kept for libtorch users).
* ``onnx``: BatchNorm folded into the convolutions and the 1x1 conv after the HRNetV2 concat run per branch
  before the upsampling (:func:`hrvision.fuse.fuse_for_inference`, on a copy), the
  installed torch's ONNX exporter (TorchScript-based, ``dynamo=False``: no onnxscript needed) with dynamic
  batch, height and width, checked with onnxruntime (``pip install "hrvision[onnx]"``). Every task's network
  exports (the detector's raw head outputs; its box decoding and NMS stay in torch).

The exported module takes a normalised image batch (N, C, H, W) and returns what ``model(x)``
returns (seg logits, heatmaps, branch maps, ...). Every export is written to a temporary file beside
the target, reloaded and compared with the eager model at the traced size and at a second, odd size;
only then is it renamed to the target. A difference above ``tolerance`` (relative to the output scale)
raises :class:`ExportCheckError` and leaves no file at the target; so does a failed write (disk full:
``WriteError`` naming the target; the file is serialised through :func:`hrvision.atomic.write_with`).
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .atomic import atomic_path, write_with
from .errors import HRVisionError

FORMATS = ('pt2', 'torchscript', 'onnx')
ONNX_OPSET = 17
ONNX_DATASET_META = 'hrvision.dataset_meta'   # ONNX metadata key: the checkpoint's dataset_meta


class TensorForward(nn.Module):
    """``model(x)`` in 'tensor' mode with dict/list outputs flattened to a tuple."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor):
        out = self.model(x)
        if isinstance(out, dict):
            return tuple(out.values())
        return tuple(out) if isinstance(out, (list, tuple)) else out


class ExportCheckError(HRVisionError, ValueError):
    """The exported program does not give the eager outputs; nothing was written."""


def _flat(out) -> list[Tensor]:
    """Nested dicts / lists / tuples of tensors -> their tensors in order (what ONNX outputs are)."""
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flat(o)]
    return [out]


@dataclass
class ExportReport:
    path: str
    format: str
    checks: dict  # (H, W) -> max |eager - exported|

    def __str__(self) -> str:
        parts = ', '.join(f'{d:.2e} at {h}x{w}' for (h, w), d in self.checks.items())
        return f'exported {self.path} ({self.format}); max |eager - exported|: {parts}'


def _format_of(path: str) -> str:
    return 'pt2' if path.endswith('.pt2') else 'onnx' if path.endswith('.onnx') else 'torchscript'


def load_exported(path: str, fmt: str | None = None) -> nn.Module:
    """Load a file written by :func:`export_model` (format from ``fmt`` or the suffix: .pt2, .onnx or TorchScript);
    an ONNX file runs in onnxruntime and returns all outputs as a tuple."""
    fmt = fmt or _format_of(path)
    if fmt == 'onnx':
        from .inference.ort import OnnxRuntimeModule
        return OnnxRuntimeModule(path, all_outputs=True)
    if fmt == 'pt2':
        with open(path, 'rb') as f:
            return torch.export.load(f).module()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)
        return torch.jit.load(path)


def model_device(model: nn.Module) -> torch.device:
    """Where ``model`` lives: its first parameter's (else buffer's) device; the CPU for a weightless module."""
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device('cpu')


def example_inputs(model: nn.Module, n: int, in_ch: int, hw) -> Tensor:
    """A random (n, in_ch, H, W) batch on the model's device (``init_model`` puts models on CUDA by default)."""
    return torch.randn(n, in_ch, *hw, device=model_device(model))


@torch.no_grad()
def export_model(model: nn.Module, path: str, shape: tuple[int, int], fmt: str = 'pt2',
                 check_shape: tuple[int, int] | None = None, tolerance: float = 1e-4) -> ExportReport:
    """Export ``model`` (put in eval mode) with an example input of ``shape`` (H, W); check and report."""
    if fmt not in FORMATS:
        raise ValueError(f'export format must be one of {FORMATS}, got {fmt!r}')
    wrapped = TensorForward(model.eval()).eval()
    if fmt == 'onnx':   # rewrite a copy; the check below compares it with the user's unchanged model
        import copy

        from .fuse import fuse_for_inference
        folded = TensorForward(fuse_for_inference(copy.deepcopy(model).eval())).eval()
    else:
        folded = wrapped
    in_ch = getattr(getattr(model, 'backbone', model), 'in_channels', 3)
    example = example_inputs(model, 2, in_ch, shape)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_path(path) as tmp:   # renamed to ``path`` only after the checks pass
        checks = _write_and_check(wrapped, folded, example, tmp, fmt, in_ch, shape, check_shape, tolerance, path)
    return ExportReport(path, fmt, checks)


def _named(out, prefix: str = '') -> list[tuple[str, Tensor]]:
    """:func:`_flat` with each tensor's path of dict keys / list indices (``det.features.p2``, ``seg``)."""
    if isinstance(out, dict):
        return [x for k, v in out.items() for x in _named(v, f'{prefix}{k}.')]
    if isinstance(out, (list, tuple)):
        return [x for i, v in enumerate(out) for x in _named(v, f'{prefix}{i}.')]
    return [(prefix[:-1], out)]


def _export_onnx(folded: nn.Module, example: Tensor, f) -> None:
    # outputs named by their place in the model's output (a plain tensor / list: output0, output1, ...), so the
    # onnxruntime backend finds each by name, whatever order a config lists the multi-task heads in
    outs = _named(folded.model(example))
    names = [f'output{i}' if n.replace('.', '').isdigit() or not n else n for i, (n, _) in enumerate(outs)]
    outs = [t for _, t in outs]
    dyn = {'input': {0: 'batch', 2: 'height', 3: 'width'}}
    dyn.update({n: {d: f'{n}_{d}' for d in range(t.dim())} for n, t in zip(names, outs)})
    buf = io.BytesIO()   # in memory, then one write into ``f`` (export_model's guarded temp file)
    torch.onnx.export(folded, (example,), buf, dynamo=False, input_names=['input'], output_names=names,
                      dynamic_axes=dyn, opset_version=ONNX_OPSET)
    meta = getattr(folded.model, 'dataset_meta', None)
    if not meta:
        f.write(buf.getvalue())
        return
    import json   # the training data's classes / category ids (hrvision.init_model keeps them), for the results

    import onnx
    graph = onnx.load_model_from_string(buf.getvalue())
    onnx.helper.set_model_props(graph, {ONNX_DATASET_META: json.dumps(
        meta, default=lambda o: o.tolist() if hasattr(o, 'tolist') else str(o))})
    f.write(graph.SerializeToString())


def _write_and_check(wrapped, folded, example, tmp, fmt, in_ch, shape, check_shape, tolerance, path) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if fmt == 'onnx':
            from .inference.ort import _import_ort
            _import_ort()   # before the export: a missing onnxruntime is said first
            save = lambda f: _export_onnx(folded, example, f)   # noqa: E731
        elif fmt == 'pt2':
            dyn = torch.export.Dim.AUTO
            program = torch.export.export(wrapped, (example,), dynamic_shapes={'x': {0: dyn, 2: dyn, 3: dyn}})
            save = lambda f: torch.export.save(program, f)   # noqa: E731  (a file object: any temp name)
        else:
            traced = torch.jit.trace(wrapped, example, check_trace=False)
            save = lambda f: torch.jit.save(traced, f)   # noqa: E731
        # a file object, not a path: torch's C++ writer aborts the process on a failed write (disk full);
        # this one gives a WriteError naming the file and leaves no temp file (hrvision.atomic)
        write_with(path, tmp, save, 'exported model')
    exported = load_exported(tmp, fmt)
    checks = {}
    for hw in (tuple(shape), tuple(check_shape or (shape[0] + 37, shape[1] + 21))):
        x = example_inputs(wrapped, 3, in_ch, hw)
        ref = _flat(wrapped(x))
        try:
            got = _flat(exported(x))
        except Exception as e:  # a guard of the exported program (a size it specialised on), ...
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ExportCheckError(f'export refused, nothing written to {path}: the exported model fails at input '
                                   f'size {hw[0]}x{hw[1]} where eager runs ({first})') from None
        scale = max(1.0, max(float(t.abs().max()) for t in ref))
        diff = max(float((a - b).abs().max()) if a.shape == b.shape else float('inf') for a, b in zip(ref, got))
        if diff > tolerance * scale or len(ref) != len(got):
            raise ExportCheckError(f'export refused, nothing written to {path}: at input size {hw[0]}x{hw[1]} '
                                   f'the exported model differs from eager by up to {diff:.3e} (tolerance '
                                   f'{tolerance:g} x output scale {scale:.3g})')
        checks[hw] = diff
    return checks
