"""Config checks before the Runner is built, so a config mistake is one line naming the file, line or key.

mmengine reports a syntax error without the file (``<unknown>``), silently adds a misspelt nested
``--cfg-options`` key (which then fails deep inside a constructor, or is ignored), and accepts
``max_iters=0`` (trains and saves nothing). These helpers are called by
:func:`hrvision.engine.runner.prepare_config` / :func:`~hrvision.engine.runner.check_config_keys`.
"""
from __future__ import annotations

import ast
import difflib
import inspect
import os.path as osp
import sys
import traceback
from typing import Any

from mmengine.config import Config

from ..checks import check_int
from ..errors import ConfigError, ConfigKeyError, HRVisionError, MissingFileError, did_you_mean, one_line

CONFIG_SUFFIXES = ('.py', '.yaml', '.yml', '.json')


def _base_files(path: str) -> list[str]:
    """The ``_base_`` files a python config names (literal strings only), resolved beside it."""
    try:
        tree = ast.parse(open(path, encoding='utf-8').read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                return []
            bases = [bases] if isinstance(bases, str) else list(bases)
            return [osp.join(osp.dirname(path), b) for b in bases if isinstance(b, str) and '::' not in b]
    return []


def _syntax_error_at(path: str, seen: set[str] | None = None) -> SyntaxError | None:
    """The first syntax error in ``path`` or its ``_base_`` files, with the real file name."""
    seen = seen if seen is not None else set()
    path = osp.abspath(path)
    if path in seen or not path.endswith('.py') or not osp.isfile(path):
        return None
    seen.add(path)
    try:
        source = open(path, encoding='utf-8').read()
        compile(source, path, 'exec', dont_inherit=True)
    except SyntaxError as e:
        return e
    except (OSError, UnicodeDecodeError, ValueError) as e:
        err = SyntaxError(f'not readable as Python text ({e})')
        err.filename, err.lineno = path, None
        return err
    for base in _base_files(path):
        found = _syntax_error_at(base, seen)
        if found:
            return found
    return None


def _user_frame_line(exc: BaseException) -> str:
    """``' (file F, line N)'`` for the innermost traceback frame outside Python / site-packages."""
    skip = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix, osp.dirname(osp.dirname(osp.abspath(__file__)))})
    for fr in reversed(traceback.extract_tb(exc.__traceback__)):
        name = fr.filename or ''
        if name.startswith('<') or 'site-packages' in name or name.startswith(skip) or '/mmengine/' in name:
            continue
        return f' ({name}, line {fr.lineno})'
    return ''


def load_config_file(path: Any) -> Config:
    """``Config.fromfile`` with errors that name the file and line (and say what a config is)."""
    if not isinstance(path, (str, bytes)) and not hasattr(path, '__fspath__'):
        raise ConfigError(f'config must be a file path, dict or Config, got {type(path).__name__}')
    path = str(path)
    if osp.isdir(path):
        raise MissingFileError(f'config {path} is a folder; expected a config file ({", ".join(CONFIG_SUFFIXES)})')
    if not osp.isfile(path):
        raise MissingFileError(f'config file not found: {path}')
    if not path.endswith(CONFIG_SUFFIXES):
        raise ConfigError(f'config {path}: expected an mmengine config file ({", ".join(CONFIG_SUFFIXES)}), '
                          f'got {osp.splitext(path)[1] or "a file without suffix"!r}')
    try:
        return Config.fromfile(path)
    except SyntaxError:
        e = _syntax_error_at(path)
        if e is None:
            raise
        where = f'{"" if e.filename == osp.abspath(path) else e.filename + ", "}line {e.lineno}' if e.lineno \
            else e.filename
        raise ConfigError(f'config {path}: syntax error at {where}: {e.msg}'
                          + (f': {e.text.strip()}' if e.text and e.text.strip() else '')) from None
    except HRVisionError:
        raise
    except Exception as e:  # noqa: BLE001  (anything the config's own code or the parser raised)
        mark = getattr(e, 'problem_mark', None)  # yaml
        line = getattr(e, 'lineno', None)       # json
        where = (f' (line {mark.line + 1})' if mark is not None else f' (line {line})' if line
                 else _user_frame_line(e))
        raise ConfigError(f'config {path} cannot be read{where}: {type(e).__name__}: {one_line(e)}') from e


def _key_path(parts: list[str]) -> str:
    return '.'.join(parts)


def check_overrides(cfg: Config, options: dict) -> None:
    """Each ``--cfg-options`` key: a nested key close to an existing one is a typo (did-you-mean);
    going through a value that is not a dict / list is an error. New keys are allowed."""
    for full_key in options:
        parts = str(full_key).split('.')
        node: Any = cfg._cfg_dict  # the ConfigDict behind the Config
        for depth, part in enumerate(parts):
            here = _key_path(parts[:depth]) or '<top level>'
            if isinstance(node, (list, tuple)):
                if not (part.isdigit() and int(part) < len(node)):
                    raise ConfigKeyError(f'--cfg-options {full_key}: {here} is a list of {len(node)} items; '
                                         f'expected an index 0..{len(node) - 1}, got {part!r}')
                node = node[int(part)]
                continue
            if not isinstance(node, dict):
                raise ConfigKeyError(f'--cfg-options {full_key}: {here} is {one_line(repr(node), 60)} '
                                     f'({type(node).__name__}), not a dict with a key {part!r}')
            if part in node:
                node = node[part]
                continue
            if depth > 0:  # top-level keys are checked against the Runner's settings (check_config_keys)
                close = difflib.get_close_matches(part, [str(k) for k in node], n=1, cutoff=0.8)
                if close:
                    raise ConfigKeyError(f'--cfg-options {full_key}: {here} has no key {part!r}; did you mean '
                                         f'{_key_path(parts[:depth] + close)!r}? (keys there: '
                                         f'{one_line(", ".join(sorted(map(str, node))), 200)})')
            break


def apply_overrides(cfg: Config, options: dict) -> None:
    """Check, then merge ``--cfg-options`` into ``cfg`` (mmengine's merge errors name the option)."""
    check_overrides(cfg, options)
    try:
        cfg.merge_from_dict(options)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ConfigError(f'--cfg-options {", ".join(map(str, options))} cannot be applied: {one_line(e)}') from e


def _signature_keys(obj: Any) -> tuple[set[str], set[str]] | None:
    """(accepted keyword names, required names) of a class / factory, or None when it takes ``**kwargs``."""
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    required = {p.name for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, required


def check_kwargs(where: str, obj: Any, keys: set[str], injected: tuple[str, ...] = (),
                 filled: tuple[str, ...] = ()) -> None:
    """Config keys for ``obj(**keys)``: unknown keys get a did-you-mean, missing required ones are named
    (``filled``: keys the builder may take from the shape contract, optional here)."""
    sig = _signature_keys(obj)
    if sig is None:
        return
    names, required = sig
    names -= set(injected)
    for key in sorted(keys - names - {'type'}):
        raise ConfigKeyError(f'{where} ({getattr(obj, "__name__", obj)}) has no option {key!r}'
                             f'{did_you_mean(key, names) or "."} Options: {", ".join(sorted(names))}')
    missing = sorted(required - set(injected) - set(filled) - keys)
    if missing:
        raise ConfigKeyError(f'{where} ({getattr(obj, "__name__", obj)}) needs {", ".join(map(repr, missing))}')


def _check_loops(cfg: Config, src: str) -> None:
    import mmengine.runner  # noqa: F401  (registers the loops)
    from mmengine.registry import LOOPS
    injected = {'train_cfg': ('runner', 'dataloader'), 'val_cfg': ('runner', 'dataloader', 'evaluator'),
                'test_cfg': ('runner', 'dataloader', 'evaluator')}
    for key, inj in injected.items():
        loop = cfg.get(key)
        if loop is None:
            continue
        if not isinstance(loop, dict):
            raise ConfigError(f'config {src}: {key} must be a dict (e.g. dict(type=...)), '
                              f'got {one_line(repr(loop), 80)}')
        loop = dict(loop)
        if isinstance(loop.get('type'), str):
            cls = LOOPS.get(loop['type'])
            if cls is None:
                known = ['IterBasedTrainLoop', 'EpochBasedTrainLoop', 'ValLoop', 'TestLoop']
                raise ConfigKeyError(f'config {src}: {key}.type {loop["type"]!r} is not a known loop'
                                     f'{did_you_mean(loop["type"], known) or "."}')
            check_kwargs(f'config {src}: {key}', cls, set(loop), inj)
        for name in ('max_iters', 'max_epochs', 'val_interval'):
            if name in loop:
                _positive(f'config {src}: {key}.{name}', loop[name])


def _positive(where: str, value: Any) -> None:
    try:
        check_int(where, value, low=1)
    except HRVisionError as e:
        raise type(e)(f'{e} (a positive integer; 0 would train and save nothing)'
                      if 'max_' in where else str(e)) from None


def _check_dataloaders(cfg: Config, src: str) -> None:
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg.get(key)
        if dl is None:
            continue
        if not isinstance(dl, dict):
            raise ConfigError(f'config {src}: {key} must be a dict, got {one_line(repr(dl), 80)}')
        if 'batch_size' in dl:
            check_int(f'config {src}: {key}.batch_size', dl['batch_size'], low=1)
        if 'num_workers' in dl:
            check_int(f'config {src}: {key}.num_workers', dl['num_workers'], low=0)


def _check_model(cfg: Config, src: str) -> None:
    from ..registry import MODELS
    model = cfg.get('model')
    if not isinstance(model, dict):
        if model is not None and not hasattr(model, 'forward'):
            raise ConfigError(f'config {src}: model must be a dict (dict(type=..., ...)), '
                              f'got {one_line(repr(model), 80)}')
        return
    if 'type' not in model:
        raise ConfigKeyError(f'config {src}: model has no "type" (the model class, e.g. SegmentationModel)')
    cls = _lookup(MODELS, model['type'], f'config {src}: model.type')
    if cls is None:
        return
    check_kwargs(f'config {src}: model', cls, set(model))
    for sub in ('backbone', 'neck', 'head', 'data_preprocessor'):
        part = model.get(sub)
        if isinstance(part, dict) and 'type' in part:
            sub_cls = _lookup(MODELS, part['type'], f'config {src}: model.{sub}.type')
            if sub_cls is not None:
                # task models fill neck/head inputs from the backbone's output_shape() (hrvision.shape)
                check_kwargs(f'config {src}: model.{sub}', sub_cls, set(part),
                             filled=('in_channels',) if sub in ('neck', 'head') else ())


def _lookup(registry, obj_type: Any, where: str):
    """The registered class for a string type (error with did-you-mean when unknown); None for non-strings."""
    if not isinstance(obj_type, str):
        return None
    try:
        registry.check_type(obj_type, where)
    except HRVisionError as e:
        raise ConfigKeyError(str(e)) from None
    return registry.get(obj_type)


def _component_types(cfg: Config):
    """``(where, registry, type)`` of the components the Runner builds from the config (first level only)."""
    from .. import registry as R
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg.get(key)
        if not isinstance(dl, dict):
            continue
        if isinstance(dl.get('sampler'), dict):
            yield f'{key}.sampler.type', R.DATA_SAMPLERS, dl['sampler'].get('type')
        ds = dl.get('dataset')
        if isinstance(ds, dict):
            yield f'{key}.dataset.type', R.DATASETS, ds.get('type')
            for i, t in enumerate(ds.get('pipeline') or []):
                if isinstance(t, dict):
                    yield f'{key}.dataset.pipeline[{i}].type', R.TRANSFORMS, t.get('type')
    for key in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(key)
        for i, m in enumerate(ev if isinstance(ev, (list, tuple)) else [ev]):
            if isinstance(m, dict) and m.get('type') != 'Evaluator':
                yield f'{key}.type' if isinstance(ev, dict) else f'{key}[{i}].type', R.METRICS, m.get('type')
    ow = cfg.get('optim_wrapper')
    if isinstance(ow, dict):
        yield 'optim_wrapper.type', R.OPTIM_WRAPPERS, ow.get('type')
        if isinstance(ow.get('optimizer'), dict):
            yield 'optim_wrapper.optimizer.type', R.OPTIMIZERS, ow['optimizer'].get('type')
    ps = cfg.get('param_scheduler')
    for i, sch in enumerate(ps if isinstance(ps, (list, tuple)) else [ps]):
        if isinstance(sch, dict):
            yield f'param_scheduler[{i}].type', R.PARAM_SCHEDULERS, sch.get('type')
    for name, hook in (cfg.get('default_hooks') or {}).items():
        if isinstance(hook, dict):
            yield f'default_hooks.{name}.type', R.HOOKS, hook.get('type')
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        if isinstance(hook, dict):
            yield f'custom_hooks[{i}].type', R.HOOKS, hook.get('type')


def _check_component_types(cfg: Config, src: str) -> None:
    """Unknown dataset / transform / metric / optimizer / hook types: did-you-mean before anything is built."""
    import mmengine.dataset  # noqa: F401  (register mmengine's own components, as the Runner does)
    import mmengine.hooks  # noqa: F401
    import mmengine.optim  # noqa: F401
    import mmengine.runner  # noqa: F401

    import hrvision.engine  # noqa: F401
    for where, registry, obj_type in _component_types(cfg):
        if isinstance(obj_type, str) and '.' not in obj_type:  # scoped names belong to other packages
            _lookup(registry, obj_type, f'config {src}: {where}')


def check_config_values(cfg: Config) -> None:
    """Loops (keys, positive iterations), dataloader sizes, model keys and the types of every component."""
    src = cfg.filename or '<dict>'
    for key in ('optim_wrapper', 'default_hooks', 'env_cfg', 'visualizer', 'log_processor'):
        if cfg.get(key) is not None and not isinstance(cfg.get(key), dict):
            raise ConfigError(f'config {src}: {key} must be a dict, got {one_line(repr(cfg.get(key)), 80)}')
    if cfg.get('work_dir') is not None and not isinstance(cfg.get('work_dir'), str):
        raise ConfigError(f'config {src}: work_dir must be a folder path (str), got {cfg.get("work_dir")!r}')
    _check_loops(cfg, src)
    _check_dataloaders(cfg, src)
    if cfg.get('custom_imports'):  # types registered by those imports are not known yet
        return
    _check_model(cfg, src)
    _check_component_types(cfg, src)
