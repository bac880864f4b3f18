"""The pose configs build the official models (parameter counts from SPEC §1.3) and the official schedule, with the
crop size stated once."""
import os.path as osp

import pytest
from mmengine.config import Config

from hrvision.registry import MODELS
from tests.conftest import REPO

CFG = osp.join(REPO, 'configs', 'pose')


@pytest.mark.parametrize('name,params,size,sigma,batch', [
    ('hrnet_w32_coco_256x192.py', 28_536_113, (192, 256), 2, 32),
    ('hrnet_w32_coco_384x288.py', 28_536_113, (288, 384), 3, 32),
    ('hrnet_w48_coco_256x192.py', 63_595_745, (192, 256), 2, 24),
    ('hrnet_w48_coco_384x288.py', 63_595_745, (288, 384), 3, 24),
])
def test_official_configs(name, params, size, sigma, batch):
    """The official recipes: Adam 1e-3, 210 epochs with steps at 170 / 200 (epoch-based, whatever the GPU count),
    the crop size and sigma stated once in model.codec and taken by the crops, datasets and targets."""
    from hrvision.engine.runner import prepare_config
    cfg = prepare_config(osp.join(CFG, name))
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3)
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop' and cfg.train_cfg.max_epochs == 210
    assert cfg.param_scheduler[0].by_epoch and tuple(cfg.param_scheduler[0]['milestones']) == (170, 200)
    assert cfg.train_dataloader.sampler.type == 'DefaultSampler' and cfg.train_dataloader.batch_size == batch
    model_cfg = dict(cfg.model, pretrained=None)
    model = MODELS.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) == params
    w, h = size
    assert model.codec.input_size == (w, h) and model.codec.heatmap_size == (w // 4, h // 4)
    assert model.codec.sigma == sigma
    for key in ('train_dataloader', 'val_dataloader'):
        ds = cfg[key].dataset
        assert tuple(ds.input_size) == size, key
        for t in ds.pipeline:
            if t.type in ('TopDownAffine', 'TopDownHalfBody'):
                assert tuple(t.input_size) == size, (key, t.type)
            if t.type == 'PoseHeatmapTargets':
                assert (t.codec.input_size, t.codec.sigma, t.codec.heatmap_size) == (size, sigma, (w // 4, h // 4))


def test_a_crop_of_another_size_than_the_codec_is_refused(tmp_path):
    """A pipeline crop stated at another size than ``model.codec.input_size`` (crops the network would not read at
    that size): ``hrvision train`` refuses in one line naming the field, exit 2, no traceback."""
    import os
    import subprocess
    import sys
    cfg = tmp_path / 'bad.py'
    cfg.write_text(f"_base_ = [{osp.join(CFG, 'hrnet_w32_coco_384x288.py')!r}]\n"
                   "test_pipeline = [dict(type='LoadPoseImage'), dict(type='TopDownAffine', input_size=(192, 256)),\n"
                   "                 dict(type='PackPoseInputs')]\n"
                   "val_dataloader = dict(dataset=dict(pipeline=test_pipeline))\n")
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'train', str(cfg), '--work-dir', str(tmp_path / 'w')],
                       capture_output=True, text=True, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS='1'),
                       timeout=300)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1 and 'Traceback' not in r.stderr, (r.returncode, r.stderr[-2000:])
    assert err[0] == ('hrvision: error: val_dataloader.dataset.pipeline.1.input_size is (192, 256), but '
                      'model.codec.input_size is (288, 384): the network reads crops of the codec\'s size; state it '
                      'once, in model.codec (the crops and datasets take it)'), err[0]


def test_missing_pretrained_file_is_named(tmp_path):
    cfg = Config.fromfile(osp.join(CFG, 'demo_synthetic.py'))
    model = MODELS.build(dict(cfg.model, pretrained=str(tmp_path / 'hrnet_w18_nothere.pth')))
    with pytest.raises(FileNotFoundError, match='hrnet_w18_nothere.pth'):
        model.init_weights()


def test_a_pipeline_built_without_the_config_step_is_refused_not_cropped_at_a_default():
    """The shipped pipelines leave the crop size to ``prepare_config`` (the model's codec): built straight from the
    file, ``TopDownAffine`` has no size to guess and says what to do, instead of cropping at a default size the
    network may not read."""
    from mmengine.runner import Runner

    from hrvision.errors import ConfigError
    cfg = Config.fromfile(osp.join(CFG, 'hrnet_w32_coco_384x288.py'))
    with pytest.raises(ConfigError, match=r'TopDownAffine input_size is not set: .*prepare_config fills it from '
                                          r'model\.codec\.input_size'):
        Runner.build_dataloader(dict(cfg.test_dataloader, num_workers=0, persistent_workers=False))
