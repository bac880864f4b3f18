"""Several processes give the numbers of one (issue 26): ``torchrun --nproc_per_node=2`` (gloo, CPU) trains the
segmentation config and the mixed-source multi-task config (partial labels), resumes bit-exactly, and

* ``hrvision test`` with 2 processes equals 1 process on the same checkpoint, on an odd-sized evaluation set
  with samples a metric skips (unlabelled images; the other source's images): the sampler's padding duplicate
  is scored once, not twice;
* the in-training validation equals ``hrvision test`` of the checkpoint it saved (BatchNorm statistics averaged
  across processes before the checkpoint and the validation);
* ``sync_bn='torch'`` falls back on the CPU with one line; ``hrvision demo`` refuses a distributed launcher.

Each config runs once (module fixtures: 2-process train, 2-process resume, 2-process test) and the checks share
the runs; the subprocesses run in a temporary folder (the configs' relative data roots point there).
"""
import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hrvision.backbones.hrnet import tiny_extra
from hrvision.engine.runner import prepare_config, test as runner_test

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1')
for _key in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK'):   # the runs choose their own launcher
    ENV.pop(_key, None)
ITERS = 4   # checkpoints (and validations) at 2 and 4; the resume goes from 2 to 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _torchrun(args, cwd):
    """``hrvision ARGS --launcher pytorch`` in ``cwd`` under ``torchrun --nproc_per_node=2`` (gloo on the CPU)."""
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_port', str(_free_port()),
           '-m', 'hrvision', *args, '--launcher', 'pytorch']
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0, f'{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}'
    return r


def _last_json(text):
    start = text.rindex('\n{') + 1
    return json.loads(text[start:text.index('\n}', start) + 2])


def _val_at(work_dir: Path, iteration: int) -> dict:
    """The validation metrics logged right after training iteration ``iteration`` (rank 0's json log)."""
    logs = sorted(work_dir.glob('*/vis_data/2*.json'))
    assert logs, f'no json log in {work_dir}'
    records = [json.loads(line) for line in logs[-1].read_text().splitlines() if line.strip()]
    for i, r in enumerate(records):
        if r.get('iter') == iteration and i + 1 < len(records) and 'iter' not in records[i + 1]:
            return {k: v for k, v in records[i + 1].items() if '/' in k}
    raise AssertionError(f'no validation after iteration {iteration} in {logs[-1]}')


def _weights(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def _run_all(tmp: Path, config: Path) -> dict:
    """train 2 processes (4 iterations), resume 2 processes from iteration 2 in another work dir, test the last
    checkpoint with 2 processes (CLI) and with 1 (the same ``test`` the CLI calls, in this process)."""
    train = _torchrun(['train', str(config), '--work-dir', str(tmp / 'a')], tmp)
    resume = _torchrun(['train', str(config), '--work-dir', str(tmp / 'b'), '--resume', str(tmp / 'a' / 'iter_2.pth')],
                       tmp)
    ckpt = tmp / 'a' / f'iter_{ITERS}.pth'
    two = _last_json(_torchrun(['test', str(config), str(ckpt), '--work-dir', str(tmp / 't2')], tmp).stdout)
    with contextlib.chdir(tmp):
        one = runner_test(str(config), str(ckpt), work_dir=str(tmp / 't1'))
    return dict(name=config.stem, tmp=tmp, train=train, resume=resume, two=two,
                one={k: float(v) for k, v in one.items()}, val=_val_at(tmp / 'a', ITERS),
                val_resumed=_val_at(tmp / 'b', ITERS))


# ---- segmentation: tiny HRNet, sync_bn='torch', 5 evaluation images, 2 of them unlabelled -------------------
SEG_CONFIG = f"""
_base_ = [{str(REPO / 'tests' / 'configs' / 'seg_tiny.py')!r}]
data_root = 'city'
sync_bn = 'torch'     # the official W48 configs' setting: falls back on the CPU
train_dataloader = dict(dataset=dict(data_root=data_root))
# the 'test' split may hold unlabelled images: the metric skips them (one result each, a marker)
val_dataloader = dict(batch_size=1, dataset=dict(data_root=data_root, split='test'))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=0.01))  # 4 iterations away from one predicted class everywhere
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
train_cfg = dict(max_iters={ITERS}, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=2), logger=dict(interval=1))
"""


@pytest.fixture(scope='module')
def seg(tmp_path_factory):
    from hrvision.tasks.segmentation import synth as seg_synth
    tmp = tmp_path_factory.mktemp('seg_ddp')
    seg_synth.write_synthetic(str(tmp / 'city'), n_train=4, n_val=5, size=(64, 128), seed=1)
    for part in ('leftImg8bit', 'gtFine'):
        os.rename(tmp / 'city' / part / 'val', tmp / 'city' / part / 'test')
    labels = sorted((tmp / 'city' / 'gtFine' / 'test').glob('*/*_gtFine_label*.png'))
    stems = sorted({p.name.split('_gtFine_')[0] for p in labels})
    assert len(stems) == 5
    for p in labels:   # the last two images (in dataset order) unlabelled
        if p.name.split('_gtFine_')[0] in stems[3:]:
            p.unlink()
    config = tmp / 'seg_ddp.py'
    config.write_text(SEG_CONFIG)
    return _run_all(tmp, config)


# ---- multi-task, mixed sources: 2 Cityscapes scenes + 3 COCO images in the evaluation (5 for 2 ranks) -------
MIXED_CONFIG = f"""
_base_ = [{str(REPO / 'configs' / 'multitask' / 'demo_mixed_cityscapes_coco.py')!r}]
model = dict(backbone=dict(_delete_=True, type='HRNet', extra={tiny_extra(4)!r}, upsample_mode='bilinear',
                           align_corners=False))
train_dataloader = dict(batch_size=2)
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
train_cfg = dict(max_iters={ITERS}, val_interval=2)
# iteration 2 stays (the resume starts there); every iteration logged (_val_at finds the validation after it)
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=2), logger=dict(interval=1))
"""


@pytest.fixture(scope='module')
def mixed(tmp_path_factory):
    from hrvision.tasks.multitask import synth as multi_synth
    from hrvision.tasks.segmentation import synth as seg_synth
    tmp = tmp_path_factory.mktemp('mixed_ddp')
    # the config's relative data roots, under the folder the runs start in
    seg_synth.write_synthetic(str(tmp / 'work_dirs' / 'demo' / 'data'), n_train=2, n_val=2, size=(64, 128), seed=0)
    multi_synth.write_synthetic(str(tmp / 'work_dirs' / 'multitask_demo' / 'data'), n_train=2, n_val=3, seed=0,
                                size=(64, 64))
    config = tmp / 'mixed_ddp.py'
    config.write_text(MIXED_CONFIG)
    return _run_all(tmp, config)


@pytest.fixture(params=['seg', 'mixed'])
def run(request):
    return request.getfixturevalue(request.param)


@pytest.mark.slow
def test_resume_with_two_processes_is_exact(run):
    """Partial labels under DDP train at all (an unlabelled head's zero loss reaches every layer only it reads),
    and resuming at iteration 2 ends on the weights of the uninterrupted run."""
    a, b = _weights(run['tmp'] / 'a' / f'iter_{ITERS}.pth'), _weights(run['tmp'] / 'b' / f'iter_{ITERS}.pth')
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=0, msg=k)
    assert run['val_resumed'] == run['val']


@pytest.mark.slow
def test_two_processes_equal_one_on_an_odd_sized_set(run):
    """5 evaluation images for 2 processes: the padding duplicate (image 0) must not be scored again; the
    metrics then equal one process's exactly."""
    assert run['two'] == run['one']
    # the mixed config: each head scored on its own source's images (the others are SKIPPED markers)
    expected = {'seg/mIoU', 'pose/AP'} if run['name'] == 'mixed_ddp' else {'seg/mIoU'}
    assert expected <= set(run['one']), sorted(run['one'])


@pytest.mark.slow
def test_validation_during_training_equals_test_of_its_checkpoint(run):
    """The checkpoint and every rank's validation hold the same (averaged) BatchNorm statistics."""
    val = run['val']
    assert val and set(val) == set(run['two'])
    assert val == run['two']


@pytest.mark.slow
def test_validation_is_not_trivially_equal(seg):
    """The equalities above are worth something only if predictions depend on the weights: the seg run predicts
    more than one class after 4 iterations (BatchNorm statistics of another process would move them)."""
    present = [k for k, v in seg['one'].items() if k.startswith('seg/IoU.') and v > 0]
    assert len(present) >= 2, seg['one']


@pytest.mark.slow
def test_sync_bn_falls_back_on_cpu_with_one_line(seg):
    lines = [ln for ln in seg['train'].stderr.splitlines() if 'sync_bn' in ln]
    assert len(lines) == 1, lines   # rank 0 only
    assert lines[0].startswith("hrvision: sync_bn='torch' needs GPUs") and 'averaged across processes' in lines[0]


# ---- one-process commands under a launcher ----------------------------------------------------------------
def test_demo_refuses_a_distributed_launcher(tmp_path):
    work = tmp_path / 'demo'
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'demo', '--quick', '--work-dir', str(work)],
                       capture_output=True, text=True, env=dict(ENV, WORLD_SIZE='2', RANK='1', LOCAL_RANK='1'),
                       timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('hrvision: error: hrvision demo runs as one process'), err
    assert 'WORLD_SIZE=2' in err[0] and 'Traceback' not in r.stderr
    assert not work.exists()   # nothing written


def test_train_without_launcher_under_torchrun_is_refused(monkeypatch):
    from hrvision.errors import ConfigError
    cfg = str(REPO / 'tests' / 'configs' / 'seg_tiny.py')
    monkeypatch.setenv('WORLD_SIZE', '2')
    with pytest.raises(ConfigError, match='add --launcher pytorch'):
        prepare_config(cfg)
    prepare_config(cfg, launcher='pytorch')   # the right way: accepted
    monkeypatch.setenv('WORLD_SIZE', '1')
    prepare_config(cfg)   # torchrun --nproc_per_node=1: one process, fine


def test_train_and_test_destroy_the_process_group_they_created(tmp_path, monkeypatch):
    """``--launcher pytorch`` with one process (``torchrun --nproc_per_node=1``), in this process: ``train`` and
    ``test`` leave no process group behind (the one hrvision created is destroyed, after a barrier); the CPU DDP
    wrapper keeps the documented top-level ``find_unused_parameters``."""
    import torch.distributed as dist

    from hrvision.engine.runner import train
    from hrvision.tasks.segmentation import synth as seg_synth
    assert not dist.is_initialized()
    seg_synth.write_synthetic(str(tmp_path / 'city'), n_train=2, n_val=1, size=(64, 128), seed=0)
    for key, value in dict(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(_free_port()), RANK='0', LOCAL_RANK='0',
                           WORLD_SIZE='1').items():
        monkeypatch.setenv(key, value)
    opts = {f'{k}.dataset.data_root': str(tmp_path / 'city') for k in ('train_dataloader', 'val_dataloader',
                                                                         'test_dataloader')}
    opts.update({'train_cfg.max_iters': 1, 'train_cfg.val_interval': 10, 'default_hooks.checkpoint.interval': 1,
                 'param_scheduler': [dict(type='ConstantLR', factor=1.0, by_epoch=False)],
                 'find_unused_parameters': True})
    cfg = str(REPO / 'tests' / 'configs' / 'seg_tiny.py')
    try:
        runner = train(cfg, work_dir=str(tmp_path / 'work'), launcher='pytorch', cfg_options=opts)
        assert runner.distributed and runner.iter == 1
        assert runner.model.find_unused_parameters is True   # the DDP wrapper got it
        assert not dist.is_initialized()
        metrics = runner_test(cfg, str(tmp_path / 'work' / 'iter_1.pth'), work_dir=str(tmp_path / 'test'),
                              launcher='pytorch', cfg_options=opts)
        assert 'seg/mIoU' in metrics
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():   # the old behaviour: leave nothing to the following tests
            dist.destroy_process_group()


def test_find_unused_parameters_reaches_the_cpu_wrapper():
    """mmengine's documented top-level key; hrvision builds the CPU wrapper config itself and must keep it."""
    from mmengine.config import Config

    from hrvision.engine.distributed import cpu_wrapper_cfg
    assert cpu_wrapper_cfg(Config(dict(find_unused_parameters=True)))['find_unused_parameters'] is True
    assert 'find_unused_parameters' not in cpu_wrapper_cfg(Config(dict()))
    assert cpu_wrapper_cfg(Config(dict(find_unused_parameters=True,
                                       model_wrapper_cfg=dict(find_unused_parameters=False))))[
        'find_unused_parameters'] is False   # the explicit wrapper entry wins


def test_unlabelled_head_ties_every_layer_it_alone_reads():
    """A batch labelled only for pose: every parameter gets a gradient (DDP needs one), the backbone layers only the
    segmentation head reads (the last module's fuse_layers 1-3 feed the concat map) get exactly zero."""
    from hrvision.structures import DataSample, InstanceData
    from hrvision.tasks.multitask import MultiTaskModel
    torch.manual_seed(0)
    m = MultiTaskModel(backbone=dict(type='HRNet', extra=tiny_extra(4), upsample_mode='bilinear', align_corners=False),
                       heads=dict(seg=dict(type='SegmentationHead', num_classes=3),
                                  pose=dict(type='PoseHead', num_keypoints=17, sigma=1.5,
                                            codec=dict(input_size=(48, 64), heatmap_size=(12, 16)))))
    s = DataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), scale_factor=(1.0, 1.0), tasks=['pose']))
    s.gt_pose = InstanceData(bboxes=torch.tensor([[4., 4., 40., 50.]]), keypoints=torch.rand(1, 17, 2) * 36 + 4,
                             keypoints_visible=torch.ones(1, 17))
    losses = m(torch.randn(1, 3, 64, 64), [s], mode='loss')
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None]
    assert not missing, missing[:8]
    last = f'backbone.stage4.{len(m.backbone.stage4) - 1}.fuse_layers.'   # its branches 1-3: the concat map only
    only_seg = [p for n, p in m.named_parameters() if n.startswith(last) and not n.startswith(last + '0.')]
    assert only_seg and all(torch.count_nonzero(p.grad) == 0 for p in only_seg)
    assert float(losses['seg.loss']) == 0.0
