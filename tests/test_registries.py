"""The core names no task: tasks register official families and CLI commands; hrvision.init_model is the one
config + checkpoint loader; nothing but the entry point imports hrvision.cli."""
import ast
import json
import subprocess
import sys

import pytest
import torch

import hrvision
from hrvision.errors import UnknownNameError
from hrvision.registry import CLI_COMMANDS, OFFICIAL_FAMILIES, NameTable, load_tasks

from .conftest import REPO, load_ref, ref_path

TASKS = sorted(p.name for p in (REPO / 'tasks').iterdir() if (p / '__init__.py').is_file())
SKIP = ('heads', 'tasks', 'configs')   # installed into hrvision from the repository root, not the core
CORE_PARTS = sorted({p.relative_to(REPO / 'hrvision').parts[0] if len(p.relative_to(REPO / 'hrvision').parts) > 1
                     else '*.py' for p in (REPO / 'hrvision').rglob('*.py')} - set(SKIP))


def _core_files(part):
    root = REPO / 'hrvision'
    return sorted(root.glob('*.py')) if part == '*.py' else sorted((root / part).rglob('*.py'))


def _package(path):
    """The dotted package of a module file under the repository (``hrvision/data/io.py`` -> ``hrvision.data``;
    ``heads/x.py`` -> ``hrvision.heads``, as installed)."""
    parts = list(path.relative_to(REPO).with_suffix('').parts)
    if parts[0] in ('heads', 'tasks'):
        parts.insert(0, 'hrvision')
    return '.'.join(parts[:-1] if parts[-1] != '__init__' else parts[:-1])


def _imports(path, text=None):
    """Every module an import statement of ``path`` names, absolute and relative (``from ..heads import x`` is
    resolved against the module's package), each with its imported names (``from a import b`` -> ``a``, ``a.b``).
    ``text``: read it instead of the file, as if it were ``path``."""
    package = _package(path)
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8') if text is None else text)):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split('.')
            if node.level:
                base = base[:len(base) - (node.level - 1)]
                module = '.'.join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            yield module
            yield from (f'{module}.{a.name}' for a in node.names)


def test_imports_resolve_relative_imports():
    """The reader above sees through relative imports (what let ``hrvision/fuse.py`` import a head unseen)."""
    fuse = set(_imports(REPO / 'hrvision/fuse.py', 'from .heads.segmentation import ConcatHeadLayers\n'
                                                   'from . import tasks\n'))
    assert {'hrvision.heads.segmentation', 'hrvision.heads.segmentation.ConcatHeadLayers', 'hrvision.tasks'} <= fuse
    engine = set(_imports(REPO / 'hrvision/engine/x.py', 'from ..tasks.pose import metric\nfrom ..heads import kp\n'))
    assert {'hrvision.tasks.pose', 'hrvision.tasks.pose.metric', 'hrvision.heads', 'hrvision.heads.kp'} <= engine
    assert _forbidden('hrvision.heads.segmentation') and _forbidden('hrvision.tasks.pose.metric')
    assert not _forbidden('hrvision.tasks') and not _forbidden('hrvision.necks.hrnetv2')


def _forbidden(module):
    """A task module or a head module: the core reaches both only through the registries (heads are built from
    configs; what the core needs from one, e.g. the concat-conv split, is a hook the head owns)."""
    return (module.startswith(('hrvision.tasks.', 'hrvision.heads.')) or module == 'hrvision.heads'
            or module in {f'hrvision.{t}' for t in TASKS})


@pytest.mark.parametrize('part', CORE_PARTS)
def test_core_imports_no_task(part):
    """``hrvision/<part>`` imports no ``hrvision.tasks.<task>`` and no ``hrvision.heads`` module, absolutely or
    relatively (``hrvision.tasks`` itself, which loads every task folder for the registries, is allowed)."""
    assert len(TASKS) >= 5
    offenders = [(p.name, m) for p in _core_files(part) for m in _imports(p) if _forbidden(m)]
    assert not offenders, f'core modules import task or head modules: {offenders}'


def test_core_parts_cover_every_sub_package():
    assert {'inference', 'engine', 'data', '*.py'} <= set(CORE_PARTS)


def _borrowed_private_names(path, text=None):
    """Underscore names (``_x``, not dunders) that ``tasks/<a>/...`` imports from another task ``<b>``, absolutely
    or relatively: what one task shares with another is public API of that task, or lives in the core."""
    own = path.relative_to(REPO / 'tasks').parts[0]
    found = []
    for m in _imports(path, text):
        parts = m.split('.')
        if len(parts) > 3 and parts[:2] == ['hrvision', 'tasks'] and parts[2] != own and \
                any(p.startswith('_') and not p.startswith('__') for p in parts[3:]):
            found.append(m)
    return found


def test_no_task_imports_another_tasks_private_names():
    probe = REPO / 'tasks' / 'posetrack' / 'probe.py'
    assert _borrowed_private_names(probe, 'from ..pose.synth import _background\n') == \
        ['hrvision.tasks.pose.synth._background']
    assert _borrowed_private_names(probe, 'from hrvision.tasks.detection.vis import captions, _np\n') == \
        ['hrvision.tasks.detection.vis._np']
    assert not _borrowed_private_names(probe, 'from .joints import _x\nfrom ..pose import __version__\n')
    offenders = {str(p.relative_to(REPO)): found for p in sorted((REPO / 'tasks').rglob('*.py'))
                 if (found := _borrowed_private_names(p))}
    assert not offenders, f"tasks import other tasks' underscore names: {offenders}"


def test_one_coco_reader():
    """COCO annotation files are read by ``hrvision.data.coco.load_coco`` only: no task defines a reader of its own
    or reads the raw file around it (pose and detection each had a ``load_coco``)."""
    own = [str(p.relative_to(REPO)) for p in sorted((REPO / 'tasks').rglob('*.py'))
           for node in ast.walk(ast.parse(p.read_text(encoding='utf-8')))
           if isinstance(node, ast.FunctionDef) and node.name == 'load_coco']
    raw = [str(p.relative_to(REPO)) for p in sorted((REPO / 'tasks').rglob('*.py'))
           if 'hrvision.data.coco.load_coco_file' in set(_imports(p))]
    assert not own and not raw, f'COCO readers outside hrvision.data.coco: {own + raw}'


def _kind_literals(path):
    """String constants compared with ``==`` / ``!=`` / ``in`` or used as dict keys (branching)."""
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                elts = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                yield from (e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
        elif isinstance(node, ast.Dict):
            yield from (k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))


@pytest.mark.parametrize('part', CORE_PARTS)
def test_core_branches_on_no_task_kind(part):
    """No core module compares with, or keys a table by, a task's kind or a task model's class name (what
    ``hrvision.registry.INFERENCE`` holds): those answers come from the tasks' registered objects. The HRNet fuse
    presets are the one exception: backbone conventions named after the official families (``FUSE_PRESETS``)."""
    from hrvision.backbones.hrnet import FUSE_PRESETS
    from hrvision.registry import INFERENCE
    load_tasks()
    names = set(INFERENCE) | {c.kind for c in INFERENCE.values()}
    assert {'segmentation', 'pose', 'face', 'detection', 'multitask', 'PoseModel'} <= names
    allowed = {'hrnet.py': set(FUSE_PRESETS)}
    offenders = [(p.name, s) for p in _core_files(part) for s in _kind_literals(p)
                 if s in names and s not in allowed.get(p.name, ())]
    assert not offenders, f'core modules branch on task kinds: {offenders}'


def test_nothing_but_the_entry_point_imports_the_cli():
    code = [p for d in ('hrvision', 'tasks', 'heads', 'benchmarks') for p in (REPO / d).rglob('*.py')
            if p not in (REPO / 'hrvision' / 'cli.py', REPO / 'hrvision' / '__main__.py')]
    users = [str(p.relative_to(REPO)) for p in code for m in _imports(p) if m in ('hrvision.cli', 'hrvision.cli.main')]
    assert not users, f'only the entry point may import hrvision.cli: {users}'


def test_tasks_register_official_families_and_commands():
    load_tasks()
    assert {'seg_hrnet', 'pose_hrnet', 'hrnet', 'face_hrnet', 'cls_hrnet'} <= set(OFFICIAL_FAMILIES)
    assert {'synth-cityscapes', 'synth-coco-pose', 'synth-wflw', 'synth-coco-det', 'synth-coco-multi'} <= \
        {n for n, _, _ in CLI_COMMANDS.group('data')}
    assert {'pose', 'multitask', 'wflw'} <= {n for n, _, _ in CLI_COMMANDS.group('bench')}
    assert 'demo' in {n for n, _, _ in CLI_COMMANDS.group('')}
    with pytest.raises(UnknownNameError, match="unknown official MODEL.NAME 'seg_hrnett'.*did you mean 'seg_hrnet'"):
        OFFICIAL_FAMILIES.lookup('seg_hrnett')
    with pytest.raises(UnknownNameError, match='seg_hrnett'):
        hrvision.from_official({'MODEL': {'NAME': 'seg_hrnett'}})


def test_name_table_refuses_a_second_owner_and_a_bad_group():
    table = NameTable('thing')
    table.add('a', len)
    table.add('a', len)   # the same object again (a re-import) is fine
    with pytest.raises(KeyError, match="thing 'a' is registered twice"):
        table.add('a', abs)
    with pytest.raises(ValueError, match='CLI group'):
        CLI_COMMANDS.register('nope', 'x', 'help')


def test_a_registered_command_reaches_the_cli(tmp_path):
    """What a new task folder does: register a command; the core's parser offers it without naming it."""
    script = (
        'import sys\n'
        'from hrvision.registry import CLI_COMMANDS\n'
        '@CLI_COMMANDS.register("data", "synth-toy", "toy data")\n'
        'def _args(p):\n'
        '    p.add_argument("out")\n'
        '    p.set_defaults(func=lambda a: print("toy", a.out) or 0)\n'
        'from hrvision.cli import main\n'
        'sys.exit(main(["data", "synth-toy", "X"]))\n')
    r = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0 and r.stdout.strip() == 'toy X', r.stderr[-2000:]


def test_init_model_official_equals_from_official_and_refuses_partial(tmp_path):
    cfg_path = ref_path('seg_tiny_config.json')
    state = load_ref('seg_tiny_state.pt')
    model = hrvision.init_model(str(cfg_path), state, 'cpu')
    assert not model.training and next(model.parameters()).device.type == 'cpu'
    io = load_ref('seg_tiny_io.pt')
    with torch.no_grad():
        torch.testing.assert_close(model(io['input']), io['output'], atol=1e-4, rtol=1e-4)
    partial = {k: v for k, v in state.items() if 'last_layer' not in k}
    with pytest.raises(ValueError, match='last_layer'):
        hrvision.init_model(json.loads(cfg_path.read_text()), partial, 'cpu')
    model = hrvision.init_model(json.loads(cfg_path.read_text()), partial, 'cpu', allow_partial=True)
    assert model.load_report.missing_keys


def test_init_model_mmengine_config_with_checkpoint_and_options(tmp_path):
    config = str(REPO / 'tests' / 'configs' / 'seg_tiny.py')
    model = hrvision.init_model(config, None, 'cpu')
    ckpt = tmp_path / 'w.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    again = hrvision.init_model(config, str(ckpt), 'cpu', cfg_options={'model.head.num_classes': 19})
    for (k, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        torch.testing.assert_close(b, a, msg=k)
    assert not again.training and again.load_report is not None
    with pytest.raises(ValueError, match='shape|size'):
        hrvision.init_model(config, str(ckpt), 'cpu', cfg_options={'model.head.num_classes': 5})
    with pytest.raises(FileNotFoundError, match='config file not found'):
        hrvision.init_model(str(tmp_path / 'nope.py'))


def test_inference_pieces_come_from_the_task_registry():
    """``hrvision.inference`` reads a task's inference from ``INFERENCE`` (a new task's registration reaches it);
    an unregistered model class is refused naming it."""
    import numpy as np
    from torch import nn

    from hrvision.errors import ConfigError
    from hrvision.inference.pipeline import LoadArray
    from hrvision.inference.task import TaskInference, task_for
    from hrvision.registry import INFERENCE, register_inference

    load_tasks()
    assert {'SegmentationModel', 'PoseModel', 'FaceModel', 'DetectionModel', 'MultiTaskModel'} <= set(INFERENCE)

    class _NewTaskModel(nn.Module):
        pass

    with pytest.raises(ConfigError, match='no inference for a _NewTaskModel model'):
        task_for(_NewTaskModel())

    @register_inference('_NewTaskModel')
    class _NewInference(TaskInference):
        kind, top_down = 'new', True

        def load_fields(self, r, box, pad):
            r['corners'] = box

    try:
        task = task_for(_NewTaskModel())
        assert isinstance(task, _NewInference) and task.kind == 'new'
        r = LoadArray(task)(np.zeros((4, 6, 3), np.uint8), 'x.png', box=[1, 1, 3, 4])
        assert r['corners'] == (1.0, 1.0, 3.0, 4.0) and r['bbox'].tolist() == [1, 1, 2, 3]
    finally:
        del INFERENCE['_NewTaskModel']


def test_starting_hrvision_loads_no_detection_models():
    """Every task registered (what `hrvision --help` / any command loads first) without torchvision's models or
    scipy.optimize (about 2.5 s of every command's start); a config naming the detection head still builds it."""
    code = ('import sys\nfrom hrvision.registry import MODELS, load_tasks\nimport hrvision.cli\nload_tasks()\n'
            'slow = [m for m in ("torchvision", "scipy.optimize") if m in sys.modules]\n'
            'assert not slow, slow\n'
            'assert "DetectionHead" in MODELS.known_names()\n'
            'head = MODELS.get("DetectionHead")\n'
            'assert head.__module__ == "hrvision.heads.detection" and "torchvision" in sys.modules\n'
            'print("ok")\n')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == 'ok', r.stderr[-2000:]


def test_a_lazy_name_is_imported_on_first_lookup(tmp_path, monkeypatch):
    from hrvision.registry import HRVRegistry, register_lazy
    (tmp_path / 'lazy_mod_for_test.py').write_text(
        'from tests.test_registries import _REG\n@_REG.register_module()\nclass LateHead:\n    pass\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    global _REG
    _REG = HRVRegistry('lazy test', scope='hrvision_lazy_test')
    register_lazy(_REG, 'LateHead', 'lazy_mod_for_test')
    assert 'lazy_mod_for_test' not in sys.modules and 'LateHead' in _REG.known_names()
    assert _REG.get('LateHead').__name__ == 'LateHead' and 'lazy_mod_for_test' in sys.modules
    with pytest.raises(UnknownNameError, match="did you mean 'LateHead'"):
        _REG.check_type('LateHed')
