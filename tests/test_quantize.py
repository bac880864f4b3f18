"""INT8 / BF16 export (``hrvision export --format onnx --quantize int8 | --precision bf16``, hrvision/quantize.py):
the fp32 and int8 metrics it prints equal what ``hrvision test`` gives (torch, and ``--backend onnxruntime --onnx``
on the written file) for seg, pose, face and the multi-task network; the int8 file runs in ``hrvision infer`` on
onnxruntime and OpenVINO; a drop above ``--max-drop`` is refused (exit 2, nothing written); bad calibration
input (unreadable image counted and skipped, no image: one line); bf16 where the CPU lacks it: one line.

Tiny HRNets (widths 4-32) with random weights on the tasks' synthetic data (``write_synthetic``)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from hrvision.registry import MODELS
from tests.test_infer import ROOT, _data, _overrides

pytest.importorskip('onnxruntime')
pytest.importorskip('onnx')

ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
SHAPES = {'seg': (64, 96), 'pose': (96, 72), 'face': (96, 96), 'multitask': (64, 64)}
LINE = re.compile(r'^(\S+) on (\w+): fp32 \(torch\) (\S+), (int8|bf16) \((\w+)\) (\S+), drop (\S+) \(max (\S+)\)$')


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """Per task: (config path, checkpoint path, data root): random weights (seed 0)."""
    init_default_scope('hrvision')
    out = {}
    for task in SHAPES:
        root = tmp_path_factory.mktemp(f'q_{task}')
        _data(task, root / 'data')
        base, opts = _overrides(task, root / 'data')
        cfg = Config.fromfile(str(ROOT / base))
        cfg.merge_from_dict(opts)
        cfg.dump(str(root / 'cfg.py'))
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        torch.save({'state_dict': model.state_dict()}, root / 'w.pth')
        out[task] = (str(root / 'cfg.py'), str(root / 'w.pth'), root / 'data')
    return out


def cli(*args, timeout=600):
    return subprocess.run([sys.executable, '-m', 'hrvision', *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=timeout, cwd=str(ROOT))


def printed(stdout: str) -> dict:
    """metric name -> (fp32, narrow, drop, max) from the export's lines."""
    out = {}
    for ln in stdout.splitlines():
        m = LINE.match(ln.strip())
        if m:
            out[m.group(1)] = tuple(float(m.group(k)) for k in (3, 6, 7, 8))
    return out


def test_json(stdout: str) -> dict:
    """The metrics JSON ``hrvision test`` prints last."""
    return json.loads(stdout[stdout.rindex('\n{') + 1:])


test_json.__test__ = False   # a helper, not a test


def _export_and_check(task, cfg, ckpt, data, tmp_path, method=None, keep=None):
    """The export (``--calib-method`` / ``--keep-fp32`` when given, else the defaults): its printed figures equal
    hrvision test's, its summary and metadata name the calibration, the file runs in hrvision infer."""
    out = tmp_path / f'{task}_int8.onnx'
    flags = (['--calib-method', method] if method else []) + (['--keep-fp32', keep] if keep else [])
    r = cli('export', cfg, ckpt, '--format', 'onnx', '--shape', *SHAPES[task], '--out', out, '--quantize', 'int8',
            '--calib', 4, '--eval-split', 'test', '--max-drop', 1, *flags)
    assert r.returncode == 0, r.stderr[-3000:]
    from hrvision.quantize import DEFAULT_CALIB_METHOD, DEFAULT_KEEP_FP32, Int8Settings
    said = Int8Settings(method or DEFAULT_CALIB_METHOD, keep or DEFAULT_KEEP_FP32)
    assert f'int8: {said.describe()} (' in r.stdout and f'; {said.describe()})' in r.stdout, r.stdout
    got = printed(r.stdout)
    assert got, r.stdout
    assert out.is_file()
    ref = test_json(cli('test', cfg, ckpt, '--work-dir', tmp_path / 'wd').stdout)
    q = cli('test', cfg, ckpt, '--work-dir', tmp_path / 'wd', '--backend', 'onnxruntime', '--onnx', out)
    assert q.returncode == 0, q.stderr[-3000:]
    quant = test_json(q.stdout)
    for name, (fp32, int8, drop, lim) in got.items():   # the printed figures are hrvision test's (5 decimals)
        assert fp32 == pytest.approx(ref[name], abs=6e-6), name
        assert int8 == pytest.approx(quant[name], abs=6e-6), name
        assert lim == 1
    import onnx
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta['hrvision.precision'] == 'int8'
    assert meta['hrvision.int8.calibration'] == said.calibration() and meta['hrvision.int8.keep_fp32'] == said.keep_fp32
    nodes = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert {'QuantizeLinear', 'DequantizeLinear'} <= nodes
    # the int8 file in hrvision infer, on both runtimes
    img = next(p for p in sorted(Path(data).rglob('*')) if p.suffix in ('.png', '.jpg')
               and 'train' not in str(p.relative_to(data)) and 'gtFine' not in str(p))   # an evaluation image
    for backend in ('onnxruntime', 'openvino'):
        if backend == 'openvino':
            pytest.importorskip('openvino')
        r = cli('infer', cfg, img, '--out', tmp_path / f'inf_{backend}', '--backend', backend, '--onnx', out)
        assert r.returncode == 0, r.stderr[-3000:]
        assert any((tmp_path / f'inf_{backend}').iterdir())
    return got


@pytest.mark.slow
def test_int8_seg_printed_metrics_equal_hrvision_test(tiny, tmp_path):
    got = _export_and_check('seg', *tiny['seg'], tmp_path)
    assert set(got) == {'seg/mIoU'}
    assert got['seg/mIoU'][0] > 0   # not a vacuous 0 == 0


@pytest.mark.slow
@pytest.mark.parametrize('task', ['pose', 'face', 'multitask'])
def test_int8_other_tasks_printed_metrics_equal_hrvision_test(tiny, tmp_path, task):
    flags = {'face': ('percentile', 'last'), 'pose': ('minmax', 'none')}.get(task, (None, None))
    got = _export_and_check(task, *tiny[task], tmp_path, *flags)
    want = {'pose': {'coco/AP'}, 'face': {'face/NME'}, 'multitask': {'seg/mIoU', 'pose/AP', 'det/AP'}}[task]
    assert set(got) == want
    if task == 'face':
        assert got['face/NME'][0] > 0


def test_refused_when_the_drop_exceeds_max_drop(tiny, tmp_path):
    """These random face weights lose ~0.03 NME at int8 (calibrated on the one training image): above the default
    0.0005 -> exit 2, one line, nothing written (no file, no temp file, no folder content)."""
    cfg, ckpt, _ = tiny['face']
    out = tmp_path / 'o' / 'face_int8.onnx'
    r = cli('export', cfg, ckpt, '--format', 'onnx', '--shape', 96, 96, '--out', out, '--quantize', 'int8',
            '--calib', 4)
    got = printed(r.stdout)['face/NME']
    assert got[2] > got[3] == 0.0005, got   # drop above the stated default
    assert r.returncode == 2, r.stderr[-2000:]
    err = r.stderr.strip().splitlines()
    assert err[-1].startswith('hrvision: error: export refused, nothing written to') and 'face/NME' in err[-1]
    assert f'by {got[2]:.5f}' in err[-1] and 'more than --max-drop 0.0005' in err[-1]
    assert 'Traceback' not in r.stderr
    assert not out.exists() and not (out.parent.exists() and any(out.parent.iterdir()))


def test_refusal_rule_in_process(tiny, tmp_path, monkeypatch, capsys):
    """The rule on exact figures: a drop equal to --max-drop is written, one above it refused (exit 2, one line,
    nothing written), whichever metric (multi-task: any head) drops; higher-is-better and lower-is-better."""
    import shutil

    import hrvision.export
    from hrvision import quantize
    from hrvision.cli import main
    cfg, ckpt, _ = tiny['seg']
    figures = {}
    fp32 = str(tmp_path / 'fp32.onnx')   # exported once; the export inside is a copy of it
    from hrvision.apis import init_model
    hrvision.export.export_model(init_model(cfg, ckpt, 'cpu'), fp32, SHAPES['seg'], 'onnx')
    monkeypatch.setattr(hrvision.export, 'export_model', lambda model, path, *a, **k: shutil.copyfile(fp32, path))

    class Figures:   # the evaluation's figures, given
        def __init__(self, *a, **k):
            pass

        def metrics(self, path=None, backend='onnxruntime'):
            return dict(figures['ref' if path is None else 'got'])

        def close(self):
            pass
    monkeypatch.setattr(quantize, 'Evaluator', Figures)
    rng = np.random.default_rng(0)
    monkeypatch.setattr(quantize, 'calibrate', lambda *a, **k: quantize.Calibration(
        [rng.standard_normal((1, 3, 64, 96)).astype(np.float32)]))
    out = tmp_path / 'x.onnx'
    args = ['export', cfg, ckpt, '--format', 'onnx', '--shape', '64', '96', '--out', str(out), '--quantize', 'int8',
            '--calib', '1']
    for ref, got, extra, ok in (({'seg/mIoU': 0.5}, {'seg/mIoU': 0.49}, ['--max-drop', '0.01'], True),
                                ({'seg/mIoU': 0.5}, {'seg/mIoU': 0.489}, ['--max-drop', '0.01'], False),
                                ({'seg/mIoU': 0.5}, {'seg/mIoU': 0.494}, [], False),   # default 0.005
                                ({'a/NME': 0.05, 'seg/mIoU': 0.5}, {'a/NME': 0.051, 'seg/mIoU': 0.6}, [], False),
                                ({'seg/mIoU': 0.5}, {'seg/mIoU': float('nan')}, ['--max-drop', '1'], False)):
        figures.update(ref=ref, got=got)
        capsys.readouterr()
        assert main(args + extra) == (0 if ok else 2), (ref, got, extra)
        captured = capsys.readouterr()
        assert out.exists() == ok, (ref, got)
        if not ok:
            err = captured.err.strip().splitlines()
            assert len(err) == 1 and 'export refused, nothing written' in err[0], err
        out.unlink(missing_ok=True)


def test_bad_calibration_input(tiny, tmp_path, capsys):
    cfg, ckpt, data = tiny['seg']
    folder = tmp_path / 'cal'
    folder.mkdir()
    for k, p in enumerate(sorted(Path(data).rglob('*_leftImg8bit.png'))[:2]):
        (folder / f'{k}.png').write_bytes(p.read_bytes())
    (folder / 'broken.png').write_bytes(b'not an image')
    out = tmp_path / 'seg_int8.onnx'
    args = ('export', cfg, ckpt, '--format', 'onnx', '--shape', 64, 96, '--out', out, '--quantize', 'int8',
            '--calib', 8, '--max-drop', 1, '--calib-split')
    r = cli(*args, folder)
    assert r.returncode == 0, r.stderr[-2000:]
    assert '1 unreadable image(s) skipped' in r.stderr and 'broken.png' in r.stderr
    assert '2 network input(s), fewer than --calib 8' in r.stderr
    assert out.is_file()
    empty = tmp_path / 'empty'
    empty.mkdir()
    bad = tmp_path / 'bad'
    bad.mkdir()
    (bad / 'a.jpg').write_bytes(b'\xff\xd8 truncated')
    from hrvision.cli import main   # the one-line refusals, in process (the CLI's own error printing)
    for source, says in ((empty, 'folder holds no images'), (bad, 'no calibration image could be read'),
                         ('nosuchsplit', 'expected train, val, test or a folder of images')):
        out2 = tmp_path / 'never.onnx'
        capsys.readouterr()
        assert main(['export', cfg, ckpt, '--format', 'onnx', '--shape', '64', '96', '--out', str(out2),
                     '--quantize', 'int8', '--calib', '2', '--calib-split', str(source)]) == 2, source
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith('hrvision: error:') and says in err[0], err
        assert not out2.exists()
    # a split whose image cannot be read: counted and skipped; here it was the only one -> one line, exit 2
    import shutil
    copy = tmp_path / 'data_copy'
    shutil.copytree(data, copy)
    next(copy.rglob('leftImg8bit/train/*/*.png')).write_bytes(b'junk')
    capsys.readouterr()
    assert main(['export', cfg, ckpt, '--format', 'onnx', '--shape', '64', '96', '--out', str(out2), '--quantize',
                 'int8', '--calib', '2', '--data-root', str(copy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'no calibration image could be read (1 skipped; first: ' in err[0], err
    assert str(copy) in err[0] and not out2.exists()


def test_bf16(tiny, tmp_path):
    """Where OpenVINO has no bf16 on this CPU: one line, exit 2, nothing written; where it has: the file is
    evaluated, written, marked bf16 and compiled with the bf16 hint."""
    pytest.importorskip('openvino')
    from hrvision.quantize import bf16_supported, cpu_bf16_flags
    cfg, ckpt, _ = tiny['face']
    out = tmp_path / 'face_bf16.onnx'
    r = cli('export', cfg, ckpt, '--format', 'onnx', '--shape', 96, 96, '--out', out, '--precision', 'bf16',
            '--max-drop', 1)
    if not bf16_supported():
        err = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(err) == 1, r.stderr[-2000:]
        assert 'no bf16 support' in err[0] and 'nothing written' in err[0]
        assert ('no avx512_bf16' in err[0]) == (not cpu_bf16_flags())
        assert not out.exists()
        return
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'face/NME' in printed(r.stdout)
    from hrvision.inference.openvino import OpenVinoModule
    net = OpenVinoModule(str(out))
    assert 'bf16' in str(net.compiled.get_property('INFERENCE_PRECISION_HINT'))


def test_usage_refusals(tiny, tmp_path, capsys):
    cfg, ckpt, _ = tiny['seg']
    out = tmp_path / 'x.onnx'
    from hrvision.cli import main
    for extra, says in ((['--format', 'pt2', '--quantize', 'int8'], 'need --format onnx'),
                        (['--format', 'onnx', '--quantize', 'int8', '--precision', 'bf16'], 'disagree'),
                        (['--format', 'onnx', '--cfg-options', 'a=1'], 'go with --quantize int8'),
                        (['--format', 'onnx', '--quantize', 'int8', '--eval-split', 'train', '--cfg-options',
                          'train_dataloader=None'], 'train_dataloader'),
                        (['--format', 'onnx', '--quantize', 'int8', '--max-drop', '-1'], '--max-drop'),
                        (['--format', 'onnx', '--calib-method', 'entropy'],
                         '--calib-method: only with --quantize int8'),
                        (['--format', 'onnx', '--precision', 'bf16', '--keep-fp32', 'last'],
                         '--keep-fp32: only with --quantize int8, not --precision bf16')):
        capsys.readouterr()
        assert main(['export', cfg, ckpt, '--shape', '64', '96', '--out', str(out), *extra]) == 2, extra
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], (extra, err)
        assert not out.exists()
    for flag, bad in (('--calib-method', 'kl'), ('--keep-fp32', 'middle')):   # argparse: one line, exit 2
        capsys.readouterr()
        with pytest.raises(SystemExit) as e:
            main(['export', cfg, ckpt, '--shape', '64', '96', '--out', str(out), '--format', 'onnx', '--quantize',
                  'int8', flag, bad])
        err = capsys.readouterr().err.strip().splitlines()
        assert e.value.code == 2 and len(err) == 1 and f"argument {flag}: invalid choice: '{bad}'" in err[0], err
        assert not out.exists()
    assert main(['test', cfg, ckpt, '--backend', 'onnxruntime']) == 2   # needs --onnx
    assert main(['test', cfg, ckpt, '--onnx', ckpt]) == 2               # --onnx without a file backend


def test_deploy_check_rules():
    from hrvision.quantize import DEPLOY_METRICS, DeployCheck, DeployMetric, compared, register_deploy_metric
    from hrvision.registry import load_tasks
    load_tasks()
    assert {'mIoU', 'AP', 'NME'} <= set(DEPLOY_METRICS)
    nme = DEPLOY_METRICS['NME']
    assert not nme.higher_better and nme.drop(0.05, 0.06) == pytest.approx(0.01)
    ap = DeployMetric('AP', True, 0.005)
    check = DeployCheck('int8', 'onnxruntime', 'val', {'coco/AP': 0.7, 'x/AP': 0.7},
                        {'coco/AP': 0.695, 'x/AP': float('nan')}, {'coco/AP': (ap, 0.005), 'x/AP': (ap, 0.005)})
    assert [r[0] for r in check.failed()] == ['x/AP']   # 0.005 is allowed; NaN never
    with pytest.raises(KeyError, match='registered twice'):
        register_deploy_metric('AP', higher_better=False, max_drop=0.005)
    assert set(compared({'seg/mIoU': 0.5, 'pose/AP': 0.1, 'pose/AR': 0.2, 'seg/IoU.road': 0.1}, 'x')) == \
        {'seg/mIoU', 'pose/AP'}
    from hrvision.errors import ConfigError
    with pytest.raises(ConfigError, match='none of them is a metric the deployment check compares'):
        compared({'foo/bar': 1.0}, 'x')
    assert np.isfinite(ap.max_drop)
    from hrvision.errors import InputError
    from hrvision.quantize import max_drops
    mixed = {'seg/mIoU': 0.8, 'mpii/Mean': 90.0}   # a multi-task model: a 0-1 metric beside a percent one
    assert {n: d for n, (_, d) in max_drops(mixed, 'x', None).items()} == {'seg/mIoU': 0.005, 'mpii/Mean': 0.5}
    with pytest.raises(InputError, match=r'--max-drop 0.5: the compared metrics are on different scales'):
        max_drops(mixed, 'x', 0.5)
    assert max_drops({'seg/mIoU': 0.8, 'coco/AP': 0.7}, 'x', 0.01)['coco/AP'][1] == 0.01   # one scale: one limit


def test_int8_file_keeps_the_dataset_meta(tiny, tmp_path):
    """The quantized file carries the fp32 export's metadata (the checkpoint's dataset_meta, which infer reads
    from the file) plus its precision; calibration inputs feed the quantizer (a QDQ graph comes out)."""
    import onnx

    from hrvision.apis import init_model
    from hrvision.export import ONNX_DATASET_META, export_model
    from hrvision.quantize import Calibration, quantize_int8
    cfg, ckpt, _ = tiny['seg']
    model = init_model(cfg, ckpt, 'cpu')
    model.dataset_meta = dict(classes=['a', 'b'], palette=[[0, 0, 0], [1, 1, 1]])
    export_model(model, str(tmp_path / 'fp32.onnx'), SHAPES['seg'], 'onnx')
    rng = np.random.default_rng(0)
    cal = Calibration([rng.standard_normal((1, 3, 64, 96)).astype(np.float32) for _ in range(2)])
    quantize_int8(str(tmp_path / 'fp32.onnx'), str(tmp_path / 'int8.onnx'), cal)
    m = onnx.load(str(tmp_path / 'int8.onnx'))
    meta = {p.key: p.value for p in m.metadata_props}
    assert json.loads(meta[ONNX_DATASET_META])['classes'] == ['a', 'b'] and meta['hrvision.precision'] == 'int8'
    assert {'QuantizeLinear', 'DequantizeLinear'} <= {n.op_type for n in m.graph.node}


def test_bf16_marker_and_hint(tiny, tmp_path, monkeypatch, capsys):
    """The bf16 export path on any CPU (bf16 support faked, metrics faked): the written file is the fp32 network
    marked bf16; OpenVINO compiles a marked file with the bf16 hint where the CPU has bf16, else at f32 with one
    line; an unmarked (fp32 or int8) file always at f32."""
    ov = pytest.importorskip('openvino')
    from hrvision import quantize
    from hrvision.cli import main
    from hrvision.inference import openvino as ovb
    cfg, ckpt, _ = tiny['seg']
    monkeypatch.setattr(quantize, 'bf16_supported', lambda: True)
    monkeypatch.setattr(quantize, 'Evaluator', type('Given', (), {   # the evaluation's figures, given
        '__init__': lambda self, *a, **k: None, 'close': lambda self: None,
        'metrics': lambda self, path=None, backend='onnxruntime': {'seg/mIoU': 0.5}}))
    out = tmp_path / 'bf16.onnx'
    assert main(['export', cfg, ckpt, '--format', 'onnx', '--shape', '64', '96', '--out', str(out),
                 '--precision', 'bf16']) == 0
    assert 'int8' not in capsys.readouterr().out
    import onnx
    m = onnx.load(str(out))
    assert {p.key: p.value for p in m.metadata_props}['hrvision.precision'] == 'bf16'
    assert 'QuantizeLinear' not in {n.op_type for n in m.graph.node}
    model = ov.Core().read_model(str(out))
    assert ovb._precision_hint(model, str(out)) == 'bf16'
    monkeypatch.setattr(quantize, 'bf16_supported', lambda: False)
    ovb._SAID.clear()
    capsys.readouterr()
    assert ovb._precision_hint(model, str(out)) == 'f32'
    assert ovb._precision_hint(model, str(out)) == 'f32'
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'is marked bf16' in err[0] and 'runs at f32' in err[0]
    monkeypatch.setattr(quantize, 'bf16_supported', lambda: True)
    from hrvision.export import export_model
    from hrvision.apis import init_model
    export_model(init_model(cfg, ckpt, 'cpu'), str(tmp_path / 'fp32.onnx'), SHAPES['seg'], 'onnx')
    assert ovb._precision_hint(ov.Core().read_model(str(tmp_path / 'fp32.onnx')), 'x') == 'f32'


def _weight_sources(m) -> dict:
    """Conv node name -> 'fp32' when its weight is a plain initializer, 'int8' when it comes out of a
    DequantizeLinear of an int8 initializer (the QDQ form of a quantized weight)."""
    import onnx
    init = {i.name: i for i in m.graph.initializer}
    producer = {o: n for n in m.graph.node for o in n.output}
    out = {}
    for n in m.graph.node:
        if n.op_type != 'Conv':
            continue
        w = n.input[1]
        if w in init and init[w].data_type == onnx.TensorProto.FLOAT:
            out[n.name] = 'fp32'
        elif w in producer and producer[w].op_type == 'DequantizeLinear' and \
                init[producer[w].input[0]].data_type == onnx.TensorProto.INT8:
            out[n.name] = 'int8'
        else:
            out[n.name] = 'other'
    return out


def _scales(m) -> dict:
    """Activation tensor -> the scale of its QuantizeLinear (the calibrated range / 255)."""
    import onnx
    init = {i.name: i for i in m.graph.initializer}
    return {n.input[0]: float(onnx.numpy_helper.to_array(init[n.input[1]]))
            for n in m.graph.node if n.op_type == 'QuantizeLinear' and n.input[1] in init}


def test_calibration_methods_and_fp32_end_layers(tiny, tmp_path):
    """Each --calib-method writes a QDQ file onnxruntime runs (outputs close to fp32's), with ranges of its own (a
    method that silently fell back to min/max would give the same scales), and records the method and the fp32
    layers in the metadata; --keep-fp32 leaves exactly the named end layers with fp32 weights and no QuantizeLinear
    on their output, every other Conv with int8 weights."""
    import onnx
    import onnxruntime as ort

    from hrvision.apis import init_model
    from hrvision.export import export_model
    from hrvision.quantize import (CALIB_METHODS, ONNX_CALIB, ONNX_FP32_NODES, ONNX_KEEP_FP32, Calibration,
                                   Int8Settings, end_layers, quantize_int8)
    cfg, ckpt, _ = tiny['face']
    fp32 = str(tmp_path / 'fp32.onnx')
    export_model(init_model(cfg, ckpt, 'cpu'), fp32, SHAPES['face'], 'onnx')
    first, last = end_layers(onnx.load(fp32))
    assert first == ['/model/backbone/conv1/Conv'] and len(last) == 1 and '/head/' in last[0], (first, last)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((1, 3, 96, 96)).astype(np.float32) * (1 + k) for k in range(3)]
    ref = ort.InferenceSession(fp32, providers=['CPUExecutionProvider']).run(None, {'input': xs[0]})[0]
    fast = (('CalibNumBins', 256),)   # entropy's KL search over 2048 bins takes a minute on this CPU

    def check(method, keep, fp32_layers):
        out = str(tmp_path / f'{method}_{keep}.onnx')
        quantize_int8(fp32, out, Calibration(xs), Int8Settings(method, keep, extra=fast if method == 'entropy'
                                                                else ()))
        m = onnx.load(out)
        onnx.checker.check_model(m)
        meta = {p.key: p.value for p in m.metadata_props}
        assert meta[ONNX_CALIB] == ('percentile 99.999' if method == 'percentile' else method)
        assert meta[ONNX_KEEP_FP32] == keep and meta[ONNX_FP32_NODES] == ','.join(fp32_layers)
        assert meta['hrvision.precision'] == 'int8'
        src = _weight_sources(m)
        assert {n for n, s in src.items() if s == 'fp32'} == set(fp32_layers), (keep, src)
        assert all(s == 'int8' for n, s in src.items() if n not in fp32_layers), src
        quantized = {n.input[0] for n in m.graph.node if n.op_type == 'QuantizeLinear'}
        for n in m.graph.node:   # a kept layer's output is not quantized; a quantized head's is
            if n.name in last:
                assert (n.output[0] in quantized) == (n.name not in fp32_layers), (keep, n.name)
        got = ort.InferenceSession(out, providers=['CPUExecutionProvider']).run(None, {'input': xs[0]})[0]
        assert got.shape == ref.shape and np.isfinite(got).all()
        assert np.corrcoef(got.ravel(), ref.ravel())[0, 1] > 0.9, (method, keep)
        return _scales(m)

    scales = {method: check(method, 'none', []) for method in CALIB_METHODS}
    for method in CALIB_METHODS[1:]:
        assert scales[method] != scales[CALIB_METHODS[0]], method
    assert scales['minmax'] != scales['entropy'] and scales['minmax'] != scales['percentile']
    t = next(iter(scales['minmax']))   # min/max over all inputs: the widest range of all
    assert scales['minmax'][t] >= max(scales[m][t] for m in ('mean-minmax', 'percentile')) - 1e-12
    for keep, fp32_layers in (('first', first), ('last', last), ('first+last', first + last)):
        check('mean-minmax', keep, fp32_layers)


def test_end_layers_one_per_head(tiny, tmp_path):
    """The multi-task network: one last layer per head (seg logits, pose heatmaps, detection outputs), one first."""
    import onnx

    from hrvision.apis import init_model
    from hrvision.export import export_model
    from hrvision.quantize import end_layers
    cfg, ckpt, _ = tiny['multitask']
    path = str(tmp_path / 'mt.onnx')
    export_model(init_model(cfg, ckpt, 'cpu'), path, SHAPES['multitask'], 'onnx')
    m = onnx.load(path)
    first, last = end_layers(m)
    assert len(first) == 1 and len(last) >= 3, (first, last)   # a conv per head at least
    assert not set(first) & set(last)
