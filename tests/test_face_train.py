"""Short CPU training on synthetic WFLW lowers NME; ``hrvision bench wflw`` runs end to end on it."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO

DEMO = str(REPO / 'configs' / 'face' / 'demo_synthetic_wflw.py')


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    from hrvision.tasks.face import synth as face_synth
    root = str(tmp_path_factory.mktemp('synth_wflw'))
    face_synth.write_synthetic(root, n_train=48, n_val=12, seed=1, size=(96, 96))
    return root


def _tiny_cfg(root: str, work_dir: str, iters: int) -> Config:
    """The demo config at 64x64 input (16x16 heatmaps) without augmentation: learns in seconds."""
    cfg = Config.fromfile(DEMO)
    codec = dict(input_size=(64, 64), heatmap_size=(16, 16), sigma=1.5)
    cfg.model.codec = codec
    train = [dict(type='LoadFaceImage'), dict(type='FaceCrop', input_size=(64, 64)),
             dict(type='FaceHeatmapTargets', codec=codec), dict(type='PackFaceInputs')]
    test = [dict(type='LoadFaceImage'), dict(type='FaceCrop', input_size=(64, 64)), dict(type='PackFaceInputs')]
    cfg.train_dataloader.dataset.update(data_root=root, pipeline=train)
    cfg.train_dataloader.batch_size = 8
    for key in ('val_dataloader', 'test_dataloader'):
        cfg[key].dataset.update(data_root=root, pipeline=test)
    cfg.optim_wrapper.optimizer.lr = 5e-3
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.2, by_epoch=False, begin=0, end=10)]
    cfg.train_cfg.update(max_iters=iters, val_interval=iters)
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = 20
    cfg.work_dir = work_dir
    return cfg


@pytest.fixture
def one_thread():
    """Two intra-op threads on a shared 2-core machine spin-wait on each other (3 s vs 0.15 s per step)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.slow
def test_short_training_lowers_nme_and_bench_runs(synth, tmp_path, one_thread):
    from hrvision.engine.runner import build_runner, prepare_config
    iters = 80
    cfg = prepare_config(_tiny_cfg(synth, str(tmp_path / 'work'), iters))
    runner = build_runner(cfg)
    before = runner.val()['face/NME']
    runner.train()
    after = runner.val()['face/NME']
    print(f'face train test: NME {before:.4f} -> {after:.4f} after {iters} iterations')
    assert after < 0.6 * before, (before, after)

    # bench on the checkpoint just written (trusted: this process's own work dir)
    from hrvision.tasks.face.bench import run_wflw_bench
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_path)
    out = str(tmp_path / 'bench')
    res = run_wflw_bench(cfg_path, str(tmp_path / 'work' / f'iter_{iters}.pth'), synth, out, num_vis=4)
    for name in ('wflw_results.json', 'wflw_table.txt', 'ced.png', 'landmarks.png'):
        assert osp.getsize(osp.join(out, name)) > 100, name
    saved = json.load(open(osp.join(out, 'wflw_results.json')))
    assert saved['num_images'] == 12 and set(saved['metrics']) == {'test', 'largepose', 'expression', 'illumination',
                                                                    'makeup', 'occlusion', 'blur'}
    # the bench and the runner's metric agree on the full test set
    assert saved['metrics']['test']['NME'] == pytest.approx(after, rel=1e-6)
    per = np.array([p['nme'] for p in saved['per_image']])
    assert saved['metrics']['test']['FR@0.10'] == pytest.approx(float((per > 0.1).mean()))
    table = open(osp.join(out, 'wflw_table.txt')).read()
    assert 'Pose' in table and 'AUC@0.10' in table and 'NME (%)' in table
    assert res['eval_images_per_s'] > 0
