"""hrvision installs as one package from one tree (issue 22): setup.py maps the repository's top-level ``heads/``,
``tasks/`` and ``configs/`` to ``hrvision.heads``, ``hrvision.tasks`` and ``hrvision/configs`` (``package_dir``; no
links in the source). Checked for the three ways it is used, each in a fresh interpreter away from the checkout:

* a wheel (``pip wheel``, built once per module) installed with ``pip install --target``;
* an editable install (``pip install -e``, what the README and CI use) into a fresh venv that borrows this venv's
  site-packages (no download);
* a source checkout on ``PYTHONPATH`` without any install.

Each must import ``hrvision.heads`` / ``hrvision.tasks`` from its own tree, put no top-level ``heads`` / ``tasks`` /
``configs`` on the path, find the shipped configs (``hrvision.configs_path.CONFIG_ROOT``) and load one through
mmengine with its ``_base_`` files, and run ``python -m hrvision list``. The slow test then runs every command
from the wheel's install: it catches code that reaches into the source checkout (``../benchmarks``, ``../configs``).
"""
import json
import os
import shutil
import site as pysite
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns('.venv', '.git', 'work_dirs', '__pycache__', '*.egg-info', 'tests', 'build', 'dist',
                                '.pytest_cache', 'out')
PIP = ['-m', 'pip', '-q', '--disable-pip-version-check', 'install', '--no-deps', '--no-build-isolation', '--no-index']
CONFIGS = sorted(str(p.relative_to(REPO / 'configs')) for p in (REPO / 'configs').rglob('*.py'))


@pytest.fixture(scope='module')
def src(tmp_path_factory):
    """A copy of the working tree (no tests, venv, git): what a user checks out."""
    root = tmp_path_factory.mktemp('checkout') / 'src'
    shutil.copytree(REPO, root, ignore=IGNORE)
    return root


@pytest.fixture(scope='module')
def wheel(src, tmp_path_factory):
    out = tmp_path_factory.mktemp('wheel')
    r = subprocess.run([sys.executable, '-m', 'pip', '-q', 'wheel', '--no-deps', '--no-build-isolation', '--no-index',
                        '-w', str(out), str(src)], capture_output=True, text=True, cwd=out)
    assert r.returncode == 0, r.stderr[-3000:]
    (whl,) = out.glob('hrvision-*.whl')
    return whl


@pytest.fixture(scope='module')
def site(wheel, tmp_path_factory):
    target = tmp_path_factory.mktemp('install') / 'site'
    r = subprocess.run([sys.executable, *PIP, '--target', str(target), str(wheel)], capture_output=True, text=True,
                       cwd=target.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    return target


def _bare_venv(root: Path) -> Path:
    """A venv without hrvision that sees this venv's packages (a ``.pth`` line: its ``.pth`` files, among them
    this checkout's editable finder, are not run). Returns its python."""
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(root)], check=True)
    purelib = Path(sysconfig.get_path('purelib', vars={'base': str(root), 'platbase': str(root)}))
    (purelib / 'base_packages.pth').write_text('\n'.join(pysite.getsitepackages()) + '\n')
    return root / 'bin' / 'python'


@pytest.fixture(scope='module')
def editable(src, tmp_path_factory):
    python = _bare_venv(tmp_path_factory.mktemp('editable') / 'venv')
    r = subprocess.run([str(python), *PIP, '--ignore-installed', '-e', str(src)], capture_output=True, text=True,
                       cwd=python.parents[2])
    assert r.returncode == 0, r.stderr[-3000:]
    return python


LAYOUT = """
import importlib.util, json, os, runpy, sys
import hrvision, hrvision.heads.pose, hrvision.tasks.pose
from hrvision.configs_path import CONFIG_ROOT, config_path
from mmengine.config import Config
cfg = Config.fromfile(config_path('pose/hrnet_w32_coco_256x192_2x.py'))   # _base_ chain of a shipped config
print(json.dumps({'files': [hrvision.__file__, hrvision.heads.pose.__file__, hrvision.tasks.pose.__file__],
                  'top_level': [n for n in ('heads', 'tasks', 'configs') if importlib.util.find_spec(n)],
                  'config_root': CONFIG_ROOT, 'model': cfg.model.type,
                  'configs': sorted(os.path.relpath(os.path.join(d, f), CONFIG_ROOT)
                                    for d, _, fs in os.walk(CONFIG_ROOT) for f in fs if f.endswith('.py'))}))
if sys.argv[1:] == ['list']:
    runpy.run_module('hrvision', run_name='__main__')    # = python -m hrvision list
"""


def _layout(python, cwd, pythonpath=None, cli=True):
    env = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1')
    env.pop('PYTHONPATH', None)
    if pythonpath:
        env['PYTHONPATH'] = str(pythonpath)
    r = subprocess.run([str(python), '-c', LAYOUT, *(['list'] if cli else [])], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads(r.stdout.splitlines()[0])
    assert ('hrnet_w18_small' in r.stdout or not cli) and info['model'] == 'PoseModel', r.stdout[-2000:]
    assert info['configs'] == CONFIGS
    return info


def test_wheel_holds_one_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split('/')[0] for n in names if not n.split('/')[0].endswith('.dist-info')}
    assert tops == {'hrvision'}, tops
    for part in ('heads/pose.py', 'tasks/pose/model.py', 'tasks/__init__.py', 'configs/_base_/default_runtime.py',
                 *(f'configs/{c}' for c in CONFIGS)):
        assert f'hrvision/{part}' in names, part


def test_wheel_install(site, tmp_path):
    info = _layout(sys.executable, tmp_path, pythonpath=site)
    assert all(Path(f).is_relative_to(site / 'hrvision') for f in info['files']), info['files']
    assert info['top_level'] == [], f'generic top-level packages importable: {info["top_level"]}'
    assert info['config_root'] == str(site / 'hrvision' / 'configs')


def test_editable_install(editable, src, tmp_path):
    info = _layout(editable, tmp_path)
    assert [Path(f) for f in info['files']] == [src / 'hrvision' / '__init__.py', src / 'heads' / 'pose.py',
                                                src / 'tasks' / 'pose' / '__init__.py'], info['files']
    assert info['top_level'] == [], f'generic top-level packages importable: {info["top_level"]}'
    assert info['config_root'] == str(src / 'configs')


def test_source_checkout_without_install(src, tmp_path):
    python = _bare_venv(tmp_path / 'venv')
    info = _layout(python, tmp_path, pythonpath=src, cli=False)   # PYTHONPATH=src: heads/ is top-level too
    assert Path(info['files'][1]) == src / 'heads' / 'pose.py' and info['config_root'] == str(src / 'configs')


def test_source_has_no_links():
    links = [str(p.relative_to(REPO)) for d in ('hrvision', 'heads', 'tasks', 'configs') for p in (REPO / d).rglob('*')
             if p.is_symlink()]
    assert not links, f'links in the source tree (setup.py maps the folders instead): {links}'


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
                            'hrvision.heads.pose as h; print(hrvision.__file__); print(h.__file__)'],
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
