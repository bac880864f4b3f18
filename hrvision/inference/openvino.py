"""The OpenVINO backend: the file of ``hrvision export --format onnx`` compiled by OpenVINO's CPU plugin, swapped
into the task model exactly as the onnxruntime backend (the task's ``use_onnx``), so pre- and post-processing stay
the torch backend's own.

Why a second runtime: on this project's CPU benchmark (``benchmarks/RESULTS.md``, 1 thread, fp32) OpenVINO ran
the HRNet networks 10-15% faster than onnxruntime on the same file. It is compiled with fp32 inference precision
(no silent bf16 on CPUs that have it; bf16 only for a file ``hrvision export --precision bf16`` marked so),
latency mode, one stream and torch's thread count; input sizes stay dynamic (batch, height, width), as in the
exported file. An INT8 file (QDQ, ``hrvision export --quantize int8``) runs its quantized layers in int8.

Device: the CPU only. ``Inferencer`` / ``hrvision infer`` without a device put the whole model on the CPU for
this backend, also on a machine with a GPU (``default_device``); an explicit CUDA device is refused.
"""
from __future__ import annotations

import functools
import os
import sys

import numpy as np
import torch

from ..errors import DataError, InputError, MissingFileError
from .ort import OnnxRuntimeModule, use_onnxruntime


@functools.lru_cache(maxsize=None)
def _core():
    """One OpenVINO ``Core`` per process: creating and querying a second one can crash the process (seen as a
    segfault after several model loads in one test session; ultralytics made the same change)."""
    return _import_openvino().Core()


def _import_openvino():
    try:
        import openvino
    except ImportError:
        raise InputError('the openvino backend needs openvino: pip install "hrvision[openvino]"') from None
    return openvino


class OpenVinoModule(OnnxRuntimeModule):
    """An ONNX file compiled by OpenVINO as a torch callable: (N, 3, H, W) float tensor -> its first output (or
    all, ``all_outputs``); same interface as :class:`~.ort.OnnxRuntimeModule` (``output_names``, ``select_outputs``,
    ``metadata``)."""

    def __init__(self, path: str, device=None, all_outputs: bool = False, threads: int | None = None) -> None:
        torch.nn.Module.__init__(self)
        if device is not None and torch.device(device).type != 'cpu':
            raise InputError(f"the openvino backend runs on the CPU; got device={str(device)!r} (use device='cpu')")
        _import_openvino()   # a missing openvino is said before a missing file
        if not os.path.isfile(path):
            raise MissingFileError(f'{path}: no such file (the network hrvision export --format onnx writes)')
        config = {'INFERENCE_NUM_THREADS': int(threads or torch.get_num_threads() or 1),
                  'INFERENCE_PRECISION_HINT': 'f32', 'PERFORMANCE_HINT': 'LATENCY', 'NUM_STREAMS': 1}
        try:
            core = _core()
            model = core.read_model(path)
            config['INFERENCE_PRECISION_HINT'] = _precision_hint(model, path)
            self.compiled = core.compile_model(model, 'CPU', config)
        except DataError:
            raise
        except Exception as e:  # noqa: BLE001  (OpenVINO raises RuntimeError for missing and malformed files)
            raise DataError(f'{path}: openvino cannot load it ({str(e).strip().splitlines()[0][:200]})') from None
        self.request = self.compiled.create_infer_request()
        self.all_outputs = all_outputs
        self.path = path

    @property
    def output_names(self) -> list[str]:
        return [o.get_any_name() for o in self.compiled.outputs]

    def metadata(self) -> dict:
        info = _core().read_model(self.path).get_rt_info()   # the ONNX metadata_props
        return {k: v.astype(str) for k, v in info['framework'].items()} if 'framework' in info else {}

    def forward(self, x: torch.Tensor):
        arr = np.ascontiguousarray(x.detach().float().cpu().numpy())
        outs = self.request.infer({0: arr}, share_inputs=True)   # outputs are copies (share_outputs=False)
        tensors = [torch.from_numpy(np.asarray(outs[o])).to(x.device) for o in self.compiled.outputs]
        return self.pick(tensors)   # select_outputs' order (det / multi-task), all, or the first


def _precision_hint(model, path: str) -> str:
    """f32, or bf16 for a file that ``hrvision export --precision bf16`` marked so (``hrvision.precision`` in its
    metadata) when this CPU has bf16 (else f32, said once)."""
    from ..quantize import ONNX_PRECISION, bf16_supported
    info = model.get_rt_info()
    marked = info['framework'][ONNX_PRECISION].astype(str) if 'framework' in info and \
        ONNX_PRECISION in info['framework'] else None
    if marked != 'bf16':
        return 'f32'
    if bf16_supported():
        return 'bf16'
    line = f'hrvision: {path} is marked bf16, but this CPU has no bf16 support in OpenVINO: it runs at f32'
    if line not in _SAID:
        _SAID.add(line)
        print(line, file=sys.stderr)
    return 'f32'


_SAID: set = set()


def use_openvino(task, path: str | None, device=None) -> torch.nn.Module:
    """Swap the network part of ``task.model`` for ``path`` compiled by OpenVINO (the onnxruntime backend's swap,
    :func:`~.ort.use_onnxruntime`, with this runner); returns the model."""
    return use_onnxruntime(task, path, device, runtime=OpenVinoModule, backend='openvino')
