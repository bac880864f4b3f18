"""Detection on the common runner: a short CPU run raises box AP; resuming reproduces an uninterrupted run."""
import os
import shutil
from pathlib import Path

import pytest
import torch

from hrvision.engine.runner import build_runner, prepare_config, train
from hrvision.tasks.detection import synth as det_synth

CONFIG = str(Path(__file__).resolve().parents[1] / 'configs/detection/hrnetv2p_tiny_fcos_synth.py')


@pytest.fixture(autouse=True)
def _one_thread():
    """One thread: on the shared 2-core machine two spinning OpenMP threads per job thrash (10x slower)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp('synth_det_train')
    det_synth.write_synthetic(str(out), n_train=16, n_val=4, seed=11, size=(96, 128))
    return str(out) + '/'


def _opts(root, iters, batch, size, val_on_train=False, **extra):
    pipe = lambda flip: ([dict(type='LoadDetectionImage'), dict(type='DetectionResize', scale=(size, size))]  # noqa: E731
                         + ([dict(type='DetectionRandomFlip', prob=0.5)] if flip else []) + [dict(type='PackDetectionInputs')])
    opts = {'train_dataloader.dataset.data_root': root, 'train_dataloader.batch_size': batch,
            'train_dataloader.dataset.pipeline': pipe(True), 'train_cfg.max_iters': iters,
            'train_cfg.val_interval': iters, 'default_hooks.logger.interval': 5,
            'default_hooks.checkpoint.interval': iters}
    if val_on_train:  # score the images the model was trained on (short runs memorise, which is the point)
        opts.update({'val_dataloader.dataset.data_root': root,
                     'val_dataloader.dataset.ann_file': 'annotations/instances_train2017.json',
                     'val_dataloader.dataset.data_prefix.img': 'train2017/',
                     'val_dataloader.dataset.pipeline': pipe(False)})
    else:
        opts.update({'val_dataloader': None, 'val_cfg': None, 'val_evaluator': None})
    opts.update(extra)
    return opts


def test_short_training_raises_box_ap(synth, tmp_path):
    opts = _opts(synth, iters=60, batch=8, size=128, val_on_train=True,
                 **{'param_scheduler.1.milestones': [1000]})
    runner = build_runner(prepare_config(CONFIG, work_dir=str(tmp_path), cfg_options=opts))
    before = runner.val()['coco/AP']
    runner.train()  # validates once at the end
    after = runner.val()['coco/AP']
    print(f'box AP before {before:.4f} after {after:.4f}')
    assert before < 0.02
    assert after > before + 0.05, (before, after)
    assert (Path(runner.log_dir) / 'bbox_results.json').is_file()


def test_resume_matches_uninterrupted_run(synth, tmp_path):
    opts = _opts(synth, iters=4, batch=2, size=96, **{'default_hooks.checkpoint.interval': 2})
    full = train(CONFIG, work_dir=str(tmp_path / 'full'), cfg_options=opts)
    full_sd = {k: v.clone() for k, v in full.model.state_dict().items()}
    full_loss = full.message_hub.get_scalar('train/loss').current()
    assert os.path.isfile(tmp_path / 'full' / 'iter_2.pth')

    os.makedirs(tmp_path / 'resumed')
    ckpt = str(tmp_path / 'resumed' / 'iter_2.pth')
    shutil.copy(tmp_path / 'full' / 'iter_2.pth', ckpt)
    resumed = train(CONFIG, work_dir=str(tmp_path / 'resumed'), resume=ckpt, cfg_options=opts)
    assert resumed.iter == 4
    assert resumed.message_hub.get_scalar('train/loss').current() == pytest.approx(full_loss, rel=1e-6)
    sd = resumed.model.state_dict()
    assert sd.keys() == full_sd.keys()
    for k, v in full_sd.items():
        torch.testing.assert_close(sd[k], v, rtol=1e-6, atol=1e-7, msg=k)
