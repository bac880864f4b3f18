"""mmengine child registries under the ``hrvision`` scope.

One child per mmengine root (the mmpose/mmdet pattern): the Runner searches mmengine's roots,
and with ``default_scope='hrvision'`` it descends into these children. ``locations`` are
imported lazily on the first build/get, so ``import hrvision`` stays cheap.
"""
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
        names, reg = [], self
        while reg is not None:
            names += list(reg.module_dict)
            reg = reg.parent
        return sorted(set(names))

    def check_type(self, obj_type, where: str = 'type') -> None:
        """Raise :class:`UnknownNameError` with a did-you-mean when the string ``obj_type`` is not registered."""
        if isinstance(obj_type, str) and self.get(obj_type) is None:
            raise UnknownNameError(f'{where} {obj_type!r} is not a registered {self.name} in hrvision'
                                   f'{did_you_mean(obj_type, self.known_names()) or "."}')

    def build(self, cfg, *args, **kwargs):
        if isinstance(cfg, dict):
            self.check_type(cfg.get('type'))
        return super().build(cfg, *args, **kwargs)


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


def register_inference(*model_classes: str):
    """Class decorator: the ``TaskInference`` subclass serves models of these class names."""
    def deco(cls):
        for name in model_classes:
            INFERENCE.add(name, cls)
        return cls
    return deco
