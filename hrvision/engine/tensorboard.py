"""TensorBoard as a switch: ``hrvision train CONFIG --tensorboard``.

:func:`enable_tensorboard` adds mmengine's ``TensorboardVisBackend`` beside the config's backends (the
scalars mmengine logs reach it) and :class:`PredictionPicturesHook`, which sends the pictures the
metrics draw (segmentation panels, detection / pose overlays, the face CED plot, multi-task pictures)
to every backend after each validation and test. During training validation, a metric with an unset
``out_dir`` is given ``<log dir>/pictures/iter_<N>`` for that validation, so it draws at all.
Events go to ``<work dir>/<timestamp>/vis_data/`` (``tensorboard --logdir <work dir>``).
"""
from __future__ import annotations

import os
import os.path as osp
import time

from mmengine.hooks import Hook

from ..errors import OptionError
from ..registry import HOOKS

BACKEND = 'TensorboardVisBackend'
SKIP_DIRS = ('labelIds', 'masks')   # label-id / mask PNGs are data for programs, not pictures


def enable_tensorboard(cfg) -> None:
    """Add the TensorBoard backend and the pictures hook to ``cfg`` (idempotent)."""
    try:
        import tensorboard  # noqa: F401  (torch.utils.tensorboard needs it)
    except ImportError:
        raise OptionError('--tensorboard needs the tensorboard package: pip install "hrvision[tensorboard]" '
                          '(or pip install tensorboard)') from None
    vis = cfg.get('visualizer') or dict(type='Visualizer', name='visualizer')
    backends = list(vis.get('vis_backends') or [dict(type='LocalVisBackend')])
    if not any(b.get('type') == BACKEND for b in backends):
        backends.append(dict(type=BACKEND))
    vis['vis_backends'] = backends
    cfg['visualizer'] = vis
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') == 'PredictionPicturesHook' for h in hooks):
        hooks.append(dict(type='PredictionPicturesHook'))
    cfg['custom_hooks'] = hooks


def _metrics(evaluator) -> list:
    out = []
    for m in getattr(evaluator, 'metrics', []):
        out.append(m)
        out.extend(_metrics(m))   # wrappers (multi-task) hold their own metrics
    return out


@HOOKS.register_module()
class PredictionPicturesHook(Hook):
    """Send the PNG pictures the metrics wrote during an evaluation to the visualizer's backends.

    Args:
        max_images: at most this many pictures per evaluation (panels first).
        val_pictures: give metrics without ``out_dir`` a folder during training validation.
    """

    priority = 'LOW'

    def __init__(self, max_images: int = 8, val_pictures: bool = True) -> None:
        self.max_images = max_images
        self.val_pictures = val_pictures
        self._dirs: list[str] = []
        self._given: list = []
        self._t0 = 0.0

    def _before(self, runner, loop, give: bool) -> None:
        self._dirs, self._given, self._t0 = [], [], time.time() - 1.0
        for m in _metrics(loop.evaluator):
            if not hasattr(m, 'out_dir'):
                continue
            if m.out_dir is None and give:
                m.out_dir = osp.join(runner.log_dir, 'pictures', f'iter_{runner.iter}')
                self._given.append(m)
            if m.out_dir:
                self._dirs.append(m.out_dir)

    def _after(self, runner, mode: str) -> None:
        files = []
        for d in dict.fromkeys(self._dirs):
            for root, dirs, names in os.walk(d):
                dirs[:] = [x for x in dirs if x not in SKIP_DIRS]
                files += [osp.join(root, n) for n in names if n.endswith('.png')
                          and osp.getmtime(osp.join(root, n)) >= self._t0]
        files.sort(key=lambda p: ('panel' not in p, p))
        from ..data.io import read_image
        for path in files[: self.max_images]:
            name = osp.splitext(osp.basename(path))[0]
            runner.visualizer.add_image(f'{mode}/{name}', read_image(path), step=runner.iter)
        for m in self._given:
            m.out_dir = None

    def before_val_epoch(self, runner) -> None:
        self._before(runner, runner.val_loop, self.val_pictures)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._after(runner, 'val')

    def before_test_epoch(self, runner) -> None:
        self._before(runner, runner.test_loop, False)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._after(runner, 'test')
