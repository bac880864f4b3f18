"""mmengine child registries under the ``hrvision`` scope.

One child per mmengine root (the mmpose/mmdet pattern): the Runner searches mmengine's roots,
and with ``default_scope='hrvision'`` it descends into these children. ``locations`` are
imported lazily on the first build/get, so ``import hrvision`` stays cheap.
"""
import importlib
import logging
import re
import warnings

from mmengine import registry as _root
from mmengine.registry import Registry

from .errors import UnknownNameError, did_you_mean

_MODEL_LOCATIONS = ['hrvision.backbones', 'hrvision.necks', 'hrvision.heads', 'hrvision.tasks',
                    'hrvision.engine']
_DATA_LOCATIONS = ['hrvision.tasks', 'hrvision.data']


class HRVRegistry(Registry):
    """A child registry whose ``build`` names an unknown ``type`` with a did-you-mean (mmengine's error does not).

    (Builds through mmengine's root registries, as the Runner does, keep mmengine's message; configs are
    checked for unknown model types beforehand by ``hrvision.engine.runner.check_config_keys``.)
    """

    def known_names(self) -> list[str]:
        """Names ``get`` finds from here: this registry's and its ancestors'."""
        self.import_from_location()
        names, reg = list(self.lazy), self
        while reg is not None:
            names += list(reg.module_dict)
            reg = reg.parent
        return sorted(set(names))

    @property
    def lazy(self) -> dict[str, str]:
        """Name -> the module that registers it when imported (:func:`register_lazy`)."""
        return self.__dict__.setdefault('_lazy', {})

    def check_type(self, obj_type, where: str = 'type') -> None:
        """Raise :class:`UnknownNameError` with a did-you-mean when the string ``obj_type`` is not registered."""
        if isinstance(obj_type, str) and self.get(obj_type) is None:
            raise UnknownNameError(f'{where} {obj_type!r} is not a registered {self.name} in hrvision'
                                   f'{self.suggest(obj_type) or "."}')

    def suggest(self, name: str) -> str:
        """The did-you-mean for an unknown name, in the current vocabulary: a misspelt old name (``CityscapeMetric``)
        suggests the class it now builds (``SegmentationMetric``)."""
        hint = did_you_mean(name, [*self.known_names(), *self.aliases])
        for old, new in self.aliases.items():
            if hint == did_you_mean(old, [old]):
                return did_you_mean(new, [new])
        return hint

    def build(self, cfg, *args, **kwargs):
        if isinstance(cfg, dict):
            self.check_type(cfg.get('type'))
        return super().build(cfg, *args, **kwargs)

    @property
    def aliases(self) -> dict[str, str]:
        """Deprecated registered name -> the name it now builds (see :func:`register_alias`)."""
        return self.__dict__.setdefault('_aliases', {})

    def current_name(self, name):
        """``name`` as registered now: a deprecated name's new name (no warning: building it warns), else
        ``name`` unchanged. For code that reads a config's ``type`` strings without building them."""
        if isinstance(name, str):
            self.import_from_location()
            return self.aliases.get(name, name)
        return name

    def get(self, key):
        """mmengine's ``get``, except that a deprecated name (:func:`register_alias`) returns its new class and
        warns once. Every build goes through here (mmengine's ``build_from_cfg`` calls the scope's ``get``), so an
        old config or an old checkpoint's stored config builds the new class: ``type(obj).__name__`` is the new
        name, which is what name-keyed tables (``INFERENCE``, ``DATA_CHECKS``) and config checks need."""
        if isinstance(key, str):
            self.import_from_location()
            scope, name = self.split_scope_key(key)   # 'hrvision.HRNetDetector' as well
            if name in self.aliases and scope in (None, self.scope):
                deprecated(name, self.aliases[name])
                key = self.aliases[name] if scope is None else f'{scope}.{self.aliases[name]}'
                name = self.aliases[name]
            if name in self.lazy and name not in self.module_dict and scope in (None, self.scope):
                importlib.import_module(self.lazy[name])   # registers it
        return super().get(key)


def _child(name: str, parent: Registry, locations: list[str] | None = None) -> Registry:
    return HRVRegistry(name, parent=parent, scope='hrvision', locations=locations or ['hrvision.engine'])


RUNNERS = _child('runner', _root.RUNNERS)
RUNNER_CONSTRUCTORS = _child('runner constructor', _root.RUNNER_CONSTRUCTORS)
LOOPS = _child('loop', _root.LOOPS)
HOOKS = _child('hook', _root.HOOKS)
STRATEGIES = _child('strategy', _root.STRATEGIES)
DATASETS = _child('dataset', _root.DATASETS, _DATA_LOCATIONS)
DATA_SAMPLERS = _child('data sampler', _root.DATA_SAMPLERS, _DATA_LOCATIONS)
TRANSFORMS = _child('transform', _root.TRANSFORMS, _DATA_LOCATIONS)
MODELS = _child('model', _root.MODELS, _MODEL_LOCATIONS)
MODEL_WRAPPERS = _child('model_wrapper', _root.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child('weight initializer', _root.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child('optimizer', _root.OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', _root.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor', _root.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child('parameter scheduler', _root.PARAM_SCHEDULERS)
METRICS = _child('metric', _root.METRICS, ['hrvision.tasks'])
EVALUATOR = _child('evaluator', _root.EVALUATOR, ['hrvision.tasks'])
TASK_UTILS = _child('task util', _root.TASK_UTILS, ['hrvision.codecs', 'hrvision.tasks'])
VISUALIZERS = _child('visualizer', _root.VISUALIZERS, ['hrvision.visualization'])
VISBACKENDS = _child('vis_backend', _root.VISBACKENDS)
LOG_PROCESSORS = _child('log_processor', _root.LOG_PROCESSORS)
INFERENCERS = _child('inferencer', _root.INFERENCERS)
FUNCTIONS = _child('function', _root.FUNCTIONS, _DATA_LOCATIONS)


# ---- one vocabulary: deprecated names and task kinds ----------------------------------------------------------------
# Rule (docs/ARCHITECTURE.md, Conventions): folder name = class prefix = config word = task kind. A renamed class
# keeps its old registered name as an alias that builds the new class and warns once per old name.

_WARNED: set[str] = set()


def deprecated(old: str, new: str) -> None:
    """Warn once per ``old`` name: a ``DeprecationWarning`` and one log line ``"OLD is deprecated: use NEW"``."""
    if old in _WARNED:
        return
    _WARNED.add(old)
    msg = f'{old} is deprecated: use {new}'
    warnings.warn(msg, DeprecationWarning, stacklevel=3)
    from mmengine.logging import print_log
    print_log(msg, logger='current', level=logging.WARNING)


def register_alias(registry: HRVRegistry, old: str, new) -> None:
    """Keep the registered name ``old`` building ``new`` (a class or its registered name) with a warn-once.

    The alias is not a second registration (``module_dict`` holds each class once, under its new name), so
    listings and the did-you-mean show only the new vocabulary.
    """
    new_name = new if isinstance(new, str) else new.__name__
    if old in registry.module_dict:
        raise KeyError(f'{old!r} is registered in {registry.name}; it cannot also be an alias of {new_name!r}')
    if registry.aliases.get(old, new_name) != new_name:
        raise KeyError(f'{old!r} is already an alias of {registry.aliases[old]!r} in {registry.name}')
    registry.aliases[old] = new_name


def register_lazy(registry: HRVRegistry, name: str, module: str) -> None:
    """``name`` is registered by ``module``, imported the first time ``name`` is looked up, not when its package is:
    a module whose imports cost seconds (the detection head's torchvision models: about 2.5 s) stays out of every
    command that never builds it. The module registers ``name`` itself, as usual."""
    if name not in registry.module_dict:   # (imported already: nothing to defer)
        registry.lazy[name] = module


KIND_ALIASES: dict[str, str] = {}
"""Old task kind -> its current name, filled by the tasks (:func:`register_kind_alias`; the core names no task).
Old kinds are accepted, with the warn-once, where a kind is read: ``by_kind``, the multi-task model's
``names_of_kind``, ``CocoMultiTaskDataset(tasks=...)`` values."""


def register_kind_alias(old: str, new: str) -> None:
    """A task renamed its kind (``TaskInference.kind``) from ``old`` to ``new``: keep ``old`` accepted."""
    if KIND_ALIASES.get(old, new) != new:
        raise KeyError(f'task kind {old!r} is already an alias of {KIND_ALIASES[old]!r}')
    KIND_ALIASES[old] = new


def task_kind(kind):
    """The current name of a task kind (old kinds warn once); anything else is returned unchanged."""
    if isinstance(kind, str) and kind not in KIND_ALIASES:
        load_tasks()
    if isinstance(kind, str) and kind in KIND_ALIASES:
        deprecated(f'task kind {kind!r}', repr(KIND_ALIASES[kind]))
        return KIND_ALIASES[kind]
    return kind


# ---- what tasks add to the core (the core names no task) -----------------------------------------------------------
# Each task folder registers itself when ``hrvision.tasks`` is imported (its ``__init__`` scans the folder), e.g.
# ``@register_official('pose_hrnet')`` in ``tasks/pose/official.py`` and ``@CLI_COMMANDS.register('data',
# 'synth-coco-pose', ...)`` in ``tasks/pose/cli.py``. The core only reads these tables after :func:`load_tasks`.

def load_tasks() -> None:
    """Import every task folder (``hrvision.tasks`` scans its own folder), which fills the tables below."""
    import importlib
    importlib.import_module('hrvision.tasks')


class NameTable(dict):
    """name -> object, filled by tasks at import; one name registered twice by different objects is refused."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def add(self, name, obj) -> None:
        if name in self and self[name] is not obj:
            raise KeyError(f'{self.what} {name!r} is registered twice ({self[name]!r} and {obj!r})')
        self[name] = obj

    def lookup(self, name):
        """The object registered as ``name`` (tasks loaded first); unknown names get the list and a did-you-mean."""
        if name not in self:
            load_tasks()
        if name not in self:
            raise UnknownNameError(f'unknown {self.what} {name!r}; registered: {sorted(self)}'
                                   f'{did_you_mean(str(name), list(self)) or ""}')
        return self[name]


KEY_RENAMES: list[tuple[re.Pattern, str, str]] = []
"""(pattern, replacement, layout) rules for checkpoint keys of a task's earlier layouts, tried in registration
order by :mod:`hrvision.weights` (first match only); ``layout`` names the layout in load reports. Filled by
:func:`register_key_renames` (the core names no task)."""


def register_key_renames(layout: str, *rules: tuple[str, str]) -> None:
    """A task changed its models' parameter names: ``(regex, replacement)`` rules map keys of the earlier
    ``layout`` (its description, for load reports and messages) to today's names, so old checkpoints still load."""
    for rx, repl in rules:
        rule = (re.compile(rx), repl, layout)
        if not any(r[0].pattern == rule[0].pattern for r in KEY_RENAMES):
            KEY_RENAMES.append(rule)


CONFIG_KEYS = NameTable('config key')
"""Top-level config keys a task's code reads (beside the Runner's and the core's ``CODE_KEYS``): name -> what
reads it. ``--cfg-options NAME=...`` is accepted for them. Filled by :func:`register_config_key`."""


def register_config_key(name: str, reader: str) -> None:
    """A task reads the top-level config key ``name`` (``reader``: where, for messages)."""
    if CONFIG_KEYS.get(name, reader) != reader:
        raise KeyError(f'config key {name!r} is registered twice ({CONFIG_KEYS[name]!r} and {reader!r})')
    CONFIG_KEYS[name] = reader


OFFICIAL_FAMILIES = NameTable('official MODEL.NAME')
"""Official experiment families: lower-case ``MODEL.NAME`` -> ``model_from_official(cfg) -> nn.Module``
(weights not loaded). Filled by :func:`register_official` in ``tasks/<task>/official.py``."""


def register_official(*names: str):
    """Decorator: ``model_from_official(cfg)`` builds the model of the official configs whose ``MODEL.NAME``
    (lower case) is one of ``names``."""
    def deco(fn):
        for name in names:
            OFFICIAL_FAMILIES.add(name.lower(), fn)
        return fn
    return deco


class CommandTable(NameTable):
    """Command-line sub-commands tasks add: ``(group, name) -> (help, configure)``.

    ``group`` is ``'data'`` (``hrvision data NAME``, synthetic data), ``'bench'`` (``hrvision bench NAME``),
    ``'eval'`` (``hrvision eval NAME``, scoring prediction files) or ``''`` (a top-level ``hrvision NAME``, e.g.
    ``demo``). ``configure(parser)`` adds the arguments and sets ``parser.set_defaults(func=run)``;
    ``run(args) -> int`` is the exit code.
    """

    GROUPS = ('', 'data', 'bench', 'eval')

    def register(self, group: str, name: str, help: str):
        if group not in self.GROUPS:
            raise ValueError(f'CLI group must be one of {self.GROUPS}, got {group!r}')

        def deco(configure):
            self.add((group, name), (help, configure))
            return configure
        return deco

    def group(self, group: str) -> list[tuple[str, str, object]]:
        """``(name, help, configure)`` of one group, sorted by name."""
        return [(n, h, c) for (g, n), (h, c) in sorted(self.items()) if g == group]


CLI_COMMANDS = CommandTable('command')

INFERENCE = NameTable('inference task')
"""Model class name -> ``TaskInference`` subclass (``hrvision.inference.task``): what ``hrvision.Inferencer`` and
``hrvision infer`` need from a task (loading fields, results, drawing, output files). Filled by
:func:`register_inference` in ``tasks/<task>/inference.py``."""


def _class_decorator(table: NameTable, doc: str):
    """``@decorator(*names)``: add the decorated class to ``table`` under each of ``names``."""
    def register(*names: str):
        def deco(cls):
            for name in names:
                table.add(name, cls)
            return cls
        return deco
    register.__doc__ = doc
    return register


register_inference = _class_decorator(
    INFERENCE, 'Class decorator: the ``TaskInference`` subclass serves models of these class names.')


DATA_CHECKS = NameTable('dataset check')
"""Dataset class name -> ``hrvision.data_check.DatasetCheck`` subclass: what ``hrvision data check`` counts, finds
and draws for that dataset (and, through the class hierarchy, its subclasses). Filled by
:func:`register_data_check` in ``tasks/<task>/check.py``."""


register_data_check = _class_decorator(
    DATA_CHECKS, 'Class decorator: the ``DatasetCheck`` subclass checks datasets of these class names.')
