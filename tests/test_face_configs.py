"""The face configs build: official W18 recipe numbers (epoch schedule), demo model."""
import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO

CFG = REPO / 'configs' / 'face'


def test_w18_wflw_config_is_the_official_recipe():
    from hrvision.registry import MODELS
    cfg = Config.fromfile(str(CFG / 'hrnetv2_w18_wflw.py'))
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) == 9_662_528
    assert all(m.momentum == 0.01 for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert model.codec.heatmap_size == (64, 64) and model.codec.sigma == 1.5 and model.codec.convention == 'face'
    assert cfg.optim_wrapper.optimizer.type == 'Adam' and cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.train_dataloader.batch_size == 16 and cfg.train_dataloader.sampler.type == 'DefaultSampler'
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop' and cfg.train_cfg.max_epochs == 60
    sched = cfg.param_scheduler[0]
    assert sched.type == 'MultiStepLR' and sched.by_epoch and sched.milestones == [30, 50] and sched.gamma == 0.1
    assert cfg.default_hooks.checkpoint.by_epoch
    aug = next(t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'FaceRandomAugment')
    assert (aug.scale_factor, aug.rot_factor, aug.rot_prob, aug.flip_prob) == (0.25, 30, 0.6, 0.5)


def test_demo_config_model_runs():
    from hrvision.registry import MODELS
    cfg = Config.fromfile(str(CFG / 'demo_synthetic_wflw.py'))
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 96, 96))
    assert out.shape == (1, 98, 24, 24)
    with pytest.raises(ValueError, match="mode must be"):
        model(torch.zeros(1, 3, 96, 96), mode='bogus')
