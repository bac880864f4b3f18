"""Building mmengine's Runner with the torch 2.14 / mmengine 0.10.7 breakages fixed inside hrvision.

Fixes (../shared/notes/dependencies.md):

* resume: mmengine pickles its ``message_hub``, which torch's default ``weights_only=True`` rejects.
  We save it as plain data (:class:`.hooks.SafeCheckpointHook`), so every checkpoint, ours or
  anyone's, is loaded with ``weights_only=True`` (see :mod:`.checkpoint`).
* checkpoints are written atomically (temp file + ``os.replace``): a killed run never leaves a
  half-written ``iter_N.pth``; they carry a content digest checked on load (:mod:`.checkpoint`).
* weights enter the model only through :func:`hrvision.load_weights` (``load_from``, ``hrvision test``,
  ``--resume``): :class:`.loading.HRVRunner` refuses incomplete loads instead of mmengine's lenient one.
* CPU distributed: mmengine calls ``torch.cuda.set_device`` and passes ``device_ids`` to DDP;
  we initialise gloo ourselves and configure the wrapper with ``device_ids=None``.
* AMP: ``AmpOptimWrapper`` refuses CPUs; ``--amp`` picks fp16 (or bf16) on CUDA and our bf16
  autocast wrapper on CPU.
"""
from __future__ import annotations

import ast
import difflib
import os
import os.path as osp
from typing import Any

import torch
from mmengine.config import Config, ConfigDict

from ..errors import ConfigKeyError, caused_by_ctrl_c
from .checkpoint import install_checkpoint_fixes
from .config_checks import apply_overrides, check_config_values, load_config_file
from .distributed import BNStatsSyncHook, check_launcher, release_process_group

RUNNER_KEYS = ('model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
               'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler', 'val_evaluator',
               'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from', 'resume',
               'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer', 'default_scope',
               'randomness', 'experiment_name', 'custom_imports', 'cfg', 'sync_bn', 'model_wrapper_cfg',
               'compile', 'strategy', 'find_unused_parameters')


# Top-level keys (beside the Runner's) that hrvision's code reads from a loaded config; any other top-level name is
# a config-file variable, which only fed other values while the file was read (``--cfg-options`` refuses it).
# ``data_root`` is read by :func:`apply_data_root`, which moves every path derived from it.
# Tasks add the keys their code reads (``hrvision.registry.register_config_key``): see :func:`code_keys`.
CODE_KEYS = ('data_root', 'allow_partial_load')


def code_keys() -> tuple[str, ...]:
    """:data:`CODE_KEYS` and the top-level keys tasks registered as read by their code."""
    from ..registry import CONFIG_KEYS, load_tasks
    load_tasks()
    return CODE_KEYS + tuple(sorted(CONFIG_KEYS))


def check_config_keys(cfg: Config) -> None:
    """Top-level keys that look like a misspelt Runner key are errors (mmengine ignores them); then the
    values mmengine would accept silently or fail on late (:func:`.config_checks.check_config_values`)."""
    for key in cfg.keys():
        if key in RUNNER_KEYS or key.startswith('_'):
            continue
        close = difflib.get_close_matches(key, RUNNER_KEYS, n=1, cutoff=0.85)
        if close:
            raise ConfigKeyError(f'config key {key!r} is not a Runner setting; did you mean {close[0]!r}? '
                                 f'(config: {cfg.filename or "<dict>"})')
    if 'model' not in cfg:
        raise ConfigKeyError(f'config {cfg.filename or "<dict>"} has no "model" entry')
    check_config_values(cfg)


def setup_distributed(cfg: Config) -> None:
    """Initialise the process group before the Runner does, so that CPU runs use gloo (and the CPU wrapper,
    ``sync_bn`` fallback and process-group ownership of :mod:`.distributed`)."""
    import torch.distributed as dist

    from .distributed import cpu_sync_bn_fallback, cpu_wrapper_cfg, init_process_group
    if cfg.get('launcher', 'none') == 'none':
        return
    cuda = torch.cuda.is_available()
    backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'nccl' if cuda else 'gloo')
    if not cuda:
        backend = 'gloo'
        cfg.setdefault('env_cfg', ConfigDict()).setdefault('dist_cfg', ConfigDict())['backend'] = 'gloo'
        cfg['model_wrapper_cfg'] = ConfigDict(cpu_wrapper_cfg(cfg))   # top-level find_unused_parameters honoured
        cpu_sync_bn_fallback(cfg)
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
        init_process_group(backend)


def apply_amp(cfg: Config, dtype: str | None = None) -> None:
    """Switch the optimiser wrapper to mixed precision for the current device."""
    ow = cfg.get('optim_wrapper')
    if ow is None:
        raise KeyError('--amp needs an "optim_wrapper" in the config')
    if torch.cuda.is_available():
        ow['type'] = 'AmpOptimWrapper'
        ow['dtype'] = dtype or 'float16'
    else:
        if dtype not in (None, 'bfloat16'):
            raise ValueError(f'CPU autocast supports only bfloat16, not {dtype}')
        ow['type'] = 'CPUBf16OptimWrapper'


def apply_pin_memory(cfg: Config) -> None:
    """On a CUDA machine, dataloaders pin their batches (unless the config sets ``pin_memory``): the data
    preprocessor's ``non_blocking`` copies are asynchronous only from pinned memory. Not on CPU-only machines,
    where pinning has no use (and torch warns)."""
    if not torch.cuda.is_available():
        return
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg.get(key)
        if isinstance(dl, dict):
            dl.setdefault('pin_memory', True)


def _loader_datasets(cfg: Config):
    """(where, dataset dict) for every dataset the dataloaders build, through wrappers (``dataset``, ``datasets``,
    ``sources[i].dataset``)."""
    def walk(ds, where):
        if not isinstance(ds, dict):
            return
        yield where, ds
        if isinstance(ds.get('dataset'), dict):
            yield from walk(ds['dataset'], f'{where}.dataset')
        for key in ('datasets', 'sources'):
            for i, sub in enumerate(ds.get(key) or ()):
                if isinstance(sub, dict) and key == 'sources':
                    yield from walk(sub.get('dataset'), f'{where}.{key}.{i}.dataset')
                else:
                    yield from walk(sub, f'{where}.{key}.{i}')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if isinstance(loader, dict):
            yield from walk(loader.get('dataset'), f'{key}.dataset')


loader_datasets = _loader_datasets   # the one walker over the dataloaders' datasets (tasks use it too)


def loader_transforms(cfg: Config, *types: str):
    """(where, transform dict) of every transform of the registered ``types`` (a deprecated name counts as its
    new one) in the pipelines of the dataloaders' datasets, through wrappers (:func:`loader_datasets`)."""
    from ..registry import TRANSFORMS
    for where, ds in _loader_datasets(cfg):
        for i, t in enumerate(ds.get('pipeline', None) or ()):
            if isinstance(t, dict) and TRANSFORMS.current_name(t.get('type')) in types:
                yield f'{where}.pipeline.{i}', t


def _data_roots(cfg: Config) -> list[str]:
    """The data roots the config's datasets read, those of loaders whose loop is off (``val_cfg`` /
    ``test_cfg`` None, e.g. a test pipeline kept for inference) left out."""
    off = tuple(f'{k}_dataloader.' for k in ('val', 'test') if k + '_cfg' in cfg and cfg.get(k + '_cfg') is None)
    return sorted({osp.normpath(d['data_root']) for w, d in _loader_datasets(cfg)
                   if isinstance(d.get('data_root'), str) and not w.startswith(off)})


def _under(path: Any, root: str) -> str | None:
    """``path`` relative to ``root`` when it is a path inside it (as written), else None."""
    if not isinstance(path, str) or not path:
        return None
    a, b = osp.normpath(path), osp.normpath(root)
    return osp.relpath(a, b) if a == b or a.startswith(b.rstrip(os.sep) + os.sep) else None


def _reroot(node: Any, old: str, new: str, skip: tuple[str, ...] = ()) -> Any:
    """Every string under ``node`` that is a path inside ``old`` moved to the same place inside ``new``."""
    if isinstance(node, dict):
        for k in list(node):
            if k not in skip:
                node[k] = _reroot(node[k], old, new, skip)
        return node
    if isinstance(node, list):
        return [_reroot(v, old, new, skip) for v in node]
    rel = _under(node, old)
    return node if rel is None else (new if rel == '.' else osp.join(new, rel))


def apply_data_root(cfg: Config, root: str, source: str = '--data-root') -> list[str]:
    """Move the config's data to ``root`` (``--data-root``, ``--cfg-options data_root=``): every dataset gets
    ``root`` as its ``data_root``, and paths the config built from the old root at load time (a dataset's
    ``bbox_file``, an evaluator's ``ann_file``) move with it; paths relative to ``data_root`` (``ann_file``,
    ``data_prefix``) follow by themselves. Returns the keys changed. A config whose datasets read several roots
    is refused (moving one of them would mix data silently; set each dataset's ``data_root``); a loader whose loop
    is off (``test_cfg=None``: kept for its test pipeline) counts only when under that root. ``source`` names
    where ``root`` came from in messages."""
    if not isinstance(root, str) or not root.strip():
        raise ConfigKeyError(f'{source}: expected a folder, got {root!r}')
    datasets = [(w, d) for w, d in _loader_datasets(cfg) if isinstance(d.get('data_root'), str)]
    name = cfg.filename or '<dict>'
    roots = _data_roots(cfg)
    if len(roots) != 1:
        raise ConfigKeyError(
            f'{source}: config {name} ' + (f'reads several data roots ({", ".join(roots)}); set each with '
                                           f'--cfg-options {datasets[0][0]}.data_root=FOLDER (and the others)'
                                           if roots else 'has no dataset with a data_root'))
    old = roots[0]
    datasets = [(w, d) for w, d in datasets if _under(d['data_root'], old) is not None]
    changed = []
    for where, ds in datasets:
        _reroot(ds, old, root, skip=('pipeline',))
        ds['data_root'] = root
        changed.append(f'{where}.data_root')
    for key in ('val_evaluator', 'test_evaluator'):
        if cfg.get(key) is not None:
            cfg[key] = _reroot(cfg[key], old, root)
    cfg['data_root'] = root
    return changed


def _holders(node: Any, value: Any, where: str = '') -> list[str]:
    """Keys under ``node`` whose value equals ``value`` (where a load-time variable ended up)."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, (list, tuple)) else ()
    for k, v in items:
        path = f'{where}.{k}' if where else str(k)
        if v == value and not isinstance(v, bool):
            found.append(path)
        elif isinstance(v, (dict, list, tuple)):
            found += _holders(v, value, path)
    return found


def check_override_keys(cfg: Config, options: dict) -> None:
    """A ``--cfg-options`` key must change something: its top-level part must be a Runner setting or a key
    hrvision's code reads (:data:`CODE_KEYS`). Any other top-level name is refused: a config-file variable
    (``input_size``, ``max_iters``) only fed other settings while the file was read, so the message names the keys
    that hold its value; an unknown name is a typo or a setting nothing reads."""
    known = code_keys()
    for full_key in options:
        top = str(full_key).split('.')[0]
        if top in RUNNER_KEYS or top in known:
            continue
        if top in cfg:
            holders = _holders({k: v for k, v in cfg.items() if k != top and k in RUNNER_KEYS}, cfg[top])[:6]
            hint = (f'set the keys that hold its value instead: {", ".join(holders)}' if holders
                    else 'set the keys it fed instead')
            raise ConfigKeyError(f'--cfg-options {full_key}: {top!r} is a variable of config {cfg.filename or "<dict>"}'
                                 f' that only fed other settings when the file was read, so changing it changes '
                                 f'nothing; {hint}')
        close = difflib.get_close_matches(top, list(RUNNER_KEYS) + list(known) + list(cfg.keys()), n=1, cutoff=0.6)
        raise ConfigKeyError(f'--cfg-options {full_key}: {top!r} is not a setting hrvision reads'
                             + (f'; did you mean {close[0]!r}?' if close else
                                f' (top-level settings: {", ".join(sorted(RUNNER_KEYS + known))})'))


def complete_config(cfg: Config) -> None:
    """Values a config leaves to code because they follow from others (e.g. a pose codec's heatmap size from the
    branch the head reads), filled after every override, so changing the one stated value changes them all: the
    model class's ``complete_config(cfg)`` does it (the core names no task)."""
    from ..registry import MODELS, load_tasks
    model = cfg.get('model')
    kind = model.get('type') if isinstance(model, dict) else None
    if not isinstance(kind, str):
        return
    load_tasks()
    cls = MODELS.get(kind)
    hook = getattr(cls, 'complete_config', None)
    if callable(hook):
        hook(cfg)


def child_data_root(cfg: Config) -> str | None:
    """The top-level ``data_root`` a config FILE sets over the one of its ``_base_`` files, whose datasets still
    read the base's root (their paths were formed when the base loaded). None otherwise: a top-level value that only
    disagrees with per-dataset roots (e.g. a dump after ``<loop>.dataset.data_root`` overrides) is not a request
    to move the data, so nothing is guessed from it."""
    path, top = cfg.filename, cfg.get('data_root')
    if not (path and osp.isfile(path) and path.endswith('.py') and isinstance(top, str) and top.strip()):
        return None
    try:
        tree = ast.parse(open(path, encoding='utf-8').read())
    except (OSError, SyntaxError, ValueError):
        return None
    assigned = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}
    if 'data_root' not in assigned or '_base_' not in assigned:
        return None
    try:
        bases = ast.literal_eval(assigned['_base_'])
    except ValueError:
        return None
    base_root = None
    for base in [bases] if isinstance(bases, str) else list(bases):
        base_path = osp.join(osp.dirname(path), base) if isinstance(base, str) else ''
        if osp.isfile(base_path):
            base_root = Config.fromfile(base_path).get('data_root', base_root)
    if isinstance(base_root, str) and (osp.normpath(base_root) == osp.normpath(top)
                                       or osp.normpath(base_root) not in _data_roots(cfg)):
        return None   # the same root, or the datasets no longer read the base's (the child or an override moved them)
    return top   # several dataset roots and no base root to tell which: apply_data_root refuses, naming them


def apply_options(cfg: Config, cfg_options: dict | None = None, data_root: str | None = None,
                  check: bool = False) -> None:
    """The one way options reach a loaded config (``prepare_config`` for train/test, ``init_model`` for inference):
    the data root first (``data_root``, else ``data_root=`` in ``cfg_options``, else a top-level ``data_root`` that
    a child config set over its base's datasets), moved by :func:`apply_data_root`; then the other options, each of
    which must change something (:func:`check_override_keys`); ``check``: the Runner-key checks
    (:func:`check_config_keys`); last what follows from them (:func:`complete_config`)."""
    options = dict(cfg_options or {})
    source = '--data-root'
    if 'data_root' in options:
        given = options.pop('data_root')
        if data_root is not None and given != data_root:
            raise ConfigKeyError(f'--data-root {data_root} and --cfg-options data_root={given} disagree; give one')
        data_root, source = (given, '--cfg-options data_root') if data_root is None else (data_root, source)
    if data_root is None:   # ``_base_ = [...]; data_root = '/my/coco/'``: the user means the datasets' root
        top = child_data_root(cfg)
        if top is not None:
            data_root, source = top, f'data_root = {top!r} of config {cfg.filename}'
    if data_root is not None:
        apply_data_root(cfg, data_root, source)
    if options:
        check_override_keys(cfg, options)
        apply_overrides(cfg, options)
    roots = _data_roots(cfg)   # per-dataset overrides: the top-level value follows, so a dump of cfg reloads the same
    if isinstance(cfg.get('data_root'), str) and len(roots) == 1 and osp.normpath(cfg['data_root']) != roots[0]:
        cfg['data_root'] = roots[0]
    if check:
        check_config_keys(cfg)
    complete_config(cfg)


def prepare_config(config: str | dict | Config, work_dir: str | None = None, amp: bool = False,
                   amp_dtype: str | None = None, resume: bool | str = False, launcher: str = 'none',
                   cfg_options: dict | None = None, tensorboard: bool = False, data_root: str | None = None,
                   checkpoint: Any = None) -> Config:
    """Load a config (path / dict / Config, or a zoo alias: its entry's config) and apply command-line choices:
    the settings a zoo ``checkpoint`` alias was trained with first (:func:`hrvision.zoo.apply_entry_options`), so
    the user's options override them; ``data_root`` (``--data-root``, or ``data_root=`` in ``cfg_options``)
    (:func:`apply_data_root`), then the other ``cfg_options``, each of which must change something
    (:func:`check_override_keys`); then what follows from them (:func:`complete_config`). A zoo alias's weights
    with another config file than its entry's are said on stderr (:func:`hrvision.zoo.note_other_config`)."""
    from ..zoo import apply_entry_options, note_other_config, resolve_config
    note_other_config(config, checkpoint)
    aliases = (config, checkpoint)
    config = resolve_config(config)
    if isinstance(config, Config):
        cfg = config
    elif isinstance(config, dict):
        cfg = Config(config)
    else:
        cfg = load_config_file(config)
    apply_entry_options(cfg, *aliases)
    apply_options(cfg, cfg_options, data_root, check=True)
    cfg.setdefault('default_scope', 'hrvision')
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(cfg.filename))[0] if cfg.filename else 'run'
        cfg.work_dir = osp.join('work_dirs', name)
    if amp:
        apply_amp(cfg, amp_dtype)
    if resume:
        cfg.resume = True
        if isinstance(resume, str):
            cfg.load_from = resume
    check_launcher(launcher)
    cfg.launcher = launcher
    apply_pin_memory(cfg)
    if tensorboard:
        from .tensorboard import enable_tensorboard
        enable_tensorboard(cfg)
    return cfg


def build_runner(cfg: Config):
    """``HRVRunner.from_cfg`` (strict weight loading, resume fallback) with hrvision's fixes installed."""
    from mmengine.registry import init_default_scope

    import hrvision.engine  # noqa: F401  (registers hooks, optimiser wrappers)
    from .loading import HRVRunner
    from .runner_startup import install_runner_startup_fixes
    install_checkpoint_fixes()
    install_runner_startup_fixes()
    init_default_scope(cfg.get('default_scope', 'hrvision'))
    setup_distributed(cfg)
    complete_config(cfg)   # (again: it fills only what is missing) a config built without prepare_config too
    runner = HRVRunner.from_cfg(cfg)
    from .hooks import SafeCheckpointHook
    if not any(isinstance(h, SafeCheckpointHook) for h in runner.hooks):
        runner.register_hook(SafeCheckpointHook())
    if not any(isinstance(h, BNStatsSyncHook) for h in runner.hooks):
        runner.register_hook(BNStatsSyncHook())   # several processes: the statistics of 1 (a no-op with one)
    from .model import DatasetMetaCheckHook
    runner.register_hook(DatasetMetaCheckHook())   # metadata vs head (check_dataset_meta) before any iteration
    return runner


class TrainingInterrupted(Exception):
    """Ctrl-C during ``train``: the message says where the last complete checkpoint is."""


def train(config: Any, **kwargs: Any):
    """Train from a config; returns the Runner (its ``model`` is the trained model).

    Ctrl-C raises :class:`TrainingInterrupted` naming the last checkpoint (``last_checkpoint`` points at it,
    so ``--resume`` continues from there); a checkpoint being written is finished first, never left half.
    Under a launcher, the process group hrvision created is destroyed at the end.
    """
    from ..lock import lock_work_dir
    done, lock = False, None
    try:
        cfg = prepare_config(config, **kwargs)
        lock = lock_work_dir(cfg.work_dir)   # a second run on this work dir is refused, naming this one's pid
        runner = build_runner(cfg)
        try:
            runner.train()
        except Exception as e:
            if not caused_by_ctrl_c(e):  # Ctrl-C that a library re-raised as its own error counts as Ctrl-C
                raise
            _interrupted(runner)
        except KeyboardInterrupt:
            _interrupted(runner)
        done = True
    finally:
        release_process_group(success=done)
        if lock is not None:
            lock.release()
    return runner


def _interrupted(runner) -> None:
    from .loading import record_last_checkpoint
    last = record_last_checkpoint(runner.work_dir)
    where = (f'last checkpoint: {last} (continue with --resume)' if last
             else f'no checkpoint was written yet in {runner.work_dir}')
    raise TrainingInterrupted(f'interrupted at iteration {runner.iter + 1}; {where}') from None  # 1-based, as iter_N.pth


def test(config: Any, checkpoint: str, allow_partial: bool = False, **kwargs: Any) -> dict:
    """Evaluate ``checkpoint`` (a file or a zoo alias) with the config's test loop; returns the metrics.

    The weights go in through :func:`hrvision.load_weights`: a checkpoint that leaves any tensor of the model
    unset is refused unless ``allow_partial`` (or the config's ``allow_partial_load``). A zoo alias's training
    settings enter the config in :func:`prepare_config` (before the user's options): a ``Config`` passed in is taken
    as prepared that way (``prepare_config(..., checkpoint=ALIAS)``)."""
    cfg = prepare_config(config, checkpoint=None if isinstance(config, Config) else checkpoint, **kwargs)
    if cfg.get('test_cfg') is None or cfg.get('test_evaluator') is None:
        raise ConfigKeyError(f'config {cfg.filename or "<dict>"} has no test loop (test_cfg / test_evaluator are '
                             'None): its evaluation is another command (see the config\'s header)')
    from ..zoo import resolve_checkpoint
    cfg.load_from = resolve_checkpoint(checkpoint)   # a zoo alias: its verified, converted file
    cfg.resume = False
    if allow_partial:
        cfg.allow_partial_load = True
    done = False
    try:
        metrics = build_runner(cfg).test()
        done = True
    finally:
        release_process_group(success=done)   # the process group hrvision created, if any
    return metrics


__all__ = ['child_data_root', 'prepare_config', 'apply_options', 'complete_config', 'apply_data_root', 'check_override_keys', 'CODE_KEYS',
           'code_keys', 'loader_datasets', 'loader_transforms', 'build_runner', 'train', 'test', 'check_config_keys', 'TrainingInterrupted']
