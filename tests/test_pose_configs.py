"""The pose configs build the official models (parameter counts from SPEC §1.3) and the official schedule."""
import os.path as osp

import pytest
from mmengine.config import Config

from hrvision.registry import MODELS
from tests.conftest import REPO

CFG = osp.join(REPO, 'configs', 'pose')


@pytest.mark.parametrize('name,params,milestones', [
    ('hrnet_w32_coco_256x192.py', 28_536_113, (170 * 1171, 200 * 1171)),
    ('hrnet_w48_coco_384x288.py', 63_595_745, (170 * 1561, 200 * 1561)),
])
def test_official_configs(name, params, milestones):
    cfg = Config.fromfile(osp.join(CFG, name))
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3)
    assert tuple(cfg.param_scheduler[0]['milestones']) == milestones
    assert cfg.train_cfg.max_iters == 210 * milestones[0] // 170
    model_cfg = dict(cfg.model, pretrained=None)
    model = MODELS.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) == params
    w, h = cfg.input_size
    assert model.codec.input_size == (w, h) and model.codec.heatmap_size == (w // 4, h // 4)


def test_missing_pretrained_file_is_named(tmp_path):
    cfg = Config.fromfile(osp.join(CFG, 'demo_synthetic.py'))
    model = MODELS.build(dict(cfg.model, pretrained=str(tmp_path / 'hrnet_w18_nothere.pth')))
    with pytest.raises(FileNotFoundError, match='hrnet_w18_nothere.pth'):
        model.init_weights()
