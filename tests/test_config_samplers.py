"""README claim: every shipped training config's sampler fits its loop: iteration-based configs sample with
mmengine's InfiniteSampler (no pause at a dataloader restart); the official recipes that count in epochs (face W18,
pose COCO / MPII / PoseTrack, the COCO 1x detectors and the COCO multi-task model) run mmengine's EpochBasedTrainLoop with a shuffling DefaultSampler whose workers
persist across epochs, so their schedule is the same epochs whatever the number of GPUs and batch size."""
from pathlib import Path

import pytest
from mmengine.config import Config

CONFIGS = sorted(p for p in (Path(__file__).resolve().parents[1] / 'configs').rglob('*.py')
                 if not p.name.startswith('_') and '_base_' not in p.parts)
EPOCH_BASED = {'face/hrnetv2_w18_wflw.py', 'face/hrnetv2_w18_300w.py', 'face/hrnetv2_w18_cofw.py',
               'face/hrnetv2_w18_aflw.py', 'posetrack/hrnet_w32_posetrack18_256x192.py',
               'posetrack/hrnet_w32_coco_256x192_posetrack.py', 'detection/hrnetv2p_w32_fcos_coco.py',
               'detection/hrnetv2p_w32_faster_rcnn_coco.py', 'multitask/hrnet_w32_coco_multitask.py'} | {
    f'pose/{p.name}' for p in CONFIGS if p.parent.name == 'pose' and p.name.startswith('hrnet_')}


def test_configs_found():
    assert len(CONFIGS) >= 15 and all(any(f'{p.parent.name}/{p.name}' == e for p in CONFIGS) for e in EPOCH_BASED)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: f'{p.parent.name}/{p.name}')
def test_training_config_sampler_fits_its_loop(path):
    cfg = Config.fromfile(str(path))
    loader = cfg.train_dataloader
    sampler = loader.get('sampler') or {}
    if f'{path.parent.name}/{path.name}' in EPOCH_BASED:
        assert cfg.train_cfg.type == 'EpochBasedTrainLoop' and cfg.train_cfg.max_epochs > 0
        assert sampler.get('type') == 'DefaultSampler' and sampler.get('shuffle') is True, (str(path), sampler)
        assert loader.get('persistent_workers') is True and not loader.get('drop_last'), str(path)
        steps = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR']   # (a warm-up may count iterations)
        assert steps and all(s.by_epoch for s in steps), str(path)
        assert cfg.default_hooks.checkpoint.by_epoch, str(path)
    else:
        assert sampler.get('type') == 'InfiniteSampler', (str(path), sampler)
        assert cfg.train_cfg.type == 'IterBasedTrainLoop'
