"""A regular (non-editable) install works away from the source tree: every ``hrvision`` command runs.

The working tree is copied (without tests, venv, git) and installed with ``pip install --target TMP``; the
commands then run in another folder with ``PYTHONPATH=TMP`` and this venv's python, so the package (including
``hrvision.heads`` / ``hrvision.tasks``, which are symlinks in the source, and the packaged configs) must come
from TMP. Catches code that reaches into the source checkout (``../benchmarks``, ``../configs`` by path).
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns('.venv', '.git', 'work_dirs', '__pycache__', '*.egg-info', 'tests', 'build', 'dist',
                                '.pytest_cache', 'out')


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp('install')
    src = root / 'src'
    shutil.copytree(REPO, src, symlinks=True, ignore=IGNORE)
    r = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation',
                        '--no-index', '--target', str(root / 'site'), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return root / 'site'


DRIVER = """
import json, sys
exec(sys.argv[2])
from hrvision.cli import main
for argv in json.loads(sys.argv[1]):
    print('### hrvision', ' '.join(argv), flush=True)
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    if rc != 0:
        sys.exit('hrvision ' + ' '.join(argv) + f': exit {rc}')
"""


def _run(site, cwd, *commands, timeout=600, before=''):
    """Run the ``hrvision`` commands (argv lists) one after another in one fresh process (the start-up, about as
    long as a small command, is paid once), after the python code ``before``; returns stdout."""
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', HF_HUB_OFFLINE='1')
    env.pop('HRVISION_DEBUG', None)
    argvs = [[str(a) for a in c] for c in commands]
    r = subprocess.run([sys.executable, '-c', DRIVER, json.dumps(argvs), before], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, f'{r.stdout[-1500:]}\n{r.stderr[-3000:]}'
    return r.stdout


@pytest.mark.slow
def test_installed_package_runs_every_command(site, tmp_path):
    pkg = site / 'hrvision'
    for part in ('heads', 'tasks', 'configs'):
        assert (pkg / part).is_dir() and not (pkg / part).is_symlink(), f'hrvision/{part} did not install as files'
    assert (pkg / 'configs' / 'face' / 'demo_synthetic_wflw.py').is_file()
    env = dict(os.environ, PYTHONPATH=str(site))
    where = subprocess.run([sys.executable, '-c', 'import hrvision, hrvision.cli, hrvision.tasks.pose, '
                            'hrvision.heads.keypoint as h; print(hrvision.__file__); print(h.__file__)'],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr[-2000:]
    assert all(Path(p).is_relative_to(site) for p in where.stdout.split()), where.stdout

    run = lambda *c, **k: _run(site, tmp_path, *c, **k)  # noqa: E731
    out = run(['list'], ['flops', 'hrnet_w18_small', '--shape', '64', '64', '--json'],
              ['data', 'synth-cityscapes', 'city', '--n-train', '1', '--n-val', '1', '--size', '64x128'],
              ['data', 'synth-coco-pose', 'pose', '--n', '1', '--n-val', '1'],
              ['data', 'synth-coco-det', 'det', '--n', '1', '--n-val', '1', '--min-size', '64', '--max-size', '64'],
              ['data', 'synth-coco-multi', 'multi', '--n', '1', '--n-val', '1', '--size', '64'],
              ['data', 'synth-wflw', 'wflw', '--train', '2', '--test', '6', '--size', '64'],
              ['data', 'synth-posetrack', 'pt', '--n-train', '1', '--n-val', '1', '--frames', '4', '--size', '96x128'],
              ['bench', 'pose', '--batch', '1', '--iters', '1', '--warmup', '0', '--no-timm'],
              ['bench', 'multitask', '--arch', 'hrnet_w18_small', '--size', '64', '--batch', '1', '--iters', '1',
               '--warmup', '0', '--repeats', '1'])
    assert 'hrnet_w18_small' in out and '"gflops"' in out and 'flip test' in out and 'multitask_img_s' in out
    for folder in ('city/gtFine', 'pose/annotations', 'det/annotations', 'multi/annotations', 'wflw/WFLW_annotations',
                   'pt/annotations/val'):
        assert (tmp_path / folder).is_dir(), folder

    config = pkg / 'configs' / 'face' / 'demo_synthetic_wflw.py'   # the packaged config, tiny model
    opts = ['--cfg-options', 'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2',
            'train_dataloader.batch_size=2', 'val_dataloader.batch_size=6', 'test_dataloader.batch_size=6',
            *(f'{k}_dataloader.dataset.data_root=wflw' for k in ('train', 'val', 'test'))]
    run(['train', config, '--work-dir', 'wd', *opts])
    ckpt = tmp_path / 'wd' / 'iter_2.pth'
    assert ckpt.is_file()
    assert 'NME' in run(['test', config, ckpt, '--work-dir', 'wd_test', '--out', 'preds', *opts])
    pt_config = pkg / 'configs' / 'posetrack' / 'demo_synthetic.py'   # an untrained tiny model is enough here
    tiny_ablation = ['--width', '4', '--iters', '1', '--batch', '2', '--n-train', '4', '--n-val', '2',
                     '--input-size', '32x32', '--image-size', '64x64']
    save = (f'import torch, hrvision; torch.manual_seed(0); '
            f'torch.save(hrvision.init_model({str(pt_config)!r}, None, "cpu").state_dict(), "pt.pth")')
    out = run(['export', config, ckpt, '--shape', '96', '96', '--out', 'face.ts', '--format', 'torchscript'],
              ['bench', 'wflw', '--config', config, '--checkpoint', ckpt, '--data-root', 'wflw', '--out', 'bench_wflw',
               '--device', 'cpu'],
              ['bench', 'posetrack', pt_config, 'pt.pth', '--data-root', 'pt', '--out', 'bench_pt', '--kpt-thr', '0',
               '--device', 'cpu'],
              ['eval', 'posetrack', 'pt/annotations/val', 'bench_pt/predictions'],
              ['infer', config, ckpt, 'city/leftImg8bit/*/*/*.png', '--out', 'infer_face', '--device', 'cpu'],
              ['bench', 'ablation-resolution', *tiny_ablation, '--resolutions', '1x', '--work-dir', 'abl'],
              ['bench', 'ablation-exchange', *tiny_ablation, '--variants', 'full', '--work-dir', 'abl'], before=save)
    assert (tmp_path / 'infer_face' / 'landmarks.json').is_file() and 'images/s' in out, out[-3000:]
    assert (tmp_path / 'abl' / 'ablation_resolution.png').is_file() and (tmp_path / 'abl' / 'ablation_exchange.png'
                                                                          ).is_file(), out[-3000:]
    assert (tmp_path / 'face.ts').is_file() and 'NME (%)' in out and (tmp_path / 'bench_wflw' / 'ced.png').is_file()
    assert (tmp_path / 'bench_pt' / 'predictions').is_dir() and out.count('MOTA') >= 2, out[-3000:]
    assert 'demo mIoU' in run(['demo', '--quick', '--iters', '1', '--work-dir', 'demo'])
