"""The Runner with one strict way to put weights into the model.

mmengine's ``Runner.load_checkpoint`` (used by ``load_from``, ``hrvision test`` and ``--resume``) only strips
``module.`` and loads leniently: a checkpoint in another layout, of another width or of another network
left the model at random values with a log warning. :class:`HRVRunner` loads through
:func:`hrvision.load_weights` instead (format detection, key mapping, the report): a load that leaves any
tensor unset is refused unless the config sets ``allow_partial_load=True`` (the report is then printed);
``--resume`` is always exact (no missing and no unexpected key). Auto-resume takes the checkpoint that
``last_checkpoint`` names, or, when that is empty or unreadable, the newest one in the work dir that reads.
"""
from __future__ import annotations

import collections
import os
import os.path as osp

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from ..weights import CheckpointError, load_weights
from ..atomic import atomic_write_text
from ..atomic import defer_sigint
from .checkpoint import _iter_number, clean_stale_temp_files, resume_candidates


def _refuse_reordered(filename):
    """``--resume`` of a checkpoint of an earlier layout whose parameters come in another order is refused before
    its weights enter the model: the optimizer state follows the order and would go to other parameters."""
    def check(report) -> None:
        if report.renamed and not report.order_kept:
            k, n = next(iter(report.renamed.items()))
            raise CheckpointError(f'{filename}: --resume cannot continue a checkpoint of an earlier layout '
                                  f'({"; ".join(report.layouts)}; e.g. {k} -> {n}) whose parameter order differs '
                                  'from this model\'s: its optimizer state would go to other parameters; start from '
                                  'its weights with load_from instead')
    return check


class HRVRunner(Runner):
    """``Runner`` whose checkpoint loads are strict and reported (see the module docstring)."""

    _names: collections.Counter = collections.Counter()   # runners built in this process, per experiment name

    def __init__(self, *args, **kwargs):
        # test_cfg and test_evaluator None with a test_dataloader: no test loop, the loader only holds the test
        # pipeline inference reads (mmengine wants the three all set or all None)
        if kwargs.get('test_cfg') is None and kwargs.get('test_evaluator') is None:
            kwargs['test_dataloader'] = None
        # mmengine names a run <name>_<second>: the second runner of a name in this process gets <name>_2, ... so
        # that runners started in the same second do not share one (see build_logger)
        cfg = kwargs.get('cfg')
        filename = getattr(cfg, 'filename', None) if cfg is not None else None
        name = kwargs.get('experiment_name') or (osp.splitext(osp.basename(filename))[0] if filename else None)
        if name:
            HRVRunner._names[name] += 1
            if HRVRunner._names[name] > 1:
                kwargs['experiment_name'] = f'{name}_{HRVRunner._names[name]}'
        super().__init__(*args, **kwargs)

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        """mmengine names a run's logger, message hub and visualizer ``<config>_<second>``, and returns the existing
        one for a name already taken: two runners of one config started in the same second in one process (the
        ablation commands run four) would share one log file, one message hub, and the work dir that pose metrics
        derive from the log file (each variant's results written into the first one's folder). A taken name gets a
        suffix (``_2``, ``_3``, ...), before any of the three is built (``__init__`` numbers a process's runners
        of one name already; this is for a name taken otherwise)."""
        from mmengine.logging import MMLogger
        base, n = self._experiment_name, 1
        while MMLogger.check_instance_created(self._experiment_name):
            n += 1
            self._experiment_name = f'{base}_{n}'
        return super().build_logger(log_level=log_level, log_file=log_file, **kwargs)

    def build_visualizer(self, visualizer=None):
        """The same for a visualizer the config names (``default_runtime.py``: ``name='visualizer'``): a name
        another runner holds would hand this run that runner's visualizer, writing its scalars into that run's
        folder; it takes this run's (unique) experiment name instead."""
        if isinstance(visualizer, dict) and visualizer.get('name') is not None:
            from mmengine.registry import VISUALIZERS
            cls = VISUALIZERS.get(visualizer.get('type', 'Visualizer'))
            if cls is not None and hasattr(cls, 'check_instance_created') and \
                    cls.check_instance_created(visualizer['name']):
                visualizer = dict(visualizer, name=self._experiment_name)
        return super().build_visualizer(visualizer)

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = False, revise_keys=None):
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        partial = bool(self.cfg.get('allow_partial_load', False)) and not self._resume
        report = load_weights(model, checkpoint, strict=strict or self._resume, allow_partial=partial,
                              name=str(filename), before_load=_refuse_reordered(filename) if self._resume else None)
        if report.missing_keys:
            self.logger.warning(f'partial load (allow_partial_load=True):\n{report}')
        else:
            self.logger.info(str(report))
        self._has_loaded = True
        return checkpoint

    def load_or_resume(self) -> None:
        if self._has_loaded or not (self._resume and self._load_from is None):
            return super().load_or_resume()
        tried = []
        for path in resume_candidates(self.work_dir):
            try:
                self.resume(path)
            except (CheckpointError, FileNotFoundError) as e:
                tried.append(path)
                self.logger.warning(f'cannot resume from {path}: {e}')
                continue
            if tried:
                self.logger.warning(f'resumed from {path}: the newest checkpoint in {self.work_dir} that reads '
                                    f'(skipped {", ".join(tried)})')
            else:
                self.logger.info(f'resumed from {path}')
            self._has_loaded = True
            return None
        if tried:
            raise CheckpointError(f'--resume: no checkpoint in {self.work_dir} can be read (tried '
                                  f'{", ".join(tried)})')
        self.logger.info(f'--resume: no checkpoint in {self.work_dir} yet; training starts at iteration 0')

    def save_checkpoint(self, *args, **kwargs):
        """Ctrl-C while a checkpoint is assembled (mmengine formats the config into it) or written acts once
        the file is complete; before, a Ctrl-C inside the config formatter surfaced as a bogus SyntaxError."""
        with defer_sigint():
            return super().save_checkpoint(*args, **kwargs)

    def train(self):
        for path in clean_stale_temp_files(self.work_dir):
            self.logger.warning(f'removed {path}: a checkpoint write that a killed run left unfinished')
        return super().train()


def newest_checkpoint(work_dir: str) -> str | None:
    """The highest-iteration ``iter_N.pth`` / ``epoch_N.pth`` in ``work_dir`` (complete: writes are atomic)."""
    found = [p for p in resume_candidates(work_dir) if osp.isfile(p) and _iter_number(p) >= 0]
    return max(found, key=_iter_number) if found else None


def record_last_checkpoint(work_dir: str) -> str | None:
    """Point ``last_checkpoint`` at the newest checkpoint (after Ctrl-C); returns its path."""
    path = newest_checkpoint(work_dir)
    if path is not None:
        atomic_write_text(osp.join(work_dir, 'last_checkpoint'), os.path.abspath(path))
    return path
