"""What mmengine's Runner does at each start, done once per process.

* ``Config.pretty_text`` formats the config's text with yapf each time it is read: a run reads it for the log, the
  dumped config, the runtime info and every checkpoint's metadata (six or more times, about 0.6 s each for a task
  config on this project's CPUs: half of a short run). yapf is a pure function of its input, so the same text with
  the same style is formatted once and the result reused.
* ``collect_env`` (the environment table at the top of each log) starts a compiler to read its version and imports
  torchvision to read its version (1.5-2.5 s: torchvision loads all its models). The table is the same for every
  runner of a process but its numpy seed: it is collected once (the seed read again each time), torchvision's
  version read from its installed metadata.
"""
from __future__ import annotations

import functools
import importlib.metadata
import sys
import types

_INSTALLED = False


def _format_once(yapf_format):
    @functools.lru_cache(maxsize=32)
    def formatted(text: str, style: tuple, kwargs: tuple):
        return yapf_format(text, style_config=dict(style), **dict(kwargs))

    def format_code(text, style_config=None, **kwargs):
        if isinstance(style_config, dict):
            try:
                return formatted(text, tuple(sorted(style_config.items())), tuple(sorted(kwargs.items())))
            except TypeError:   # a style value that cannot be a cache key: format as before
                pass
        return yapf_format(text, style_config=style_config, **kwargs)
    return format_code


def _collect_once(collect_env):
    @functools.lru_cache(maxsize=1)
    def collected() -> dict:
        if 'torchvision' in sys.modules:
            return collect_env()
        try:
            version = importlib.metadata.version('torchvision')
        except importlib.metadata.PackageNotFoundError:
            return collect_env()   # (it leaves torchvision out)
        stand_in = types.ModuleType('torchvision')   # only its version is read
        stand_in.__version__ = version
        sys.modules['torchvision'] = stand_in
        try:
            return collect_env()
        finally:
            if sys.modules.get('torchvision') is stand_in:
                del sys.modules['torchvision']

    def collect_env_once() -> dict:
        env = dict(collected())
        if 'numpy_random_seed' in env:   # the one entry that changes: this runner's seed (its first state word)
            import numpy as np
            env['numpy_random_seed'] = np.random.get_state()[1][0]
        return env
    return collect_env_once


def install_runner_startup_fixes() -> None:
    """Memoise mmengine's yapf call and the Runner's environment table (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    import mmengine.config.config as config_mod
    import mmengine.runner.runner as runner_mod
    config_mod.FormatCode = _format_once(config_mod.FormatCode)
    runner_mod.collect_env = _collect_once(runner_mod.collect_env)
    _INSTALLED = True
