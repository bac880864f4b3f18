"""The onnxruntime backend: the network exported by ``hrvision export --format onnx`` runs in ONNX Runtime,
inside the task model, so pre- and post-processing are the torch backend's own (flip test, decoding, resizing).

What runs where (each task's ``TaskInference.use_onnx`` makes the swap):

* segmentation (``logits``), pose (``heatmaps``), face (head on features): the whole network in ONNX Runtime;
  upsampling, flip averaging and heatmap decoding in torch.
* detection: backbone, HRNetV2p pyramid and the dense head (FCOS head / Faster R-CNN RPN head) in ONNX Runtime;
  the file also outputs the pyramid levels. Anchors, box decoding, NMS and, for Faster R-CNN, the RoI stage after
  the proposals (RoIAlign on those levels, box head, class-wise NMS) run in torch on the ONNX Runtime outputs.
* multi-task: every head's raw output in ONNX Runtime (one call, the detector's levels among them); the
  detector's post-processing as above, then the keypoint RoI decoding per detected box, mask resizing and
  landmark decoding in torch.

Devices: ``device='cuda[:N]'`` runs the file on onnxruntime's CUDA provider (the ``onnxruntime-gpu`` build) on
GPU N; one stderr line says which provider runs (with the CPU build it is the CPU). Inputs and outputs cross as
numpy arrays, so on a GPU each call copies the batch to the host and back (no io binding); torch's pre- and
post-processing stay on the model's device.
"""
from __future__ import annotations

import sys

import numpy as np
import torch
from torch import nn

from ..errors import InputError

_SAID: set = set()   # provider lines already printed (once per process)


def _import_ort():
    try:
        import onnxruntime
    except ImportError:
        raise InputError('the onnxruntime backend needs onnxruntime: pip install "hrvision[onnx]"') from None
    return onnxruntime


def cuda_provider_available() -> bool:
    """Whether the installed onnxruntime has the CUDA provider (the ``onnxruntime-gpu`` build); False without
    onnxruntime (its absence is said where the backend is built)."""
    try:
        import onnxruntime
    except ImportError:
        return False
    return 'CUDAExecutionProvider' in onnxruntime.get_available_providers()


def _say_provider(device: str, running: str) -> None:
    """One stderr line (once per process) naming the provider that runs a network asked for on CUDA: the CPU
    build of onnxruntime, or a CUDA provider that failed to load, would otherwise fall back without a word."""
    if running == 'CUDAExecutionProvider':
        line = (f'hrvision: onnxruntime runs the network on CUDAExecutionProvider ({device}); each call copies its '
                'input and outputs through host memory')
    else:
        why = ('this onnxruntime has no CUDA provider: pip install onnxruntime-gpu' if not cuda_provider_available()
               else 'the CUDA provider did not load: see onnxruntime\'s messages above')
        line = f'hrvision: onnxruntime runs the network on {running}, not on {device} ({why})'
    if line not in _SAID:
        _SAID.add(line)
        print(line, file=sys.stderr)


class OnnxRuntimeModule(nn.Module):
    """An ONNX file as a torch callable: (N, 3, H, W) float tensor -> its first output (or all, ``all_outputs``)."""

    def __init__(self, path: str, device=None, all_outputs: bool = False, threads: int | None = None) -> None:
        super().__init__()
        ort = _import_ort()
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        elif torch.get_num_threads():
            opts.intra_op_num_threads = torch.get_num_threads()
        providers: list = ['CPUExecutionProvider']
        cuda = device is not None and torch.device(device).type == 'cuda'
        if cuda and cuda_provider_available():
            providers.insert(0, ('CUDAExecutionProvider', {'device_id': torch.device(device).index or 0}))
        try:
            self.session = ort.InferenceSession(path, opts, providers=providers)
        except Exception as e:  # noqa: BLE001  (onnxruntime raises its own classes)
            from ..errors import DataError
            raise DataError(f'{path}: onnxruntime cannot load it ({str(e).splitlines()[0][:200]})') from None
        if cuda:
            _say_provider(str(device), self.session.get_providers()[0])
        self.input_name = self.session.get_inputs()[0].name
        self.all_outputs = all_outputs
        self.path = path

    order = None   # select_outputs: the file's output indices to return, in this order

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.session.get_outputs()]

    def metadata(self) -> dict:
        """The file's metadata (``export_model`` writes the checkpoint's dataset_meta there)."""
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def select_outputs(self, names: list[str], what: str) -> None:
        """Return all the outputs ``names`` (the paths :func:`hrvision.export.export_model` names them by), in
        this order, whatever order the file holds them in; a file refused when it lacks one (another model's)."""
        have = self.output_names
        if set(names) - set(have) or len(names) != len(have):
            from ..errors import DataError
            raise DataError(f'{self.path}: outputs {", ".join(have)}; {what} needs {", ".join(names)}: not '
                            'exported from this model (hrvision export CONFIG CKPT --format onnx)')
        self.order, self.all_outputs = [have.index(n) for n in names], True

    def pick(self, tensors: list):
        """All outputs in the file's order -> what ``forward`` returns (the selected ones, all, or the first)."""
        if self.order is not None:
            return tuple(tensors[i] for i in self.order)
        return tuple(tensors) if self.all_outputs else tensors[0]

    def forward(self, x: torch.Tensor):
        outs = self.session.run(None, {self.input_name: x.detach().float().contiguous().cpu().numpy()})
        return self.pick([torch.from_numpy(np.asarray(o)).to(x.device) for o in outs])


def use_onnxruntime(task, path: str | None, device=None, runtime=None, backend: str = 'onnxruntime') -> nn.Module:
    """Swap the network part of ``task.model`` for ``path`` run by onnxruntime (in place, the task's
    ``use_onnx``); returns the model. ``runtime`` / ``backend``: another runner of the same file (OpenVINO)."""
    if not path:
        raise InputError(f'the {backend} backend needs the exported network: onnx=FILE '
                         '(hrvision export CONFIG CKPT --format onnx)')
    if not task.onnx:
        from .task import onnx_kinds
        raise InputError(f'the {backend} backend covers {", ".join(onnx_kinds())} models; a {task.kind} model '
                         "runs with backend='torch' (its post-processing needs torch features)")
    net = (runtime or OnnxRuntimeModule)(path, device)
    if getattr(task.model, 'dataset_meta', None) is None:   # no checkpoint: the training data's meta in the file
        from ..export import ONNX_DATASET_META
        found = net.metadata().get(ONNX_DATASET_META)
        if found:
            import json
            try:
                task.model.dataset_meta = json.loads(found)
            except ValueError:
                from ..errors import DataError
                raise DataError(f'{path}: metadata {ONNX_DATASET_META} is not JSON (hrvision export writes the '
                                "checkpoint's dataset_meta there as JSON)") from None
    task.use_onnx(net)
    return task.model
