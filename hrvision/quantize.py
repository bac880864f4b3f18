"""Narrower types for the ONNX export, with their accuracy cost measured before anything is written.

* **int8**: onnxruntime's post-training static quantization in QDQ form (``quantize_static``: uint8 activations,
  int8 per-channel weights) of the fp32 file :func:`hrvision.export.export_model` writes. Activation ranges:
  ``--calib-method`` (:class:`Int8Settings`; default ``mean-minmax``, each tensor's min and max averaged over the
  calibration inputs); ``--keep-fp32`` leaves the weighted layer nearest the input (the stem conv, which reads
  the normalised image) and / or those nearest the outputs (the heatmap / landmark / logit convs) fp32 (default
  ``first``). The defaults are the measured best on the demo models (``benchmarks/RESULTS.md``, "INT8
  calibration"): plain min/max lost 0.9 AP points on pose (onnxruntime) and 1.5 NME points on face; averaging the
  ranges fixed face, the fp32 stem fixed pose, the fp32 output convs changed nothing measurable on face and seg
  (0.3-0.4 AP points on pose, either way); percentile clips the rare large activations that carry the keypoints;
  entropy helped face but cost pose 4 AP points and takes
  minutes. Both settings are written into the file's metadata.
  The QDQ file runs on onnxruntime and on OpenVINO (which reads QDQ ONNX natively and runs the quantized
  convolutions in int8). NNCF (OpenVINO's quantizer) was measured against it on the face W18 network (256x256,
  1 thread, the development box; ``benchmarks/RESULTS.md``, "bf16 and NNCF"): on OpenVINO neither was faster
  beyond the noise (two runs disagreed in direction, within 20%), so this path is kept: one file for both
  runtimes (NNCF's OpenVINO output runs on OpenVINO only) and no extra dependency; its accuracy is measured on
  every export anyway (the refusal below).
* **bf16**: OpenVINO's CPU plugin with ``INFERENCE_PRECISION_HINT=bf16``, where the CPU has bf16 instructions
  (``OPTIMIZATION_CAPABILITIES`` lists ``BF16``). The file is the fp32 export marked ``bf16`` in its metadata
  (:data:`ONNX_PRECISION`); the OpenVINO backend compiles a file so marked with the bf16 hint.

Calibration: ``calib`` samples of a split (the dataset read with the config's **test** pipeline: for top-down
tasks a sample is one person / face crop) or the images of a folder (the Inferencer's reading: the whole image
as the box). What goes into the quantizer is exactly the network input the task's model builds, recorded by
running the model with the fp32 file swapped in (each task's ``use_onnx``): no task is named here.

Accuracy: the config's metric on ``eval_split`` (default val) through the runner's own test loop
(:func:`hrvision.engine.runner.build_runner`): the checkpoint in torch at fp32 (what ``hrvision test`` prints for
that split) and the candidate file swapped in for the network. Which metric keys count, which way is better and the default refusal threshold
are registered by the tasks (:func:`register_deploy_metric`); a drop above the threshold on any of them refuses
the export (:class:`DeployRefused`, exit 2, nothing written).
"""
from __future__ import annotations

import copy
import logging
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError, DataError, InputError

PRECISIONS = ('fp32', 'bf16', 'int8')
ONNX_PRECISION = 'hrvision.precision'   # ONNX metadata key: the precision a file is meant to run at


class DeployRefused(InputError):
    """The narrower model loses more accuracy than allowed; nothing was written."""


class Bf16Unsupported(InputError):
    """``--precision bf16`` on a CPU without bf16: said in one line, nothing written."""


# ---- what the tasks register ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeployMetric:
    """One metric the deployment ladder compares: ``key`` is the last part of the runner's metric name
    (``mIoU`` for ``seg/mIoU``), ``max_drop`` the default refusal threshold on the scale the runner reports."""
    key: str
    higher_better: bool
    max_drop: float
    scale: str = '0-1'

    def drop(self, ref: float, got: float) -> float:
        """How much worse ``got`` is than ``ref`` (negative: better)."""
        return ref - got if self.higher_better else got - ref


DEPLOY_METRICS: dict[str, DeployMetric] = {}


def register_deploy_metric(key: str, higher_better: bool, max_drop: float, scale: str = '0-1') -> None:
    """A task names the metric its evaluator reports (``key``: the name after the last ``/``) that the INT8 / BF16
    export compares, which way is better, and the default ``--max-drop`` on the metric's own scale."""
    new = DeployMetric(key, higher_better, max_drop, scale)
    if DEPLOY_METRICS.get(key, new) != new:
        raise KeyError(f'deploy metric {key!r} is registered twice with different settings')
    DEPLOY_METRICS[key] = new


def compared(metrics: dict, where: str) -> dict[str, DeployMetric]:
    """The runner's metric names that are registered deploy metrics (multi-task: one per head)."""
    from .registry import load_tasks
    load_tasks()
    out = {name: DEPLOY_METRICS[name.rsplit('/', 1)[-1]] for name in metrics
           if name.rsplit('/', 1)[-1] in DEPLOY_METRICS and isinstance(metrics[name], (int, float))}
    if not out:
        raise ConfigError(f'{where}: the metric reports {", ".join(sorted(metrics)) or "nothing"}; none of them is a '
                          f'metric the deployment check compares ({", ".join(sorted(DEPLOY_METRICS))})')
    return out


# ---- runtimes ---------------------------------------------------------------------------------------------------

def bf16_supported() -> bool:
    """Whether OpenVINO's CPU plugin runs bf16 on this CPU (its ``OPTIMIZATION_CAPABILITIES`` list ``BF16``: the
    CPU has avx512_bf16 or AMX); False without openvino."""
    try:
        from .inference.openvino import _core
        return 'BF16' in list(_core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES'))
    except Exception:  # noqa: BLE001  (no openvino, no CPU plugin)
        return False


def cpu_bf16_flags() -> list[str]:
    """The bf16 instruction flags /proc/cpuinfo lists (avx512_bf16, amx_bf16); [] elsewhere."""
    try:
        with open('/proc/cpuinfo') as f:
            flags = next((ln.split(':', 1)[1].split() for ln in f if ln.startswith('flags')), [])
    except OSError:
        return []
    return [x for x in ('avx512_bf16', 'amx_bf16') if x in flags]


def bf16_unsupported() -> str:
    """The one line said where bf16 cannot run (nothing measured, nothing written)."""
    flags = cpu_bf16_flags()
    return ('--precision bf16: this CPU has no bf16 support in OpenVINO (its CPU plugin lists no BF16 capability; '
            f'/proc/cpuinfo: {", ".join(flags) if flags else "no avx512_bf16, no amx_bf16"}): not measured, nothing '
            'written')


def runtime(backend: str):
    """The runner class of ``backend`` (a torch module around the file, as the Inferencer's backends use)."""
    if backend == 'onnxruntime':
        from .inference.ort import OnnxRuntimeModule
        return OnnxRuntimeModule
    if backend == 'openvino':
        from .inference.openvino import OpenVinoModule
        return OpenVinoModule
    raise InputError(f'backend must be onnxruntime or openvino for an exported file, got {backend!r}')


def swap_network(model, path: str, backend: str = 'onnxruntime'):
    """The task model with its network part run from the exported file by ``backend`` (the task's ``use_onnx``,
    as ``hrvision infer --backend``)."""
    from .inference.ort import use_onnxruntime
    from .inference.task import task_for
    return use_onnxruntime(task_for(model), path, 'cpu', runtime=runtime(backend), backend=backend)


def _register_hook():
    from mmengine.hooks import Hook

    from .registry import HOOKS

    @HOOKS.register_module(name='UseExportedFile', force=True)
    class UseExportedFile(Hook):
        """``hrvision test --backend onnxruntime|openvino --onnx FILE``: the test loop's model (checkpoint loaded)
        with its network swapped for the file, so a file's accuracy is measured by the config's own evaluator."""
        priority = 'LOWEST'

        def __init__(self, path: str, backend: str = 'onnxruntime') -> None:
            runtime(backend)
            self.path, self.backend = path, backend

        def before_test(self, runner) -> None:
            from mmengine.model import is_model_wrapper
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            swap_network(model, self.path, self.backend)
    return UseExportedFile


def _recorder(limit: int):
    """An onnxruntime runner that also keeps the inputs it sees (the network inputs the task's model builds)."""
    from .inference.ort import OnnxRuntimeModule

    class Recorder(OnnxRuntimeModule):
        seen: list = []

        def forward(self, x):
            for one in x.detach().float().cpu().numpy():
                if len(self.seen) < limit:
                    self.seen.append(np.ascontiguousarray(one[None]))
            return super().forward(x)
    Recorder.seen = []
    return Recorder


# ---- the config, the model, the splits --------------------------------------------------------------------------

def split_loader(cfg, split: str, what: str) -> dict:
    """The config's ``{split}_dataloader`` (a dict with a dataset), or a one-line error naming the option."""
    loader = cfg.get(f'{split}_dataloader')
    if not isinstance(loader, dict) or not isinstance(loader.get('dataset'), dict):
        have = [s for s in ('train', 'val', 'test') if isinstance(cfg.get(f'{s}_dataloader'), dict)]
        raise ConfigError(f'{what} {split}: config {cfg.filename or "<dict>"} has no {split}_dataloader with a '
                          f'dataset (it has: {", ".join(have) or "none"})')
    return loader


def _test_pipeline(cfg):
    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key)
        if isinstance(loader, dict) and isinstance(loader.get('dataset'), dict) and 'pipeline' in loader['dataset']:
            return loader['dataset']['pipeline']
    if cfg.get('test_pipeline') is not None:
        return cfg['test_pipeline']
    raise ConfigError(f'config {cfg.filename or "<dict>"}: no test pipeline to read calibration images with')


@dataclass
class Calibration:
    inputs: list
    skipped: list = field(default_factory=list)   # (name, why)
    source: str = ''


def calibrate(cfg, checkpoint: str, fp32_path: str, n: int, source: str = 'train', allow_partial: bool = False,
              log=None) -> Calibration:
    """``n`` network inputs read through the config's test pipeline from split ``source`` (train, val, test) or
    from the folder ``source``; unreadable images are counted, skipped and said; none readable is a DataError."""
    import torch

    from .apis import init_model
    from .inference.ort import use_onnxruntime
    from .inference.task import task_for
    log = log or (lambda s: print(s, file=sys.stderr))
    Recorder = _recorder(n)
    skipped: list = []
    if source in ('train', 'val', 'test'):
        from mmengine.dataset import pseudo_collate
        from mmengine.registry import init_default_scope

        from .registry import DATASETS
        loader = split_loader(cfg, source, '--calib-split')
        init_default_scope('hrvision')
        model = init_model(cfg, checkpoint, 'cpu', allow_partial=allow_partial)
        use_onnxruntime(task_for(model), fp32_path, 'cpu', runtime=Recorder)
        ds_cfg = copy.deepcopy(dict(loader['dataset']))
        ds_cfg['pipeline'] = copy.deepcopy(_test_pipeline(cfg))
        ds_cfg['test_mode'] = True
        dataset = DATASETS.build(ds_cfg)
        where = f'--calib-split {source}'
        with torch.no_grad():
            for i in range(len(dataset)):
                if len(Recorder.seen) >= n:
                    break
                try:
                    sample = dataset[i]
                except Exception as e:  # noqa: BLE001  (an unreadable image: counted and skipped)
                    info = _info(dataset, i)
                    skipped.append((info, (str(e).strip().splitlines() or [type(e).__name__])[0][:200]))
                    continue
                model.test_step(pseudo_collate([sample]))
    else:
        check_calib_source(cfg, source)
        from .inference import Inferencer
        from .inference.inputs import Skipped, collect, load
        where = f'--calib-split {source}'
        inf = Inferencer(cfg, checkpoint, device='cpu', allow_partial=allow_partial)
        use_onnxruntime(inf.task, fp32_path, 'cpu', runtime=Recorder)
        found = Skipped()
        items = collect(source, found)
        taken = []
        for it, img in load(items, found):
            taken.append((it, img))
            if len(taken) >= n:
                break
        skipped = list(found.entries)
        if taken:
            for _ in inf.run(iter(taken)):
                pass
    if skipped and Recorder.seen:   # none read at all: the error below says it in one line
        log(f'hrvision: calibration ({where}): {len(skipped)} unreadable image(s) skipped (first: '
            f'{skipped[0][0]}: {skipped[0][1]})')
    if not Recorder.seen:
        raise DataError(f'{where}: no calibration image could be read'
                        + (f' ({len(skipped)} skipped; first: {skipped[0][0]}: {skipped[0][1]})' if skipped else ''))
    if len(Recorder.seen) < n:
        log(f'hrvision: calibration ({where}): {len(Recorder.seen)} network input(s), fewer than --calib {n}')
    return Calibration(list(Recorder.seen), skipped, where)


def check_calib_source(cfg, source: str) -> None:
    """Refuse a calibration source that cannot give a sample (no such split, not a folder, a folder without
    images) before any export work."""
    if source in ('train', 'val', 'test'):
        split_loader(cfg, source, '--calib-split')
        return
    if not os.path.isdir(source):
        raise InputError(f'--calib-split {source}: expected train, val, test or a folder of images')
    from .inference.inputs import Skipped, collect
    try:
        collect(source, Skipped())
    except InputError as e:   # a folder without images
        raise InputError(f'--calib-split {e}') from None


def _info(dataset, i: int) -> str:
    try:
        info = dataset.get_data_info(i)
        return str(info.get('img_path') or info.get('img_id') or f'sample {i}')
    except Exception:  # noqa: BLE001
        return f'sample {i}'


# ---- the files ----------------------------------------------------------------------------------------------------

def _set_meta(path: str, props: dict) -> None:
    import onnx
    m = onnx.load(path)
    have = {p.key: p.value for p in m.metadata_props}
    have.update(props)
    onnx.helper.set_model_props(m, have)
    onnx.save(m, path)


def _meta(path: str) -> dict:
    import onnx
    return {p.key: p.value for p in onnx.load(path).metadata_props}


CALIB_METHODS = ('mean-minmax', 'minmax', 'percentile', 'entropy')
KEEP_FP32 = ('none', 'first', 'last', 'first+last')
DEFAULT_CALIB_METHOD = 'mean-minmax'   # measured on the demo models: benchmarks/RESULTS.md, "INT8 calibration"
DEFAULT_KEEP_FP32 = 'first'
DEFAULT_PERCENTILE = 99.999
ONNX_CALIB = 'hrvision.int8.calibration'   # ONNX metadata: how the activation ranges were chosen
ONNX_KEEP_FP32 = 'hrvision.int8.keep_fp32'   # which end layers stayed fp32 (none, first, last, first+last)
ONNX_FP32_NODES = 'hrvision.int8.fp32_nodes'   # their node names, comma-separated
WEIGHTED_OPS = ('Conv', 'ConvTranspose', 'Gemm', 'MatMul')


@dataclass(frozen=True)
class Int8Settings:
    """How ``--quantize int8`` quantizes: the activation-range ``method`` (``mean-minmax``: each tensor's minimum
    and maximum averaged over the calibration inputs, so one unusual input does not set the range for all;
    ``minmax``: the extremes over all inputs; ``percentile``: that percentile of each tensor's histogram, both
    tails; ``entropy``: the histogram range of least KL divergence) and which end layers stay fp32, weights,
    inputs and outputs (``keep_fp32``: the weighted layer nearest the input, those nearest the outputs).
    ``extra``: further onnxruntime ``extra_options`` (measurements only)."""
    method: str = DEFAULT_CALIB_METHOD
    keep_fp32: str = DEFAULT_KEEP_FP32
    percentile: float = DEFAULT_PERCENTILE
    extra: tuple = ()

    def __post_init__(self) -> None:
        if self.method not in CALIB_METHODS:
            raise InputError(f'--calib-method: expected one of {", ".join(CALIB_METHODS)}, got {self.method!r}')
        if self.keep_fp32 not in KEEP_FP32:
            raise InputError(f'--keep-fp32: expected one of {", ".join(KEEP_FP32)}, got {self.keep_fp32!r}')
        if not 0 < self.percentile <= 100:
            raise InputError(f'percentile: expected a number in (0, 100], got {self.percentile}')

    def describe(self) -> str:
        m = f'percentile {self.percentile:g}' if self.method == 'percentile' else self.method
        return f'{m} calibration, fp32 layers: {self.keep_fp32}'

    def calibration(self) -> str:
        return f'percentile {self.percentile:g}' if self.method == 'percentile' else self.method


def add_int8_args(p) -> None:
    """``--calib-method`` and ``--keep-fp32`` (``hrvision export --quantize int8`` and ``hrvision bench deploy``)."""
    p.add_argument('--calib-method', choices=CALIB_METHODS,
                   help='int8 activation ranges from the calibration inputs: mean-minmax (each tensor\'s min and max '
                        'averaged over the inputs), minmax (the extremes over all inputs), '
                        f'percentile ({DEFAULT_PERCENTILE:g}th percentile of each tensor, both tails clipped), '
                        f'entropy (the range of least KL divergence); default {DEFAULT_CALIB_METHOD}')
    p.add_argument('--keep-fp32', choices=KEEP_FP32,
                   help='int8: leave the weighted layer nearest the input (first), those nearest the outputs (last: '
                        'the heatmap / landmark / logit convs) or both in fp32; default ' + DEFAULT_KEEP_FP32)


def int8_settings(args) -> Int8Settings:
    """The parsed ``--calib-method`` / ``--keep-fp32`` (the defaults where left out)."""
    return Int8Settings(getattr(args, 'calib_method', None) or DEFAULT_CALIB_METHOD,
                        getattr(args, 'keep_fp32', None) or DEFAULT_KEEP_FP32)


def int8_flags_given(args) -> list[str]:
    """The int8-only flags given on the command line (refused with another precision)."""
    return [f for f, k in (('--calib-method', 'calib_method'), ('--keep-fp32', 'keep_fp32'))
            if getattr(args, k, None) is not None]


def end_layers(model) -> tuple[list[str], list[str]]:
    """The weighted nodes (Conv, Gemm, MatMul) nearest the graph inputs (first) and the graph outputs (last): reached
    from an input / output through unweighted nodes only (a multi-head network: one last layer per head)."""
    g = model.graph
    nodes = list(g.node)
    weights = {i.name for i in g.initializer}
    producer = {o: k for k, n in enumerate(nodes) for o in n.output}
    consumers: dict = {}
    for k, n in enumerate(nodes):
        for i in n.input:
            consumers.setdefault(i, []).append(k)

    def weighted(n) -> bool:
        return n.op_type in WEIGHTED_OPS and any(i in weights for i in n.input[1:])

    def walk(starts, nexts) -> list[str]:
        seen, found, todo = set(), set(), list(starts)
        while todo:
            k = todo.pop()
            if k in seen:
                continue
            seen.add(k)
            if weighted(nodes[k]):
                found.add(k)
                continue
            todo.extend(nexts(nodes[k]))
        return [nodes[k].name for k in sorted(found)]   # graph order

    inputs = [i.name for i in g.input if i.name not in weights]
    first = walk([c for i in inputs for c in consumers.get(i, [])],
                 lambda n: [c for o in n.output for c in consumers.get(o, [])])
    last = walk([producer[o.name] for o in g.output if o.name in producer],
                lambda n: [producer[i] for i in n.input if i in producer])
    return first, last


def fp32_nodes(model, keep: str) -> list[str]:
    """The node names ``--keep-fp32 keep`` leaves unquantized (unnamed ones are named first: the quantizer selects
    by name)."""
    if keep == 'none':
        return []
    for k, n in enumerate(model.graph.node):
        if not n.name:
            n.name = f'hrvision_node_{k}'
    first, last = end_layers(model)
    return list(dict.fromkeys((first if 'first' in keep else []) + (last if 'last' in keep else [])))


def _reader(inputs):
    """onnxruntime's calibration data reader over the network inputs (one ``input`` array each)."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self, xs):
            self.it = iter(xs)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {'input': x}
    return Reader(inputs)


def quantize_int8(fp32_path: str, out_path: str, calib: Calibration, settings: Int8Settings | None = None) -> None:
    """onnxruntime static quantization, QDQ format (U8 activations, S8 per-channel weights), activation ranges by
    ``settings.method``, ``settings.keep_fp32`` end layers left fp32; the fp32 file's metadata (dataset meta)
    kept, the precision and the settings added."""
    import contextlib
    import io

    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    settings = settings or Int8Settings()

    meta = _meta(fp32_path)
    model = onnx.load(fp32_path)
    keep = fp32_nodes(model, settings.keep_fp32)
    root = logging.getLogger()   # onnxruntime's advice to pre-process goes to the root logger, on every call
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(prefix='hrvision-int8-') as work, \
                contextlib.redirect_stdout(io.StringIO()):   # the histogram calibrators print their progress
            src = os.path.join(work, 'fp32.onnx')
            onnx.save(model, src)   # nodes named (the quantizer excludes by name)
            method, cache = _activation_ranges(src, calib.inputs, settings, work)
            quantize_static(src, out_path, _reader([]), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                            calibrate_method=method, nodes_to_exclude=keep, calibration_cache_path=cache,
                            extra_options=dict(settings.extra))
    finally:
        root.setLevel(level)
    _set_meta(out_path, dict(meta, **{ONNX_PRECISION: 'int8', ONNX_CALIB: settings.calibration(),
                                      ONNX_KEEP_FP32: settings.keep_fp32, ONNX_FP32_NODES: ','.join(keep)}))


def _activation_ranges(src: str, inputs: list, settings: Int8Settings, work: str):
    """Every tensor's range by the calibrator of ``settings.method``, written as onnxruntime's calibration cache
    (what ``quantize_static`` reads back). Done here rather than inside ``quantize_static`` because that one does
    not pass the histogram size on: its entropy search then has no narrower range to try than min/max. Percentile:
    both tails (``symmetric=False``), ``settings.percentile`` of the values kept."""
    from onnxruntime.quantization import CalibrationMethod
    from onnxruntime.quantization.calibrate import create_calibrator, save_tensors_data

    method, opts = {
        'minmax': (CalibrationMethod.MinMax, {}),
        'mean-minmax': (CalibrationMethod.MinMax, dict(moving_average=True)),   # one collect: the plain mean
        'percentile': (CalibrationMethod.Percentile, dict(num_bins=2048, percentile=settings.percentile,
                                                          symmetric=False)),
        'entropy': (CalibrationMethod.Entropy, dict(num_bins=2048, num_quantized_bins=128, symmetric=False)),
    }[settings.method]
    ex = dict(settings.extra)
    for key, name in (('CalibMovingAverage', 'moving_average'), ('CalibMovingAverageConstant', 'averaging_constant'),
                      ('CalibTensorRangeSymmetric', 'symmetric'), ('CalibNumBins', 'num_bins'),
                      ('CalibNumQuantizedBins', 'num_quantized_bins')):
        if key in ex:
            opts[name] = ex[key]
    cal = create_calibrator(src, None, augmented_model_path=os.path.join(work, 'augmented.onnx'),
                            calibrate_method=method, extra_options=opts)
    cal.collect_data(_reader(inputs))
    cache = os.path.join(work, 'ranges.json')
    save_tensors_data(cal.compute_data(), cache)
    return method, cache


def mark_bf16(fp32_path: str, out_path: str) -> None:
    shutil.copyfile(fp32_path, out_path)
    _set_meta(out_path, {ONNX_PRECISION: 'bf16'})


# ---- accuracy through the runner ----------------------------------------------------------------------------------

def eval_config(cfg, split: str, work_dir: str):
    """``cfg`` with its test loop reading ``split`` (its dataloader and evaluator), logging to ``work_dir``."""
    cfg = copy.deepcopy(cfg)
    if split != 'test':
        split_loader(cfg, split, '--eval-split')
        ev = cfg.get(f'{split}_evaluator')
        if ev is None:
            raise ConfigError(f'--eval-split {split}: config {cfg.filename or "<dict>"} has no {split}_evaluator')
        cfg.test_dataloader = copy.deepcopy(cfg[f'{split}_dataloader'])
        cfg.test_evaluator = copy.deepcopy(ev)
        cfg.test_cfg = cfg.get('test_cfg') or dict(type='TestLoop')
    else:
        split_loader(cfg, 'test', '--eval-split')
    if cfg.get('test_cfg') is None or cfg.get('test_evaluator') is None:
        raise ConfigError(f'--eval-split {split}: config {cfg.filename or "<dict>"} has no test loop '
                          '(test_cfg / test_evaluator)')
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


class Evaluator:
    """One runner (the config's test loop on the evaluation split, the checkpoint loaded once); ``metrics(path,
    backend)`` runs it with the network part swapped for the file (None: the torch model itself)."""

    def __init__(self, cfg, checkpoint: str, split: str = 'val', allow_partial: bool = False) -> None:
        from mmengine.hooks import Hook

        from .engine.runner import build_runner
        self.work_dir = tempfile.mkdtemp(prefix='hrvision-deploy-eval-')
        ecfg = eval_config(cfg, split, self.work_dir)
        ecfg.load_from = checkpoint
        ecfg.resume = False
        if allow_partial:
            ecfg.allow_partial_load = True
        self.split = split
        outer = self

        class UseFile(Hook):
            """Before each test run: a fresh copy of the loaded model, its network swapped for the file."""
            priority = 'LOWEST'

            def before_test(self, runner) -> None:
                if outer.pristine is None:
                    outer.pristine = copy.deepcopy(runner.model)
                runner.model = copy.deepcopy(outer.pristine)
                if outer.file is not None:
                    swap_network(runner.model, *outer.file)

        self.pristine, self.file = None, None
        self.runner = build_runner(ecfg)
        self.runner.register_hook(UseFile())

    def metrics(self, path: str | None = None, backend: str = 'onnxruntime') -> dict:
        self.file = (path, backend) if path else None
        out = self.runner.test()
        return {k: float(v) if isinstance(v, (int, float)) else v for k, v in out.items()}

    def close(self) -> None:
        from mmengine.logging import MMLogger
        for h in list(MMLogger.get_current_instance().handlers):   # the log file in work_dir
            if isinstance(h, __import__('logging').FileHandler):
                h.close()
        shutil.rmtree(self.work_dir, ignore_errors=True)


def fmt(v: float) -> str:
    return 'nan' if v is None or (isinstance(v, float) and math.isnan(v)) else f'{v:.5f}'


@dataclass
class DeployCheck:
    precision: str
    backend: str
    split: str
    ref: dict
    got: dict
    limits: dict   # metric name -> (DeployMetric, max_drop)

    def rows(self) -> list[tuple[str, float, float, float, float]]:
        return [(n, self.ref[n], self.got[n], m.drop(self.ref[n], self.got[n]), lim)
                for n, (m, lim) in self.limits.items()]

    def lines(self) -> list[str]:
        out = []
        for n, r, g, d, lim in self.rows():
            out.append(f'{n} on {self.split}: fp32 (torch) {fmt(r)}, {self.precision} ({self.backend}) {fmt(g)}, '
                       f'drop {fmt(d)} (max {lim:g})')
        return out

    def failed(self) -> list[tuple]:
        return [r for r in self.rows() if not (r[3] <= r[4] + 1e-9)]   # NaN fails; a drop equal to the limit passes


def max_drops(metrics: dict, where: str, max_drop: float | None) -> dict:
    """Each compared metric's refusal threshold: its registered default, or the one ``--max-drop`` for all, which
    is refused when the compared metrics are on different scales (a multi-task model's mIoU 0-1 and PCKh percent:
    half a point of one would be fifty of the other)."""
    found = compared(metrics, where)
    scales = {m.scale for m in found.values()}
    if max_drop is not None and len(scales) > 1:
        raise InputError(f'--max-drop {max_drop:g}: the compared metrics are on different scales ('
                         + ', '.join(f'{n}: {m.scale}' for n, m in sorted(found.items()))
                         + '); leave --max-drop out to use each metric\'s default')
    return {n: (m, m.max_drop if max_drop is None else max_drop) for n, m in found.items()}


# ---- the export -----------------------------------------------------------------------------------------------------

def export_narrow(config, checkpoint: str, out: str, shape: tuple[int, int], precision: str, calib: int = 32,
                  calib_split: str = 'train', eval_split: str = 'val', max_drop: float | None = None,
                  cfg_options: dict | None = None, data_root: str | None = None, allow_partial: bool = False,
                  log=print, int8: Int8Settings | None = None) -> DeployCheck:
    """``hrvision export --format onnx --quantize int8`` / ``--precision bf16``: export fp32, make the narrower
    file, evaluate both on ``eval_split``, print both and the drop; write ``out`` only when every compared metric
    drops by at most its limit (:class:`DeployRefused` otherwise). bf16 on a CPU without it:
    :class:`Bf16Unsupported` (one line, before any work). ``int8``: the calibration method and the layers kept
    fp32 (default :class:`Int8Settings`), printed with the metrics and recorded in the file's metadata."""
    int8 = int8 or Int8Settings()
    if precision not in ('int8', 'bf16'):
        raise InputError(f'precision must be int8 or bf16, got {precision!r}')
    if max_drop is not None and not max_drop >= 0:
        raise InputError(f'--max-drop: expected a number >= 0, got {max_drop}')
    if precision == 'bf16':
        from .inference.openvino import _import_openvino
        _import_openvino()
        if not bf16_supported():
            raise Bf16Unsupported(bf16_unsupported())
    else:
        from .inference.ort import _import_ort
        _import_ort()
    from .apis import init_model
    from .engine.runner import prepare_config
    from .export import export_model
    from .zoo import resolve_checkpoint
    with tempfile.TemporaryDirectory(prefix='hrvision-deploy-') as work:
        cfg = prepare_config(config, work_dir=work, cfg_options=cfg_options, data_root=data_root,
                             checkpoint=checkpoint)   # a zoo alias: its config and training settings
        checkpoint = resolve_checkpoint(checkpoint)   # a zoo alias: its verified, converted file
        eval_config(cfg, eval_split, work)   # a missing split or calibration source is said before any work
        if precision == 'int8':
            check_calib_source(cfg, calib_split)
        model = init_model(cfg, checkpoint, 'cpu', allow_partial=allow_partial)
        fp32 = os.path.join(work, 'fp32.onnx')
        export_model(model, fp32, tuple(shape), 'onnx')
        narrow = os.path.join(work, f'{precision}.onnx')
        if precision == 'int8':
            cal = calibrate(cfg, checkpoint, fp32, calib, calib_split, allow_partial)
            quantize_int8(fp32, narrow, cal, int8)
            log(f'int8: {int8.describe()} ({", ".join(_meta(narrow)[ONNX_FP32_NODES].split(",")) or "no node"} '
                f'fp32), calibrated on {len(cal.inputs)} network input(s) from {cal.source}')
            backend = 'onnxruntime'
        else:
            mark_bf16(fp32, narrow)
            backend = 'openvino'
        ev = Evaluator(cfg, checkpoint, eval_split, allow_partial)
        try:
            ref = ev.metrics(None)   # the checkpoint in torch: what ``hrvision test`` gives on that split
            got = ev.metrics(narrow, backend)
        finally:
            ev.close()
        check = DeployCheck(precision, backend, eval_split, ref, got, max_drops(ref, f'--eval-split {eval_split}',
                                                                               max_drop))
        for line in check.lines():
            log(line)
        bad = check.failed()
        if bad:
            n, r, g, d, lim = bad[0]
            raise DeployRefused(f'export refused, nothing written to {out}: {precision} drops {n} by {fmt(d)} on the '
                                f'{eval_split} split ({fmt(r)} -> {fmt(g)}), more than --max-drop {lim:g}')
        from .atomic import atomic_path, write_with
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with atomic_path(out) as tmp, open(narrow, 'rb') as src:
            write_with(out, tmp, lambda f: shutil.copyfileobj(src, f), f'{precision} model')
    log(f'exported {out} ({precision}, onnx, {os.path.getsize(out):,} bytes'
        + (f'; {int8.describe()})' if precision == 'int8' else ')'))
    return check


def metric_help() -> str:
    """The registered metrics and their default --max-drop, for ``--help`` and the docs."""
    from .registry import load_tasks
    load_tasks()
    return ', '.join(f'{m.key} {m.max_drop:g} ({"higher" if m.higher_better else "lower"} is better, {m.scale})'
                     for m in sorted(DEPLOY_METRICS.values(), key=lambda m: m.key))


UseExportedFile = _register_hook()

__all__ = ['PRECISIONS', 'ONNX_PRECISION', 'DeployRefused', 'Bf16Unsupported', 'UseExportedFile', 'swap_network',
           'DeployMetric', 'DEPLOY_METRICS', 'register_deploy_metric', 'compared', 'bf16_supported', 'bf16_unsupported',
           'calibrate', 'quantize_int8', 'CALIB_METHODS', 'KEEP_FP32', 'Int8Settings', 'add_int8_args', 'int8_settings',
           'end_layers', 'fp32_nodes', 'mark_bf16', 'Evaluator', 'export_narrow', 'DeployCheck', 'metric_help']
