"""Single-process CUDA paths, checked without a GPU (issue 26): resume onto a device whose tensors refuse numpy,
the inference backends' device choice, export inputs on the model's device, onnxruntime's provider line,
sync-free OHEM, fp16 segmentation probabilities, batched host copies, cuDNN autotuning and pinned memory in the
configs, benchmark synchronisation of the timed device, and ``benchmarks/gpu_check.sh`` refusing without CUDA.

The stand-ins: ``_OnDevice``, a CPU tensor that behaves as one loaded with ``map_location='cuda:0'`` (``.numpy()``
raises the CUDA error; ``.cpu()`` / ``.to('cpu')`` give a host tensor; every other op keeps it "on the device");
the ``meta`` device for models (no data); ``torch.cuda.is_available`` patched to True in-process.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hrvision.engine.runner import build_runner, prepare_config
from hrvision.tasks.segmentation import synth as seg_synth

REPO = Path(__file__).resolve().parents[1]
CFG = str(REPO / 'tests' / 'configs' / 'seg_tiny.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1')


# ---- the stand-in for tensors loaded onto a GPU ---------------------------------------------------------------
_CPU, _TO = torch.Tensor.cpu, torch.Tensor.to


class _OnDevice(torch.Tensor):
    """A tensor "on cuda:0": numpy refuses it as torch refuses a CUDA tensor; a copy to the CPU is a plain tensor."""

    host_copies = 0   # copies to the CPU made so far

    def numpy(self, *args, **kwargs):
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to "
                        'host memory first.')

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        with torch._C.DisableTorchFunctionSubclass():
            out = func(*args, **kwargs)
            if func is _CPU or (func is _TO and _to_host(args[1:], kwargs)):
                cls.host_copies += 1
                return out.as_subclass(torch.Tensor) if isinstance(out, torch.Tensor) else out
        return torch._tensor._convert(out, cls)


def _to_host(args, kwargs) -> bool:
    target = kwargs.get('device')
    for a in args:
        if isinstance(a, (str, torch.device)):
            target = a
        elif isinstance(a, torch.Tensor):
            return not isinstance(a, _OnDevice)
    return target is not None and torch.device(target).type == 'cpu'


def _on_device(obj):
    if isinstance(obj, torch.Tensor):
        return obj.as_subclass(_OnDevice)
    if isinstance(obj, dict):
        return type(obj)((k, _on_device(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_on_device(v) for v in obj)
    return obj


def test_stand_in_behaves_like_a_cuda_tensor():
    t = _on_device(torch.arange(3.0))
    with pytest.raises(TypeError, match="can't convert cuda:0"):
        t.numpy()
    with pytest.raises(TypeError, match="can't convert cuda:0"):
        np.asarray(t * 2)   # ops stay "on the device"
    assert type(t.cpu()) is torch.Tensor and t.cpu().numpy().tolist() == [0.0, 1.0, 2.0]
    assert type(t.to('cpu')) is torch.Tensor and type(t.to(torch.float64)) is _OnDevice
    assert t.tolist() == [0.0, 1.0, 2.0]   # as on CUDA: tolist copies to the host


# ---- 1. --resume onto the training device ---------------------------------------------------------------------
@pytest.fixture(scope='module')
def seg_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('seg')
    seg_synth.write_synthetic(str(root), n_train=4, n_val=2, size=(64, 128), seed=3)
    return str(root)


def _cfg(root, work_dir, name, **kw):
    opts = {f'{k}.dataset.data_root': root for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    opts.update({'train_cfg.max_iters': 2, 'train_cfg.val_interval': 100, 'default_hooks.checkpoint.interval': 2,
                 'default_hooks.logger.interval': 1, 'param_scheduler.0.end': 2})
    cfg = prepare_config(CFG, work_dir=str(work_dir), cfg_options=opts, **kw)
    cfg.experiment_name = name   # two runners built within a second would share one message hub
    return cfg


def _logs(hub) -> dict:
    return {k: (np.asarray(v.data[0]).tolist(), np.asarray(v.data[1]).tolist()) for k, v in hub.log_scalars.items()}


def test_resume_onto_a_device_loads_the_saved_logs_and_weights(seg_root, tmp_path, monkeypatch):
    """mmengine loads a ``--resume`` checkpoint onto the current device; the hook that rebuilds the logs called
    ``.numpy()`` on those tensors: TypeError on every CUDA resume."""
    build_runner(_cfg(seg_root, tmp_path, 'train')).train()
    ckpt = tmp_path / 'iter_2.pth'
    saved = torch.load(ckpt, map_location='cpu', weights_only=True)
    want = {k: (v['log'].tolist(), v['count'].tolist()) for k, v in saved['message_hub']['log_scalars'].items()}
    assert 'train/loss' in want and len(want['train/loss'][0]) == 2

    host = build_runner(_cfg(seg_root, tmp_path, 'resume_cpu', resume=True))
    host.load_or_resume()
    assert host.iter == 2 and _logs(host.message_hub) == want

    real_load, seen = torch.load, []

    def load_onto_device(f, *args, map_location=None, **kwargs):
        seen.append(map_location)
        return _on_device(real_load(f, *args, map_location=map_location, **kwargs))

    monkeypatch.setattr(torch, 'load', load_onto_device)
    dev = build_runner(_cfg(seg_root, tmp_path, 'resume_device', resume=True))
    dev.load_or_resume()   # was: TypeError: can't convert cuda:0 device type tensor to numpy
    assert seen, 'the resume went through torch.load'
    assert dev.iter == 2
    assert _logs(dev.message_hub) == want
    for k, v in dev.model.state_dict().items():
        assert type(v) is torch.Tensor
        torch.testing.assert_close(v, saved['state_dict'][k], atol=0, rtol=0, msg=k)
    info = dev.message_hub.runtime_info
    assert all(type(v) is not _OnDevice for v in info.values())


# ---- 2. the inference backends pick their device -------------------------------------------------------------
@pytest.fixture(scope='module')
def seg_onnx(tmp_path_factory):
    import hrvision
    from hrvision.export import export_model
    path = str(tmp_path_factory.mktemp('onnx') / 'seg.onnx')
    torch.manual_seed(0)
    export_model(hrvision.init_model(CFG, None, 'cpu'), path, (64, 96), 'onnx')
    return path


def _cuda_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 1)   # mmengine's logger indexes the devices


def test_default_device_follows_the_backend(monkeypatch):
    from hrvision.inference.inferencer import default_device
    _cuda_present(monkeypatch)
    assert default_device('torch') == 'cuda'
    assert default_device('onnxruntime') == 'cpu'   # this onnxruntime has no CUDA provider
    monkeypatch.setattr('hrvision.inference.ort.cuda_provider_available', lambda: True)
    assert default_device('onnxruntime') == 'cuda'

    def no_query():
        raise AssertionError('the openvino backend queried CUDA')

    monkeypatch.setattr(torch.cuda, 'is_available', no_query)
    assert default_device('openvino') == 'cpu'


def test_openvino_inferencer_on_a_cuda_machine_stays_on_the_cpu(seg_onnx, monkeypatch):
    pytest.importorskip('openvino')
    from hrvision.inference import Inferencer
    _cuda_present(monkeypatch)
    inf = Inferencer(CFG, None, backend='openvino', onnx=seg_onnx)   # was: the model moved to cuda, then refused
    assert inf.device.type == 'cpu' and next(inf.model.parameters()).device.type == 'cpu'
    img = np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8)
    assert inf([img])[0]['sem_seg'].shape == (64, 96)
    ort = Inferencer(CFG, None, backend='onnxruntime', onnx=seg_onnx)   # CPU build: no CUDA provider
    assert ort.device.type == 'cpu'

    import hrvision.apis
    monkeypatch.setattr(hrvision.apis, 'init_model', lambda *a, **k: pytest.fail('model loaded before refusal'))
    from hrvision.errors import InputError
    with pytest.raises(InputError, match="openvino backend runs on the CPU; got device='cuda'"):
        Inferencer(CFG, None, device='cuda', backend='openvino', onnx=seg_onnx)


def test_cli_infer_openvino_on_a_cuda_machine(seg_onnx, tmp_path):
    """``hrvision infer --backend openvino`` (the README's command) where torch sees a GPU: runs on the CPU."""
    pytest.importorskip('openvino')
    img = tmp_path / 'a.png'
    from hrvision.data.io import write_image
    write_image(str(img), np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8))
    code = ('import sys, torch; torch.cuda.is_available = lambda: True; torch.cuda.device_count = lambda: 1; '
            'from hrvision.cli import main; sys.exit(main(sys.argv[1:]))')
    r = subprocess.run([sys.executable, '-c', code, 'infer', CFG, str(img), '--out', str(tmp_path / 'out'),
                        '--backend', 'openvino', '--onnx', seg_onnx], capture_output=True, text=True, env=ENV,
                       timeout=600, cwd=str(REPO))
    assert r.returncode == 0, r.stderr[-2000:]
    assert any((tmp_path / 'out').iterdir())


# ---- 3. export inputs on the model's device -------------------------------------------------------------------
def test_export_example_inputs_follow_the_model_device():
    from hrvision.export import example_inputs, export_model, model_device
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()).to('meta')
    assert model_device(net).type == 'meta'
    x = example_inputs(net, 2, 3, (8, 12))
    assert x.device.type == 'meta' and tuple(x.shape) == (2, 3, 8, 12)
    assert model_device(torch.nn.ReLU()).type == 'cpu'   # no weights: the CPU
    seen = []
    net.register_forward_pre_hook(lambda m, args: seen.append(args[0].device.type))
    with pytest.raises(Exception):   # noqa: B017  (a meta model cannot be written; the inputs are what matters)
        export_model(net, '/nonexistent-dir-hrv/x.pt', (8, 12), 'torchscript')
    assert seen and set(seen) == {'meta'}, seen   # was: CPU inputs into a model on another device


def test_cpu_export_still_checks_against_eager(tmp_path):
    from hrvision.export import export_model, load_exported
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()).eval()
    report = export_model(net, str(tmp_path / 'n.pt'), (8, 12), 'torchscript')
    assert set(report.checks) == {(8, 12), (45, 33)} and max(report.checks.values()) < 1e-5
    x = torch.randn(1, 3, 10, 10)
    torch.testing.assert_close(load_exported(str(tmp_path / 'n.pt'))(x), net(x))


# ---- 4. onnxruntime says which provider runs ------------------------------------------------------------------
def test_onnxruntime_cuda_without_provider_says_so_once(seg_onnx, monkeypatch, capsys):
    import hrvision.inference.ort as ort_mod
    monkeypatch.setattr(ort_mod, '_SAID', set())
    capsys.readouterr()
    ort_mod.OnnxRuntimeModule(seg_onnx, device='cpu')
    ort_mod.OnnxRuntimeModule(seg_onnx)
    assert capsys.readouterr().err == ''   # nothing to say when the CPU is asked for
    net = ort_mod.OnnxRuntimeModule(seg_onnx, device='cuda')
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert 'onnxruntime runs the network on CPUExecutionProvider, not on cuda' in err[0]
    assert 'onnxruntime-gpu' in err[0]
    assert net(torch.randn(1, 3, 64, 96)).shape[:2] == (1, 19)
    ort_mod.OnnxRuntimeModule(seg_onnx, device='cuda')
    assert capsys.readouterr().err == ''   # once per process


# ---- 5. CUDA speed: OHEM without host syncs, fp16 probabilities, batched copies, cuDNN, pinned memory -----------
def _ohem_reference(logits, labels, weight, thresh, min_kept, ignore_index=255):
    """The official algorithm as it was written (boolean indexing and ``.item()``)."""
    import torch.nn.functional as F
    pixel_loss = F.cross_entropy(logits, labels, weight=weight, ignore_index=ignore_index, reduction='none').flatten()
    valid = labels != ignore_index
    tgt = labels.clone()
    tgt[~valid] = 0
    p = logits.softmax(1).gather(1, tgt.unsqueeze(1)).squeeze(1)[valid]
    if p.numel() == 0:
        return logits.sum() * 0
    threshold = max(p.sort()[0][min(min_kept, p.numel() - 1)].item(), thresh)
    kept = pixel_loss[valid.flatten()][p < threshold]
    return kept.mean() if kept.numel() else logits.sum() * 0


@pytest.mark.parametrize('thresh, min_kept, ignored', [(0.7, 10, 0.2), (0.9, 100000, 0.0), (0.05, 0, 0.5),
                                                       (0.7, 10, 1.0), (1e-9, 5, 0.0)])
def test_ohem_without_host_sync_equals_the_official_loss(monkeypatch, thresh, min_kept, ignored):
    from hrvision.heads.segmentation import ohem_cross_entropy
    g = torch.Generator().manual_seed(min_kept)
    logits = torch.randn(2, 5, 12, 10, generator=g, requires_grad=True)
    labels = torch.randint(0, 5, (2, 12, 10), generator=g)
    labels[torch.rand(labels.shape, generator=g) < ignored] = 255
    weight = torch.rand(5, generator=g) + 0.5
    ref = _ohem_reference(logits, labels, weight, thresh, min_kept)

    def no_sync(self):
        raise AssertionError('OHEM waits for the device (.item()) every iteration')

    monkeypatch.setattr(torch.Tensor, 'item', no_sync)
    got = ohem_cross_entropy(logits, labels, weight, thresh, min_kept)
    monkeypatch.undo()
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-7)
    got.backward()
    assert torch.isfinite(logits.grad).all()


def test_seg_probabilities_of_fp16_logits_do_not_overflow():
    import hrvision
    model = hrvision.init_model(CFG, None, 'cpu')
    logits = torch.full((1, 19, 16, 24), -4.0)
    logits[:, 3] = 12.0   # exp(12) = 162755 > 65504, the fp16 maximum
    model.logits = lambda img: logits.to(img.dtype)
    img32 = torch.zeros(1, 3, 64, 96)
    want = model._window_probs(img32, flip=True)
    got = model._window_probs(img32.half(), flip=True)   # a half batch: fp16 validation / test
    assert got.dtype == torch.float32 and torch.isfinite(got).all()
    torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-3)
    model.test_cfg.update(crop_size=(64, 64), stride=(32, 32))   # sliding windows accumulate in float32 too
    got = model._slide(img32.half(), flip=False)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, model._slide(img32, flip=False), rtol=1e-3, atol=1e-3)


def test_multitask_keypoints_copy_the_heatmaps_to_the_host_once_per_batch(monkeypatch):
    from tests.test_multitask_model import TINY_BACKBONE, sample
    from hrvision.tasks.multitask import MultiTaskModel
    torch.manual_seed(0)
    pose = dict(type='PoseHead', num_keypoints=17, sigma=1.5, boxes='gt',
                codec=dict(input_size=(48, 64), heatmap_size=(12, 16)))
    m = MultiTaskModel(backbone=TINY_BACKBONE, heads=dict(pose=pose)).eval()
    batch = [sample(['pose'], seed=i) for i in range(4)]
    x = torch.randn(4, 3, 64, 64)
    with torch.no_grad():
        ref = [s.pred_pose.keypoints.clone() for s in m(x, [sample(['pose'], seed=i) for i in range(4)],
                                                         mode='predict')]
    copies, real_cpu = [], torch.Tensor.cpu

    def counting_cpu(self, *a, **k):
        if self.dim() == 4:   # heatmaps
            copies.append(tuple(self.shape))
        return real_cpu(self, *a, **k)

    monkeypatch.setattr(torch.Tensor, 'cpu', counting_cpu)
    with torch.no_grad():
        out = m(x, batch, mode='predict')
    monkeypatch.undo()
    assert len(copies) == 1 and copies[0][0] == 4, copies   # was: one copy per sample
    for s, r in zip(out, ref):
        torch.testing.assert_close(s.pred_pose.keypoints, r)


class _OnCuda(_OnDevice):
    """``_OnDevice`` that also says ``cuda:0`` when asked its device (for code that checks before copying)."""

    @property
    def device(self):
        return torch.device('cuda:0')


def test_multitask_detections_move_to_the_host_in_one_copy_per_field(monkeypatch):
    from hrvision.tasks.multitask.adapters import _on_host
    dets = [dict(boxes=torch.rand(n, 4), scores=torch.rand(n), labels=torch.arange(n)) for n in (3, 0, 2)]
    assert _on_host(dets) is dets   # on the host already: untouched
    monkeypatch.setattr(_OnCuda, 'host_copies', 0)
    out = _on_host([{k: v.as_subclass(_OnCuda) for k, v in d.items()} for d in dets])
    assert _OnCuda.host_copies == 3   # one per field, not per image and field
    for a, b in zip(out, dets):
        for k in b:
            assert type(a[k]) is torch.Tensor and torch.equal(a[k], b[k]), k


VARIABLE_SIZE = {'configs/detection/hrnetv2p_tiny_fcos_synth.py', 'configs/detection/hrnetv2p_w32_fcos_coco.py',
                 'configs/detection/hrnetv2p_w32_faster_rcnn_coco.py', 'configs/multitask/hrnet_w32_coco_multitask.py',
                 'configs/multitask/demo_mixed_cityscapes_coco.py'}


def test_cudnn_autotuning_on_for_fixed_size_training_configs():
    from mmengine.config import Config
    configs = sorted(str(p.relative_to(REPO)) for p in (REPO / 'configs').glob('*/*.py')
                     if not p.name.startswith('_') and p.parent.name != '_base_')
    assert VARIABLE_SIZE <= set(configs) and len(configs) > 20
    for c in configs:
        cfg = Config.fromfile(str(REPO / c))
        assert cfg.env_cfg.cudnn_benchmark is (c not in VARIABLE_SIZE), c
        assert cfg.env_cfg.dist_cfg.backend == 'nccl', c   # the base's other settings kept


def test_dataloaders_pin_memory_only_with_cuda(monkeypatch):
    cfg = prepare_config(CFG)
    assert all('pin_memory' not in cfg[k] for k in ('train_dataloader', 'val_dataloader', 'test_dataloader'))
    _cuda_present(monkeypatch)
    cfg = prepare_config(CFG, cfg_options={'val_dataloader.pin_memory': False})
    assert cfg.train_dataloader.pin_memory is True and cfg.test_dataloader.pin_memory is True
    assert cfg.val_dataloader.pin_memory is False   # the config's choice wins


# ---- 7. benchmarks wait for the device they time --------------------------------------------------------------
def test_synchronize_names_the_timed_device(monkeypatch):
    from hrvision.timing import synchronize, synchronizer
    calls = []
    monkeypatch.setattr(torch.cuda, 'synchronize', lambda device=None: calls.append(device))
    synchronize('cuda:1')
    synchronizer(torch.device('cuda:0'))()
    synchronize('cuda')
    synchronize('cpu')
    assert [str(d) for d in calls] == ['cuda:1', 'cuda:0', 'cuda']


def test_no_benchmark_waits_for_the_current_device_only():
    bad = []
    for folder in ('benchmarks', 'tasks', 'hrvision'):
        for p in (REPO / folder).rglob('*.py'):
            text = p.read_text()
            for pattern in (r'torch\.cuda\.synchronize\(\)', r'cuda\.synchronize if', r"device == 'cuda'",
                            r"dev == 'cuda'"):
                bad += [f'{p.relative_to(REPO)}: {pattern}' for _ in re.finditer(pattern, text)]
    assert not bad, bad


# ---- 8. the prepared GPU check ---------------------------------------------------------------------------------
def test_gpu_check_script_parses_and_refuses_without_cuda(tmp_path):
    script = REPO / 'benchmarks' / 'gpu_check.sh'
    assert subprocess.run(['bash', '-n', str(script)], capture_output=True).returncode == 0
    env = dict(ENV, CUDA_VISIBLE_DEVICES='', PYTHON=sys.executable)   # no GPU even on a machine that has one
    r = subprocess.run(['bash', str(script), str(tmp_path / 'out')], capture_output=True, text=True, env=env,
                       timeout=120, cwd=str(REPO))
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'CUDA' in lines[0] and 'gpu_check' in lines[0], lines
    assert r.stdout == '' and not (tmp_path / 'out').exists()
