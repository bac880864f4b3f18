"""``hrvision bench deploy CONFIG CKPT``: the deployment ladder of one trained model in one table.

Rows: backend x precision (torch fp32 eager as shipped; onnxruntime fp32 / int8; OpenVINO fp32 / bf16 / int8, all
on the file ``hrvision export --format onnx [--quantize int8 | --precision bf16]`` writes, made here the same way:
:mod:`hrvision.quantize`). Per row:

* latency: end to end (image file -> decode -> the config's test pipeline -> network -> post-processing, through
  :class:`hrvision.Inferencer`; top-down tasks: the whole image as the box), batch 1, the median over interleaved
  rounds (every row once per round, so a loaded machine slows all rows alike), at the thread count stated;
  images/s = 1 / latency;
* the config's metric on the evaluation split through the runner's test loop (what ``hrvision test`` gives; the
  exported rows: ``hrvision test --backend B --onnx FILE``) and its difference from torch fp32;
* the file size (torch: the checkpoint file).

A bf16 row on a CPU without bf16 (OpenVINO lists no BF16 capability) stays in the table, marked not measured;
torch rows exist at fp32 only (the narrower types are the exported file's). A PNG bar chart of images/s beside the
table (``--out``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

BACKENDS = ('torch', 'onnxruntime', 'openvino')
LADDER = (('torch', 'fp32'), ('onnxruntime', 'fp32'), ('onnxruntime', 'int8'), ('openvino', 'fp32'),
          ('openvino', 'bf16'), ('openvino', 'int8'))


@dataclass
class Row:
    backend: str
    precision: str
    status: str = 'ok'                       # ok, or why the row was not measured
    latency_ms: float | None = None          # median, batch 1, end to end
    images_per_s: float | None = None
    rounds_ms: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)   # compared metric name -> value
    diff: dict = field(default_factory=dict)      # compared metric name -> value - torch fp32 value
    file_bytes: int | None = None


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .cli_args import add_cfg_options, checkpoint_or_alias, positive_int
    from .quantize import PRECISIONS
    p.add_argument('config', help='mmengine config (.py) of the trained model')
    p.add_argument('checkpoint', type=checkpoint_or_alias, help='checkpoint file or zoo alias')
    p.add_argument('--shape', nargs=2, type=positive_int, required=True, metavar=('H', 'W'),
                   help='the example network input of the ONNX export (sizes stay dynamic in the file)')
    p.add_argument('--backends', nargs='+', choices=BACKENDS, default=list(BACKENDS))
    p.add_argument('--precisions', nargs='+', choices=PRECISIONS, default=list(PRECISIONS))
    p.add_argument('--calib', type=positive_int, default=32, metavar='N', help='int8 calibration samples (default 32)')
    p.add_argument('--calib-split', default='train', metavar='train|val|test|FOLDER',
                   help='where the calibration samples come from (default train)')
    from .quantize import add_int8_args
    add_int8_args(p)
    p.add_argument('--eval-split', default='val', choices=['train', 'val', 'test'],
                   help='the split the metric is computed on (default val); its first --images images are timed')
    p.add_argument('--threads', type=positive_int, default=1, help='intra-op threads of every backend (default 1)')
    p.add_argument('--rounds', type=positive_int, default=5, help='interleaved timing rounds (default 5)')
    p.add_argument('--images', type=positive_int, default=4, help='image files per round (default 4)')
    p.add_argument('--out', metavar='DIR', help='also write deploy_bench.md, deploy_bench.json and deploy_bench.png')
    p.add_argument('--data-root', metavar='DIR', help='the dataset folder (as hrvision test --data-root)')
    p.add_argument('--allow-partial', action='store_true', help='a checkpoint that leaves some weights unset')
    add_cfg_options(p)


def _rows(backends, precisions, notes: list) -> list[Row]:
    rows = [Row(b, p) for b, p in LADDER if b in backends and p in precisions]
    if 'torch' in backends and set(precisions) - {'fp32'}:
        notes.append('torch runs at fp32 only here; bf16 and int8 are the exported file\'s (OpenVINO, onnxruntime)')
    if not rows:
        from .errors import InputError
        raise InputError(f'--backends {" ".join(backends)} --precisions {" ".join(precisions)}: no row of the ladder '
                         f'({", ".join(f"{b} {p}" for b, p in LADDER)})')
    return rows


def _timed_images(cfg, split: str, n: int) -> list[str]:
    """The first ``n`` image files of the evaluation split (what the Inferencer reads from disk)."""
    from mmengine.registry import init_default_scope

    from .errors import DataError
    from .quantize import split_loader
    from .registry import DATASETS
    init_default_scope('hrvision')
    dataset = DATASETS.build(dict(split_loader(cfg, split, '--eval-split')['dataset']))
    paths = []
    for i in range(len(dataset)):
        p = dataset.get_data_info(i).get('img_path')
        if p and p not in paths:
            paths.append(p)
        if len(paths) >= n:
            break
    if not paths:
        raise DataError(f'--eval-split {split}: the dataset names no image file (img_path) to time')
    return paths


def run(args: argparse.Namespace) -> dict:
    """Measure the ladder; print the table; with ``--out`` write it (markdown, JSON, PNG). Returns the JSON dict."""
    import torch

    from .apis import init_model
    from .engine.runner import prepare_config
    from .export import export_model
    from .inference import Inferencer
    from .quantize import (Evaluator, bf16_supported, bf16_unsupported, calibrate, check_calib_source, compared,
                           eval_config, int8_flags_given, int8_settings, mark_bf16, quantize_int8)
    from .zoo import resolve_checkpoint
    torch.set_num_threads(args.threads)   # onnxruntime and OpenVINO take torch's count
    notes: list = []
    int8 = int8_settings(args)   # refused in one line before any work
    rows = _rows(args.backends, args.precisions, notes)
    if int8_flags_given(args) and not any(r.precision == 'int8' for r in rows):
        from .errors import InputError
        raise InputError(f'hrvision bench deploy: {" / ".join(int8_flags_given(args))}: only with an int8 row '
                         f'(--precisions ... int8)')
    if args.out:
        _check_out(args.out)
    if any(r.backend == 'openvino' for r in rows):
        try:
            from .inference.openvino import _import_openvino
            _import_openvino()
        except Exception as e:  # noqa: BLE001  (not installed: its rows say so)
            for r in rows:
                if r.backend == 'openvino':
                    r.status = f'not measured: {e}'
    bf16 = any(r.precision == 'bf16' and r.status == 'ok' for r in rows)
    if bf16 and not bf16_supported():
        for r in rows:
            if r.precision == 'bf16':
                r.status = 'not measured: this CPU has no bf16 (OpenVINO lists no BF16 capability)'
        notes.append(bf16_unsupported().replace(', nothing written', ''))
    live = [r for r in rows if r.status == 'ok']
    with tempfile.TemporaryDirectory(prefix='hrvision-bench-deploy-') as work:
        cfg = prepare_config(args.config, work_dir=work, cfg_options=args.cfg_options, data_root=args.data_root,
                             checkpoint=args.checkpoint)   # a zoo alias: its config and training settings
        args.checkpoint = resolve_checkpoint(args.checkpoint)   # a zoo alias: its verified, converted file
        eval_config(cfg, args.eval_split, work)   # a missing split is said before any work
        need = {r.precision for r in live if r.backend != 'torch'}
        if 'int8' in need:
            check_calib_source(cfg, args.calib_split)
        files: dict = {}
        if need:
            model = init_model(cfg, args.checkpoint, 'cpu', allow_partial=args.allow_partial)
            files['fp32'] = os.path.join(work, 'fp32.onnx')
            export_model(model, files['fp32'], tuple(args.shape), 'onnx')
            del model
        if 'int8' in need:
            files['int8'] = os.path.join(work, 'int8.onnx')
            cal = calibrate(cfg, args.checkpoint, files['fp32'], args.calib, args.calib_split, args.allow_partial)
            quantize_int8(files['fp32'], files['int8'], cal, int8)
            notes.append(f'int8: onnxruntime static quantization (QDQ, per-channel int8 weights, uint8 activations, '
                         f'{int8.describe()}) calibrated on {len(cal.inputs)} network input(s) from {cal.source}'
                         + (f', {len(cal.skipped)} unreadable image(s) skipped' if cal.skipped else ''))
        if 'bf16' in need:
            files['bf16'] = os.path.join(work, 'bf16.onnx')
            mark_bf16(files['fp32'], files['bf16'])
        for r in live:
            r.file_bytes = os.path.getsize(args.checkpoint if r.backend == 'torch' else files[r.precision])

        ev = Evaluator(cfg, args.checkpoint, args.eval_split, args.allow_partial)
        try:
            ref = ev.metrics(None)
            names = compared(ref, f'--eval-split {args.eval_split}')
            for r in live:
                got = ref if r.backend == 'torch' else ev.metrics(files[r.precision], r.backend)
                r.metrics = {n: got[n] for n in names}
                r.diff = {n: got[n] - ref[n] for n in names}
        finally:
            ev.close()

        images = _timed_images(cfg, args.eval_split, args.images)
        infs = {id(r): Inferencer(cfg, args.checkpoint, device='cpu', backend=r.backend,
                                  onnx=None if r.backend == 'torch' else files[r.precision],
                                  allow_partial=args.allow_partial) for r in live}
        with torch.inference_mode():
            for r in live:   # warm-up (OpenVINO compiles per input size)
                infs[id(r)](images)
            for _ in range(args.rounds):
                for r in live:
                    t = time.perf_counter()
                    infs[id(r)](images)
                    r.rounds_ms.append(1000 * (time.perf_counter() - t) / len(images))
        for r in live:
            r.latency_ms = statistics.median(r.rounds_ms)
            r.images_per_s = 1000 / r.latency_ms
    result = dict(config=args.config, checkpoint=args.checkpoint, eval_split=args.eval_split, threads=args.threads,
                  calib_method=int8.calibration(), keep_fp32=int8.keep_fp32,
                  rounds=args.rounds, images=len(images), image_files=images, shape=list(args.shape),
                  torch=torch.__version__, load_average=[round(x, 2) for x in os.getloadavg()], notes=notes,
                  rows=[asdict(r) for r in rows])
    text = table(result)
    print(text)
    if args.out:
        _write(args.out, result, text)
    return result


def _fmt_metric(v) -> str:
    return 'nan' if v is None or (isinstance(v, float) and math.isnan(v)) else f'{v:.4f}'


def table(result: dict) -> str:
    """The markdown table (and its header lines) of a ``run`` result."""
    names = list(next((r['metrics'] for r in result['rows'] if r['metrics']), {}))
    head = ['backend', 'precision', 'latency ms (median)', 'images/s'] + \
        [f'{n}' for n in names] + [f'{n} vs torch fp32' for n in names] + ['file MB']
    lines = [f'# bench deploy: {result["config"]} | batch 1, end to end, {result["threads"]} thread(s), median of '
             f'{result["rounds"]} interleaved rounds of {result["images"]} image(s) | metric on the '
             f'{result["eval_split"]} split',
             '', '| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for r in result['rows']:
        if r['status'] != 'ok':
            cells = [r['backend'], r['precision'], r['status']] + [''] * (len(head) - 3)
        else:
            cells = [r['backend'], r['precision'], f'{r["latency_ms"]:.1f}', f'{r["images_per_s"]:.2f}'] + \
                [_fmt_metric(r['metrics'][n]) for n in names] + [f'{r["diff"][n]:+.4f}' for n in names] + \
                [f'{r["file_bytes"] / 1e6:.2f}']
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines += [''] + [f'- {n}' for n in result['notes']] + \
        [f'- torch {result["torch"]}; load average at the end {result["load_average"]}; torch fp32 file size = the '
         'checkpoint']
    return '\n'.join(lines)


def _check_out(out: str) -> None:
    from .errors import InputError
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f'--out {out}: exists and is not a folder')


def chart(result: dict, path: str) -> None:
    """Bars of images/s per measured row, the metric difference from torch fp32 written on each."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = [r for r in result['rows'] if r['status'] == 'ok']
    colours = {'fp32': '#4c72b0', 'bf16': '#dd8452', 'int8': '#55a868'}
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(rows) + 1.4))
    labels = [f'{r["backend"]} {r["precision"]}' for r in rows]
    vals = [r['images_per_s'] for r in rows]
    ax.barh(labels, vals, color=[colours[r['precision']] for r in rows])
    for k, r in enumerate(rows):
        diff = ', '.join(f'{n.rsplit("/", 1)[-1]} {d:+.4f}' for n, d in r['diff'].items())
        ax.text(vals[k], k, f' {vals[k]:.2f}/s  {diff}', va='center', fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(vals) * 1.6)
    ax.set_xlabel(f'images/s, batch 1, end to end, {result["threads"]} thread(s)')
    ax.set_title(os.path.basename(result['config']), fontsize=9)
    fig.tight_layout()
    from .atomic import atomic_path
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png', dpi=110)
    plt.close(fig)


def _write(out: str, result: dict, text: str) -> None:
    from .atomic import atomic_write_text
    os.makedirs(out, exist_ok=True)
    atomic_write_text(os.path.join(out, 'deploy_bench.json'), json.dumps(result, indent=1), 'bench deploy result')
    atomic_write_text(os.path.join(out, 'deploy_bench.md'), text + '\n', 'bench deploy table')
    if any(r['status'] == 'ok' for r in result['rows']):
        chart(result, os.path.join(out, 'deploy_bench.png'))
    print(f'wrote {os.path.join(out, "deploy_bench.md")}, deploy_bench.json, deploy_bench.png', file=sys.stderr)


def main(argv=None) -> int:
    """``python benchmarks/deploy_ladder.py`` and scripts: the same arguments as ``hrvision bench deploy``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(p)
    run(p.parse_args(argv))
    return 0


def _register() -> None:
    from .cli_args import bench_command
    bench_command('deploy', 'the deployment ladder of a trained model: backend x precision (fp32, bf16, int8) -> '
                  'latency, images/s, metric vs torch fp32, file size; PNG chart', add_arguments, run)


_register()

__all__ = ['LADDER', 'Row', 'add_arguments', 'run', 'table', 'chart', 'main']
