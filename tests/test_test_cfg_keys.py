"""A misspelt ``model.test_cfg`` option is refused with a did-you-mean, for every task model (it was ignored:
``flip=False`` on a pose model left its flip test on)."""
import json
from pathlib import Path

import pytest

import hrvision
from hrvision.tasks.pose.model import PoseModel
from tests.conftest import ref_path


@pytest.fixture(scope='module')
def tiny():
    return (json.loads(ref_path('pose_tiny_config.json').read_text()),)


def test_pose_test_cfg_keys_are_checked(tiny):
    from hrvision.errors import ConfigError
    model = hrvision.from_official(tiny[0])
    with pytest.raises(ConfigError, match=r"model.test_cfg.flip: unknown key; did you mean 'flip_test'"):
        PoseModel(backbone=model.backbone, head=model.head, codec=model.codec, test_cfg=dict(flip=False))
    with pytest.raises(TypeError, match='model.test_cfg.flip_test must be True or False'):
        PoseModel(backbone=model.backbone, head=model.head, codec=model.codec, test_cfg=dict(flip_test='no'))


def test_segmentation_test_cfg_keys_are_checked():
    from mmengine.config import Config
    from hrvision.errors import ConfigError
    from hrvision.registry import MODELS
    cfg = Config.fromfile(str(Path(__file__).parent / 'configs' / 'seg_tiny.py'))
    with pytest.raises(ConfigError, match=r"model.test_cfg.flip_test: unknown key; did you mean 'flip'"):
        MODELS.build(dict(cfg.model, test_cfg=dict(flip_test=True)))
