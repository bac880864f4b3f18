"""`hrvision train --tensorboard`: scalars and the metrics' prediction pictures reach TensorBoard's event file."""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip('tensorboard')

from hrvision.data.io import read_image  # noqa: E402
from hrvision.errors import OptionError  # noqa: E402


@pytest.mark.slow
def test_train_tensorboard_writes_scalars_and_pictures(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from hrvision.tasks.segmentation import synth as seg_synth
    data = tmp_path / 'data'
    seg_synth.write_synthetic(str(data), n_train=4, n_val=2, size=(64, 128), seed=1)
    cfg = Path(__file__).parent / 'configs' / 'seg_tiny.py'
    opts = [f'{k}.dataset.data_root={data}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    opts += ['train_cfg.max_iters=4', 'train_cfg.val_interval=4', 'param_scheduler.0.end=4']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'train', str(cfg), '--work-dir', str(tmp_path / 'wd'),
                        '--tensorboard', '--cfg-options', *opts], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    events = list((tmp_path / 'wd').glob('*/vis_data/events.out.tfevents.*'))
    assert len(events) == 1, list((tmp_path / 'wd').rglob('*'))
    acc = EventAccumulator(str(events[0]), size_guidance={'images': 0, 'scalars': 0})
    acc.Reload()
    scalars, images = acc.Tags()['scalars'], acc.Tags()['images']
    assert {'loss', 'lr', 'seg/mIoU'} <= set(scalars), scalars
    assert [e.step for e in acc.Scalars('loss')][-1] == 4
    panels = [t for t in images if t.startswith('val/') and t.endswith('_panel')]
    assert len(panels) == 2, images      # both val images' image | ground truth | prediction panels
    event = acc.Images(panels[0])[0]
    assert event.step == 4
    # the picture in TensorBoard is the panel the metric drew (its out_dir was lent for that validation)
    drawn = next((tmp_path / 'wd').glob(f'*/pictures/iter_4/panels/{panels[0][len("val/"):]}.png'))
    got = cv2.imdecode(np.frombuffer(event.encoded_image_string, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    np.testing.assert_array_equal(got, read_image(str(drawn)))


def test_enable_without_tensorboard_installed_is_one_clear_error(monkeypatch):
    from mmengine.config import Config

    from hrvision.engine.tensorboard import enable_tensorboard
    monkeypatch.setitem(sys.modules, 'tensorboard', None)   # import tensorboard -> ImportError
    with pytest.raises(OptionError, match=r'hrvision\[tensorboard\]'):
        enable_tensorboard(Config(dict(model=dict())))


def test_enable_is_idempotent_and_keeps_the_config_backends():
    from mmengine.config import Config

    from hrvision.engine.tensorboard import enable_tensorboard
    cfg = Config(dict(visualizer=dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])))
    enable_tensorboard(cfg)
    enable_tensorboard(cfg)
    assert [b['type'] for b in cfg.visualizer.vis_backends] == ['LocalVisBackend', 'TensorboardVisBackend']
    assert [h['type'] for h in cfg.custom_hooks] == ['PredictionPicturesHook']


def test_hook_named_in_a_config_builds_without_the_flag():
    """A config may list the hook itself (e.g. val_pictures=False): its type resolves from hrvision's registry."""
    code = ('from mmengine.registry import init_default_scope; init_default_scope("hrvision")\n'
            'from hrvision.registry import HOOKS\n'
            'print(type(HOOKS.build(dict(type="PredictionPicturesHook", val_pictures=False))).__name__)\n')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.split()[-1] == 'PredictionPicturesHook', r.stderr[-2000:]
