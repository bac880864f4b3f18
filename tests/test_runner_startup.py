"""What mmengine's Runner does at each start is done once per process (hrvision.engine.runner_startup): the config
text is formatted by yapf once per distinct text, the environment table is collected once (its numpy seed read again
for each runner) and torchvision is not imported for its version. Run in a fresh process (its imports are checked).
Two runners of one config started in the same second in one process have their own logger, message hub and
visualizer (mmengine names them by config and second and hands out the existing one: one log, and pose results written
into the first run's folder; hrvision.engine.loading.HRVRunner)."""
import os
import subprocess
import sys

from tests.conftest import REPO

CODE = r'''
import glob, importlib.metadata, os, re, sys, time
start = time.time()
time.time = lambda: start   # every runner starts in the same second: mmengine's default names collide
import mmengine.config.config as config_mod
from mmengine.config import Config
formatted, reads = [], []
yapf = config_mod.FormatCode
config_mod.FormatCode = lambda text, **kw: (formatted.append(text), yapf(text, **kw))[1]
text = Config.pretty_text
Config.pretty_text = property(lambda self: (reads.append(1), text.fget(self))[1])
from hrvision.configs_path import config_path
from hrvision.engine.runner import build_runner, prepare_config
work = sys.argv[1]
runners = []
for seed in (1, 2):
    cfg = prepare_config(config_path('segmentation/demo_synthetic.py'), work_dir=f'{work}/s{seed}',
                         cfg_options={'randomness.seed': seed})
    runner = build_runner(cfg)
    runner.cfg.pretty_text
    from hrvision.metrics.coco_keypoints import default_out_dir
    assert default_out_dir() == os.path.abspath(f'{work}/s{seed}'), default_out_dir()   # pose metrics' folder
    assert runner.visualizer._vis_backends['LocalVisBackend']._save_dir.startswith(os.path.abspath(f'{work}/s{seed}'))
    runners.append(runner)
assert runners[0].logger is not runners[1].logger and runners[0].message_hub is not runners[1].message_hub
assert len(formatted) == len(set(formatted)) == 2 and len(reads) >= 6, (len(formatted), len(reads))
assert 'torchvision' not in sys.modules
for seed in (1, 2):
    log = open(glob.glob(f'{work}/s{seed}/*/*.log')[0]).read()
    assert re.findall(r'numpy_random_seed: (\d+)', log) == [str(seed)], seed
    assert re.findall(r'TorchVision: (\S+)', log) == [importlib.metadata.version('torchvision')]
print('ok')
'''


def test_runner_start_formats_and_collects_once(tmp_path):
    r = subprocess.run([sys.executable, '-c', CODE, str(tmp_path)], capture_output=True, text=True, cwd=REPO,
                       timeout=300, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0 and r.stdout.strip().endswith('ok'), r.stderr[-3000:]
    assert 'should not accept any other arguments' not in r.stderr   # mmengine's warning for a name taken twice
