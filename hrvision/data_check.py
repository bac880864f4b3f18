"""``hrvision data check CONFIG [--split] [--show N --out DIR]``: read a dataset the way training reads it, before
a GPU day is spent on it.

The dataset is the config's ``<split>_dataloader.dataset``, built as the runner builds it (``prepare_config``,
the ``hrvision`` scope). The core checks what every dataset shares (the files its entries name exist; the model's
head agrees with the metadata, through ``model.check_dataset_meta`` when the model has it, else the task's cheap
config comparison) and prints counts and problems; what differs per task (what to count, which label is out of
range, how a sample looks after the training pipeline) is the task's :class:`DatasetCheck`, found in
:data:`hrvision.registry.DATA_CHECKS` by the dataset's class name (or a base class's: ``PoseTrackDataset`` is
checked as the ``CocoKeypointDataset`` it derives from). Tasks add theirs in ``tasks/<task>/check.py``
(:func:`load_checks` imports every such file).

Exit status: 2 when a problem would make training wrong (an ``error``: a missing file, a label outside the
classes, metadata contradicting the head or the data), 0 otherwise (``warning``s are printed).
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from .errors import ConfigError, HRVisionError

SPLITS = ('train', 'val', 'test')
MAX_PER_KIND = 20   # problems printed per kind; the rest are counted
MIN_HEIGHT = 192    # --show pictures smaller than this are enlarged


@dataclass
class Problem:
    """One finding: ``level`` 'error' (training would be wrong; exit 2) or 'warning'; ``kind`` groups the
    messages (e.g. 'missing_file'); ``where`` names the file (and entry / field)."""
    level: str
    kind: str
    where: str
    message: str

    def line(self) -> str:
        return f'{self.level}: {self.where}: {self.message}' if self.where else f'{self.level}: {self.message}'


@dataclass
class Report:
    """What :meth:`DatasetCheck.summarize` returns: ordered counts (name -> number or dict) and problems."""
    counts: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    def error(self, kind: str, where: str, message: str) -> None:
        self.problems.append(Problem('error', kind, where, message))

    def warning(self, kind: str, where: str, message: str) -> None:
        self.problems.append(Problem('warning', kind, where, message))


def progress(items: Sequence, what: str) -> Iterable:
    """A progress bar on stderr for long reads (hidden when stderr is not a terminal)."""
    from tqdm import tqdm
    return tqdm(items, desc=what, unit='item', file=sys.stderr, disable=None, leave=False)


def image_size(path: str) -> tuple[int, int] | None:
    """(width, height) from the image file's header (no decoding); None when unreadable."""
    from .data.io import declared_size
    try:
        with open(path, 'rb') as f:
            size = declared_size(f.read())
    except OSError:
        return None
    if size is None:   # a format Pillow does not know: decode it
        try:
            from .data.io import read_image
            h, w = read_image(path).shape[:2]
            return w, h
        except HRVisionError:
            return None
    return size


def to_image(inputs) -> np.ndarray:
    """A packed sample's ``inputs`` (3, H, W) tensor, RGB 0-255 -> HxWx3 uint8."""
    arr = inputs.detach().cpu().numpy() if hasattr(inputs, 'detach') else np.asarray(inputs)
    return np.ascontiguousarray(np.clip(arr.transpose(1, 2, 0), 0, 255).round().astype(np.uint8))


def heatmap_overlay(image: np.ndarray, heatmaps) -> np.ndarray:
    """Heatmap targets as a picture: the per-pixel maximum over the (K, h, w) targets, coloured, over the input."""
    import cv2

    from .visualization import blend
    hm = np.asarray(heatmaps.detach().cpu() if hasattr(heatmaps, 'detach') else heatmaps, np.float32)
    peak = hm.max(axis=0) if hm.ndim == 3 and len(hm) else np.zeros(image.shape[:2], np.float32)
    peak = cv2.resize(np.clip(peak, 0, 1), (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap((peak * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    return blend(image, colour, 0.5)


class DatasetCheck:
    """What a task adds to ``hrvision data check`` (subclass it in ``tasks/<task>/check.py`` and register it with
    :func:`hrvision.registry.register_data_check`).

    ``build_overrides``: dataset arguments that make it list every problem instead of stopping at the first
    (e.g. ``check_images=False``: the core then reports every missing image); applied only when the dataset's
    class takes them. ``file_fields``: data-list fields naming files that must exist.
    """

    build_overrides: dict = {}
    file_fields: tuple = ('img_path',)
    # the metadata list whose length a head's channel count must equal, and the model config keys holding it
    count_field: str = ''
    head_keys: tuple = ()

    def summarize(self, dataset, report: Report) -> None:
        """Add counts and problems (read the dataset's ``data_list`` and ``metainfo``; never module constants)."""

    def head_problems(self, model_cfg: dict, meta: dict, source: str, report: Report) -> None:
        """Compare the model config's channel counts with ``meta`` (used when the model has no
        ``check_dataset_meta``): ``head_keys`` against the length of ``meta[count_field]``."""
        names = meta.get(self.count_field) or () if self.count_field else ()
        if names:
            compare_counts(model_cfg, self.head_keys, len(names), self.count_field, source, report)

    def draw(self, sample: dict, meta: dict) -> np.ndarray:
        """One packed sample (after the training pipeline) -> an RGB picture of what the network will learn."""
        return to_image(sample['inputs'])


def config_values(cfg: Any, keys: Sequence[str], prefix: str = 'model') -> list[tuple[str, Any]]:
    """``(dotted path, value)`` of every ``keys`` entry anywhere in a (model) config."""
    found = []
    if isinstance(cfg, dict):
        for k, v in cfg.items():
            if k in keys and isinstance(v, int) and not isinstance(v, bool):
                found.append((f'{prefix}.{k}', v))
            else:
                found += config_values(v, keys, f'{prefix}.{k}')
    elif isinstance(cfg, (list, tuple)):
        for i, v in enumerate(cfg):
            found += config_values(v, keys, f'{prefix}.{i}')
    return found


def compare_counts(model_cfg: dict, keys: Sequence[str], expected: int, what: str, source: str,
                   report: Report) -> None:
    """An error for each ``keys`` value in the model config that differs from ``expected`` (the metadata's count
    of ``what``), the message naming both."""
    for path, value in config_values(model_cfg, keys):
        if value != expected:
            report.error('metadata_vs_head', path, f'{path}={value} but the dataset ({source}) has {expected} {what}')


def load_checks() -> None:
    """Import every ``tasks/<task>/check.py`` (the tasks' :class:`DatasetCheck` registrations)."""
    import importlib
    import importlib.util
    import pkgutil

    import hrvision.tasks as tasks
    for m in pkgutil.iter_modules(tasks.__path__):
        name = f'{tasks.__name__}.{m.name}.check'
        if m.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def find_check(dataset) -> DatasetCheck:
    """The registered check of the dataset's class or its nearest registered base class; else the core's."""
    from .registry import DATA_CHECKS
    load_checks()
    for cls in type(dataset).__mro__:
        if cls.__name__ in DATA_CHECKS:
            return DATA_CHECKS[cls.__name__]()
    return DatasetCheck()


def _accepts(cls, name: str) -> bool:
    import inspect
    for c in cls.__mro__:
        init = c.__dict__.get('__init__')
        if init is None:
            continue
        params = inspect.signature(init).parameters
        if name in params:
            return True
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return False
    return False


def dataset_config(cfg, split: str) -> dict:
    key = f'{split}_dataloader'
    dl = cfg.get(key)
    if not isinstance(dl, dict) or not isinstance(dl.get('dataset'), dict):
        raise ConfigError(f'{cfg.filename or "config"}: {key}.dataset is not set; hrvision data check --split '
                          f'{split} reads that dataset')
    return dl['dataset']


def build_dataset(ds_cfg: dict, check: DatasetCheck | None = None):
    """Build a dataset config in the hrvision scope (as the Runner does); ``check.build_overrides`` applied where
    the class takes them. Returns (dataset, check)."""
    import copy

    from mmengine.registry import init_default_scope

    from .registry import DATASETS, load_tasks
    load_tasks()
    init_default_scope('hrvision')
    ds_cfg = copy.deepcopy(dict(ds_cfg))
    cls = DATASETS.get(ds_cfg.get('type')) if isinstance(ds_cfg.get('type'), str) else ds_cfg.get('type')
    if check is None:
        from .registry import DATA_CHECKS
        load_checks()
        check = next((DATA_CHECKS[c.__name__]() for c in getattr(cls, '__mro__', ())
                      if c.__name__ in DATA_CHECKS), DatasetCheck())
    if cls is not None:
        for k, v in check.build_overrides.items():
            if _accepts(cls, k):
                ds_cfg[k] = v
    return DATASETS.build(ds_cfg), check


def check_files(dataset, check: DatasetCheck, report: Report) -> set[str]:
    """Every file a data-list entry names exists (one problem per missing file); returns the missing paths."""
    missing: set[str] = set()
    seen: set[str] = set()
    for i in progress(range(len(dataset)), 'files'):
        info = dataset.get_data_info(i)
        for key in check.file_fields:
            path = info.get(key)
            if not isinstance(path, str) or path in seen:
                continue
            seen.add(path)
            if not osp.isfile(path):
                missing.add(path)
                report.error('missing_file', path, f'file not found ({key} of entry {i})')
    return missing


def check_head(cfg, meta: dict, source: str, check: DatasetCheck, report: Report) -> None:
    """Metadata vs the model's head: the model's own ``check_dataset_meta`` (built on the meta device: shapes
    only, no memory), else the task's config comparison."""
    model_cfg = cfg.get('model')
    if not isinstance(model_cfg, dict):
        return
    before = len(report.problems)
    try:
        import torch
        from mmengine.registry import init_default_scope

        from .registry import MODELS
        init_default_scope('hrvision')
        cls = MODELS.get(model_cfg.get('type')) if isinstance(model_cfg.get('type'), str) else None
        method = getattr(cls, 'check_dataset_meta', None)
        if method is not None and method.__qualname__ != 'TaskModel.check_dataset_meta':   # the task's own
            with torch.device('meta'):
                model = MODELS.build(model_cfg)
            model.check_dataset_meta(dict(meta), source)
    except ConfigError as e:
        report.error('metadata_vs_head', cfg.filename or 'config', str(e))
    except Exception:  # noqa: BLE001  (a model that cannot be built on the meta device: the config comparison)
        pass
    if len(report.problems) == before:
        check.head_problems(model_cfg, meta, source, report)


def run_check(cfg, split: str = 'train') -> tuple[Any, DatasetCheck, Report]:
    """Build and check ``<split>_dataloader.dataset``; returns (dataset or None, check, report)."""
    report = Report()
    ds_cfg = dataset_config(cfg, split)
    source = f'{split}_dataloader'
    try:
        dataset, check = build_dataset(ds_cfg)
    except HRVisionError as e:   # the reader refused the data: that is the problem to report
        from .errors import user_message
        report.error('unreadable', '', f'{source}.dataset ({ds_cfg.get("type")}): {user_message(e, source)}')
        return None, DatasetCheck(), report
    meta = dict(dataset.metainfo)
    report.counts['entries'] = len(dataset)
    report.counts['images'] = len({dataset.get_data_info(i).get('img_path') for i in range(len(dataset))})
    check_files(dataset, check, report)
    check.summarize(dataset, report)
    check_head(cfg, meta, source, check, report)
    return dataset, check, report


def format_report(report: Report, dataset_type: str, split: str) -> str:
    lines = [f'{split} dataset ({dataset_type}):']
    for k, v in report.counts.items():
        if isinstance(v, dict):
            lines.append(f'  {k}:')
            lines += [f'    {name}: {n}' for name, n in v.items()]
        else:
            lines.append(f'  {k}: {v}')
    by_kind = defaultdict(list)
    for p in report.problems:
        by_kind[(p.level, p.kind)].append(p)
    for (level, kind), items in sorted(by_kind.items(), key=lambda kv: (kv[0][0] != 'error', kv[0][1])):
        lines += [p.line() for p in items[:MAX_PER_KIND]]
        if len(items) > MAX_PER_KIND:
            lines.append(f'{level}: ... and {len(items) - MAX_PER_KIND} more {kind} problems')
    n_err = sum(p.level == 'error' for p in report.problems)
    n_warn = len(report.problems) - n_err
    lines.append(f'{n_err} error(s), {n_warn} warning(s)' + (': training on this data would be wrong'
                                                               if n_err else ''))
    return '\n'.join(lines)


def draw_samples(dataset, check: DatasetCheck, n: int, out: str, report: Report) -> list[str]:
    """The first ``n`` samples after the dataset's pipeline (seeded: the same pictures every run) -> PNGs."""
    import os
    import tempfile

    from .outdir import STAGE, move_in
    from .visualization import save_png
    np.random.seed(0)
    meta = dict(dataset.metainfo)
    written = []
    real = osp.realpath(out)
    for i in progress(range(min(n, len(dataset))), 'draw'):
        try:
            sample = dataset.prepare_data(i)
        except HRVisionError as e:
            if not any(p.level == 'error' and p.where and p.where in str(e) for p in report.problems):
                report.warning('not_drawn', '', f'sample {i} could not be drawn: {e}')   # else: reported above
            continue
        if sample is None:
            continue
        picture = check.draw(sample, meta)
        if picture.shape[0] < MIN_HEIGHT:   # small training inputs: enlarged by a whole factor, pixels kept
            k = -(-MIN_HEIGHT // picture.shape[0])
            picture = np.repeat(np.repeat(picture, k, 0), k, 1)
        stem = osp.splitext(osp.basename(str(dataset.get_data_info(i).get('img_path', 'sample'))))[0]
        name = f'{i:04d}_{stem}.png'
        fd, tmp = tempfile.mkstemp(prefix=STAGE, suffix='.png', dir=real)   # left out of the manifest
        os.close(fd)
        try:
            save_png(tmp, picture)
            written.append(move_in(tmp, real, name))
        finally:
            if osp.exists(tmp):
                os.unlink(tmp)
    return written


def configure(p: argparse.ArgumentParser) -> None:
    """Arguments of ``hrvision data check``."""
    from .cli_args import add_cfg_options, positive_int
    p.add_argument('config')
    p.add_argument('--split', choices=SPLITS, default='train', help='which dataloader\'s dataset (default train)')
    p.add_argument('--show', type=positive_int, metavar='N',
                   help='draw N samples after the training pipeline with their targets (needs --out)')
    p.add_argument('--out', help='folder for the --show pictures (new or empty)')
    p.add_argument('--overwrite', action='store_true', help='--out may hold an earlier hrvision run: cleared first')
    p.add_argument('--data-root', metavar='DIR', help='the dataset folder: replaces the config\'s data_root in every '
                   'dataset and every path derived from it (as hrvision train --data-root)')
    add_cfg_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from .engine import runner as runner_mod
    from .errors import InputError
    from .outdir import out_dir_run
    if args.show and not args.out:
        raise InputError('hrvision data check: --show N needs --out DIR (where the pictures go)')
    if args.out and not args.show:
        raise InputError('hrvision data check: --out DIR is only for --show N (the pictures)')
    cfg = runner_mod.prepare_config(args.config, cfg_options=args.cfg_options, data_root=args.data_root)
    info = dict(command='hrvision data check', config=args.config, split=args.split)
    with out_dir_run(args.out, args.overwrite, **info) if args.out else nullcontext():
        dataset, check, report = run_check(cfg, args.split)
        if dataset is not None and args.show:
            files = draw_samples(dataset, check, args.show, args.out, report)
            print(f'{len(files)} picture(s) in {args.out}', file=sys.stderr)
        print(format_report(report, str(dataset_config(cfg, args.split).get('type')), args.split))
    return 2 if any(p.level == 'error' for p in report.problems) else 0


from .registry import CLI_COMMANDS  # noqa: E402

CLI_COMMANDS.register('data', 'check', 'read a config\'s dataset as training would: counts, problems, pictures')(
    configure)

__all__ = ['DatasetCheck', 'Report', 'Problem', 'config_values', 'compare_counts', 'run_check', 'find_check', 'build_dataset', 'load_checks',
           'progress', 'image_size', 'to_image', 'heatmap_overlay', 'configure', 'run']
