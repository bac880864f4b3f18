"""README claim: every shipped training config samples with mmengine's InfiniteSampler (iteration-based
training; DefaultSampler would pause at every dataloader restart)."""
from pathlib import Path

import pytest
from mmengine.config import Config

CONFIGS = sorted(p for p in (Path(__file__).resolve().parents[1] / 'configs').rglob('*.py')
                 if not p.name.startswith('_') and '_base_' not in p.parts)


def test_configs_found():
    assert len(CONFIGS) >= 15


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: f'{p.parent.name}/{p.name}')
def test_training_config_uses_infinite_sampler(path):
    cfg = Config.fromfile(str(path))
    loader = cfg.train_dataloader
    sampler = loader.get('sampler') or {}
    assert sampler.get('type') == 'InfiniteSampler', (str(path), sampler)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
