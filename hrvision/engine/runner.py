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


def prepare_config(config: str | dict | Config, work_dir: str | None = None, amp: bool = False,
                   amp_dtype: str | None = None, resume: bool | str = False, launcher: str = 'none',
                   cfg_options: dict | None = None, tensorboard: bool = False) -> Config:
    """Load a config (path / dict / Config) and apply command-line choices."""
    if isinstance(config, Config):
        cfg = config
    elif isinstance(config, dict):
        cfg = Config(config)
    else:
        cfg = load_config_file(config)
    if cfg_options:
        apply_overrides(cfg, cfg_options)
    check_config_keys(cfg)
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
    install_checkpoint_fixes()
    init_default_scope(cfg.get('default_scope', 'hrvision'))
    setup_distributed(cfg)
    runner = HRVRunner.from_cfg(cfg)
    from .hooks import SafeCheckpointHook
    if not any(isinstance(h, SafeCheckpointHook) for h in runner.hooks):
        runner.register_hook(SafeCheckpointHook())
    if not any(isinstance(h, BNStatsSyncHook) for h in runner.hooks):
        runner.register_hook(BNStatsSyncHook())   # several processes: the statistics of 1 (a no-op with one)
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
    """Evaluate ``checkpoint`` with the config's test loop; returns the metrics.

    The weights go in through :func:`hrvision.load_weights`: a checkpoint that leaves any tensor of the model
    unset is refused unless ``allow_partial`` (or the config's ``allow_partial_load``)."""
    cfg = prepare_config(config, **kwargs)
    cfg.load_from = checkpoint
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


__all__ = ['prepare_config', 'build_runner', 'train', 'test', 'check_config_keys', 'TrainingInterrupted']
