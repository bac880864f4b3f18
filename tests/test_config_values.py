"""Configs say each value once (issue 22) and their paths follow ``data_root`` (issue 21).

* A top-level variable of a config file that nothing reads does nothing: mmengine evaluates each file once, so a
  child that sets ``width = 48`` after its base formatted ``f'hrnet_w{width}'`` changes no setting. Every top-level
  name a shipped config assigns must be a Runner setting, a key hrvision's code reads, or read by that file itself
  or by a config built on it (``_base_.name`` / ``{{_base_.name}}``).
* Values that follow from others are derived in code: the 2x/4x/8x ablation configs state only the branch, and the
  loaded configs / built models have today's heatmap sizes and σ.
"""
import ast
import re
from pathlib import Path

import pytest

from hrvision.engine.runner import RUNNER_KEYS, code_keys
from tests.conftest import REPO

CONFIGS = sorted((REPO / 'configs').rglob('*.py'))
FILE_KEYS = ('dataset_info',)   # read from the file itself by metainfo's from_file (hrvision.data.metainfo)


def _assigned(tree: ast.Module) -> list[tuple[str, int]]:
    out = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AnnAssign, ast.AugAssign)) else []
        out += [(t.id, node.lineno) for t in targets if isinstance(t, ast.Name)]
    return out


def unread_variables(files) -> list[str]:
    """``file:line name`` for each top-level assignment that no one reads (see the module docstring)."""
    texts = {f: f.read_text() for f in files}
    from_children = {m for text in texts.values() for m in re.findall(r'_base_\.([A-Za-z_]\w*)', text)}
    found = []
    for f, text in texts.items():
        tree = ast.parse(text, str(f))
        loads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        for name, line in _assigned(tree):
            if name.startswith("_") or name in RUNNER_KEYS + code_keys() + FILE_KEYS:
                continue
            if name not in loads and name not in from_children:
                found.append(f'{f.relative_to(REPO) if f.is_relative_to(REPO) else f}:{line} {name}')
    return found


def test_every_config_variable_is_read():
    assert unread_variables(CONFIGS) == []


def test_the_check_finds_a_variable_that_does_nothing(tmp_path):
    """The issue's case: the child sets ``width`` after the base used it (and an unknown name nobody reads)."""
    (tmp_path / 'base.py').write_text("width = 32\nmodel = dict(arch=f'hrnet_w{width}')\n")
    (tmp_path / 'child.py').write_text("_base_ = ['./base.py']\nwidth = 48\nlr_scale = 2\n")
    found = [s.split(' ', 1)[1] for s in unread_variables([tmp_path / 'base.py', tmp_path / 'child.py'])]
    assert found == ['width', 'lr_scale']


# today's numbers (before the derivation moved into code): config -> (heatmap (W, H), sigma)
HEATMAPS = {'pose/hrnet_w32_coco_256x192.py': ((48, 64), 2), 'pose/hrnet_w32_coco_256x192_1x.py': ((48, 64), 2),
            'pose/hrnet_w32_coco_256x192_2x.py': ((24, 32), 1.0), 'pose/hrnet_w32_coco_256x192_4x.py': ((12, 16), 1.0),
            'pose/hrnet_w32_coco_256x192_8x.py': ((6, 8), 1.0), 'pose/hrnet_w48_coco_384x288.py': ((72, 96), 3),
            'pose/demo_synthetic.py': ((18, 24), 1.5), 'posetrack/demo_synthetic.py': ((18, 24), 1.5),
            'posetrack/hrnet_w32_posetrack18_256x192.py': ((48, 64), 2)}


def _codecs(cfg):
    yield 'model.codec', cfg.model.codec
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'PoseHeatmapTargets':
            yield 'PoseHeatmapTargets.codec', t['codec']


@pytest.mark.parametrize('name', sorted(HEATMAPS))
def test_heatmap_size_and_sigma_follow_in_code(name):
    """Through ``prepare_config`` (train / test / data check) the model's and the targets' codec have today's
    heatmap size and σ."""
    from hrvision.configs_path import config_path
    from hrvision.engine.runner import prepare_config
    cfg = prepare_config(config_path(name))
    (size, sigma), seen = HEATMAPS[name], list(_codecs(cfg))
    assert len(seen) == 2
    for where, codec in seen:
        assert (tuple(codec['heatmap_size']), codec['sigma']) == (size, sigma), where


@pytest.mark.parametrize('res,branch', [('2x', 1), ('8x', 3)])
def test_ablation_configs_state_only_the_branch(res, branch):
    """The file sets only ``model.backbone.out_indices``; a model built straight from the loaded config (as
    ``hrvision.init_model`` does) derives the heatmap size and σ from the backbone's output stride."""
    import torch
    from mmengine.config import Config

    from hrvision.configs_path import config_path
    from hrvision.registry import MODELS
    path = config_path(f'pose/hrnet_w32_coco_256x192_{res}.py')
    tree = ast.parse(Path(path).read_text())
    assert [n for n, _ in _assigned(tree)] == ['_base_', 'model']
    cfg, one = Config.fromfile(path), Config.fromfile(config_path('pose/hrnet_w32_coco_256x192_1x.py'))
    one.model.backbone.out_indices = (branch,)
    assert cfg.model.to_dict() == one.model.to_dict()
    assert cfg.train_dataloader.to_dict() == one.train_dataloader.to_dict()
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert (model.codec.heatmap_size, model.codec.sigma) == HEATMAPS[f'pose/hrnet_w32_coco_256x192_{res}.py']


def test_stated_heatmap_size_that_contradicts_the_branch_is_refused():
    """Filling in never overrides a stated value: a 1x heatmap size with the 2x branch is a build error."""
    import torch
    from mmengine.config import Config

    from hrvision.configs_path import config_path
    from hrvision.errors import ConfigError
    from hrvision.registry import MODELS
    cfg = Config.fromfile(config_path('pose/hrnet_w32_coco_256x192_2x.py'))
    cfg.model.codec.heatmap_size = (48, 64)
    with pytest.raises(ConfigError, match=r'heatmap_size=\[48, 64\].*stride 8'), torch.device('meta'):
        MODELS.build(cfg.model)


SIZE_VARIABLES = {'crop_size': ('PadRandomCrop', 'crop_size'), 'base_size': ('RandomRescale', 'base_size')}


def shown_sizes_not_used(path) -> list[str]:
    """A loaded config's top-level ``crop_size`` / ``base_size`` that its training pipeline does not use (a base's
    variable carried into a demo whose own pipeline crops elsewhere: the dumped config would show the wrong size)."""
    from mmengine.config import Config

    from hrvision.engine.runner import loader_datasets
    cfg = Config.fromfile(str(path))
    steps = [t for where, ds in loader_datasets(cfg) if where.startswith('train_dataloader')
             for t in ds.get('pipeline') or () if isinstance(t, dict)]

    def value(v):
        return tuple(v) if isinstance(v, (list, tuple)) else v
    found = []
    for name, (step, key) in SIZE_VARIABLES.items():
        used = {value(s[key]) for s in steps if s.get('type') == step and key in s}
        if name in cfg and used and value(cfg[name]) not in used:
            found.append(f'{name}={cfg[name]} (the pipeline: {sorted(used)})')
    return found


@pytest.mark.parametrize('path', [p for p in CONFIGS if not p.name.startswith('_') and '_base_' not in p.parts],
                         ids=lambda p: str(p.relative_to(REPO / 'configs')))
def test_top_level_sizes_are_the_pipelines(path):
    assert shown_sizes_not_used(path) == []


def test_the_size_check_finds_a_base_size_the_demo_does_not_use(tmp_path):
    (tmp_path / 'base.py').write_text("crop_size = (520, 520)\ntrain_dataloader = dict(dataset=dict(pipeline=[dict("
                                      "type='PadRandomCrop', crop_size=crop_size)]))\n")
    (tmp_path / 'demo.py').write_text("_base_ = ['./base.py']\ntrain_dataloader = dict(dataset=dict(pipeline=["
                                      "dict(type='PadRandomCrop', crop_size=(64, 64))]))\n")
    assert shown_sizes_not_used(tmp_path / 'demo.py') == ['crop_size=(520, 520) (the pipeline: [(64, 64)])']
