"""The article's two pose ablations as commands: ``hrvision bench ablation-resolution`` and ``ablation-exchange``.

* Output resolution (the article's Figure 5): the same net trained and evaluated with heatmaps read from the
  1x/2x/4x/8x representation (HRNet branch 0..3, stride 4..32). Each variant is derived from one base config
  (default ``configs/pose/hrnet_w32_coco_256x192_1x.py``) by :func:`at_branch`, which, like the shipped
  ``hrnet_w32_coco_256x192_{2x,4x,8x}.py`` configs, chooses only the branch: heatmap size and σ follow in code
  (:func:`hrvision.codecs.fill_heatmap_size`; a test keeps configs and bench equal).
* Exchange units (the article's exchange-unit table): ``HRNet(exchange='final'|'across'|'full')``, each from
  random initialisation with the same schedule and seed.

Both train every variant with the common runner on the data the config names, or (default) on synthetic COCO
people written by :func:`hrvision.tasks.pose.synth.write_synthetic`, evaluate COCO keypoint AP, print a
markdown table plus one JSON line, and write a PNG plot (complete or not at all). ``--width W`` swaps the
backbone for the test-sized ``tiny_extra(W)`` net, ``--iters`` / ``--batch`` / ``--input-size`` shorten
the schedule; the table header states what ran.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
from typing import Callable

from hrvision.cli_args import image_size, positive_int
from hrvision.errors import InputError
from hrvision.registry import TRANSFORMS

DEFAULT_CONFIG = 'pose/hrnet_w32_coco_256x192_1x.py'
RESOLUTIONS = {'1x': 0, '2x': 1, '4x': 2, '8x': 3}
# exchange variant -> (final, across-stage, within-stage) exchange units present, the article's table columns
EXCHANGE_COLUMNS = {'final': (True, False, False), 'across': (True, True, False), 'full': (True, True, True)}


def _heatmap_codecs(cfg):
    """The model's codec and the pipelines' target codecs, where the config states one (a targets transform
    without a codec takes the model's: ``tasks/pose/config.py``)."""
    yield cfg.model
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        for t in loader.dataset.pipeline:
            if TRANSFORMS.current_name(t['type']) == 'PoseHeatmapTargets' and isinstance(t.get('codec'), dict):
                yield t


def at_branch(cfg, branch: int):
    """``cfg`` (an mmengine Config of the 1x recipe) changed to read heatmaps from HRNet branch ``branch``: only
    ``model.backbone.out_indices``, as the shipped ``*_{2x,4x,8x}.py`` configs; the codec's heatmap size
    (input / stride) and σ follow in code (``PoseModel`` and ``prepare_config``, by
    :func:`hrvision.codecs.fill_heatmap_size`), so a ``heatmap_size`` the base states is dropped. Returns ``cfg``."""
    cfg.model.backbone.out_indices = (branch,)
    for owner in _heatmap_codecs(cfg):
        owner['codec'] = {k: v for k, v in owner['codec'].items() if k != 'heatmap_size'}
    return cfg


def _set_input_size(cfg, size_wh: tuple[int, int]) -> None:
    """The crop size in every codec the config states; the crops and datasets that state one too (the shipped
    recipes state it once, in ``model.codec``: the others take it in code, ``tasks/pose/config.py``); the heatmap
    size follows from it in code."""
    for owner in _heatmap_codecs(cfg):
        owner['codec'] = {k: v for k, v in owner['codec'].items() if k != 'heatmap_size'}
        owner['codec']['input_size'] = size_wh
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        if loader.dataset.get('input_size') is not None:
            loader.dataset.input_size = size_wh
        for t in loader.dataset.pipeline:
            if t.get('input_size') is not None:
                t['input_size'] = size_wh


def _use_synthetic(cfg, root: str) -> None:
    root = osp.abspath(root) + '/'
    for loader, split in ((cfg.train_dataloader, 'train'), (cfg.val_dataloader, 'val'), (cfg.test_dataloader, 'val')):
        ds = loader.dataset
        ds.data_root = root
        ds.ann_file = f'annotations/person_keypoints_{split}.json'
        ds.data_prefix = dict(img=f'{split}/')
        if split == 'val':
            ds.bbox_file = None
        loader.num_workers = 0
        loader.persistent_workers = False
    for ev in ('val_evaluator', 'test_evaluator'):
        cfg[ev].ann_file = root + 'annotations/person_keypoints_val.json'


def base_config(args: argparse.Namespace, work_dir: str):
    """The base config with the run's choices: data, schedule, size, width, random init, one seed."""
    from mmengine.config import Config

    from hrvision.backbones.hrnet import tiny_extra
    from hrvision.configs_path import config_path
    cfg = Config.fromfile(config_path(args.config))
    if not args.config_data:
        data = osp.join(work_dir, 'data')
        if not osp.isfile(osp.join(data, 'annotations', 'person_keypoints_val.json')):
            from .synth import write_synthetic
            write_synthetic(data, n_train=args.n_train, n_val=args.n_val, size=tuple(args.image_size), seed=args.seed)
        _use_synthetic(cfg, data)
    if args.input_size:
        _set_input_size(cfg, (args.input_size[1], args.input_size[0]))
    if args.width and args.arch:
        raise InputError('--width and --arch both name the backbone; give one')
    if args.arch:
        from hrvision.backbones.hrnet import resolve_arch
        resolve_arch(args.arch)                        # unknown names fail here, with the list
        cfg.model.backbone.arch = args.arch
    if args.width:
        cfg.model.backbone.pop('arch', None)
        cfg.model.backbone.extra = tiny_extra(args.width)
    cfg.model.pretrained = None                        # the article's ablations train from scratch
    cfg.train_dataloader.batch_size = args.batch
    cfg.val_dataloader.batch_size = cfg.test_dataloader.batch_size = max(args.batch, 8)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters, val_interval=args.iters + 1)
    cfg.optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=args.lr))
    cfg.param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[int(args.iters * 0.8)], gamma=0.1)]
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=max(1, args.iters // 5))
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=args.iters, max_keep_ckpts=1)
    cfg.randomness = dict(seed=args.seed)
    return cfg


def train_and_evaluate(cfg, work_dir: str) -> dict:
    """Train with the common runner, then the config's validation: ``{'AP': ..., 'AP50': ...}`` (0-100) plus
    parameters and GFLOPs of the trained model at the crop size."""
    from hrvision.engine.runner import build_runner, prepare_config
    from hrvision.flops import count
    runner = build_runner(prepare_config(cfg, work_dir=work_dir))
    runner.train()
    metrics = runner.val()
    model = runner.model
    w, h = cfg.model.codec['input_size']
    c = count(model.backbone, (h, w))
    return dict(AP=100 * float(metrics['coco/AP']), AP50=100 * float(metrics['coco/AP50']),
                params=sum(p.numel() for p in model.parameters()), backbone_gflops=c.gflops)


def _plot(path: str, xs: list[str], ys: list[float], xlabel: str, title: str) -> None:
    """A bar chart of AP per variant, as PNG, written complete or not at all."""
    import matplotlib
    matplotlib.use('Agg', force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from hrvision.atomic import atomic_path
    import textwrap
    fig = Figure(figsize=(6.0, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    bars = ax.bar(xs, ys, color='#4c72b0')
    for b, y in zip(bars, ys):
        ax.text(b.get_x() + b.get_width() / 2, y, f'{y:.1f}', ha='center', va='bottom', fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel('AP (COCO keypoints)')
    head, _, setup = title.partition('\n')
    ax.set_title('\n'.join([head, *textwrap.wrap(setup, 90)]), fontsize=8)
    ax.set_ylim(0, max([*ys, 1.0]) * 1.15)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png')


def _describe(args: argparse.Namespace, cfg) -> str:
    w, h = cfg.model.codec['input_size']
    net = f'tiny_extra({args.width})' if args.width else cfg.model.backbone.get('arch', 'custom')
    data = 'config data' if args.config_data else f'synthetic COCO people ({args.n_train} train images)'
    return f'{net}, {h}x{w} crops, {args.iters} iterations x batch {args.batch}, random init, seed {args.seed}, {data}'


def _run_variants(args: argparse.Namespace, name: str, variants: list[str], change: Callable) -> tuple[list, object]:
    work = args.work_dir or osp.join('work_dirs', name)
    os.makedirs(work, exist_ok=True)
    rows, cfg = [], None
    for v in variants:
        cfg = change(base_config(args, work), v)
        rows.append(dict(variant=v, **train_and_evaluate(cfg, osp.join(work, v))))
    return rows, cfg


def add_common(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument('--config', default=DEFAULT_CONFIG,
                   help=f'the 1x base config (file, or a shipped name; default {DEFAULT_CONFIG})')
    p.add_argument('--config-data', action='store_true',
                   help="train/evaluate on the config's own data (default: synthetic COCO people)")
    p.add_argument('--n-train', type=positive_int, default=256, help='synthetic training images (default 256)')
    p.add_argument('--n-val', type=positive_int, default=32, help='synthetic validation images (default 32)')
    p.add_argument('--image-size', type=image_size, default=(160, 192), help='synthetic image HxW (default 160x192)')
    p.add_argument('--input-size', type=image_size, default=(128, 96),
                   help="crop HxW (default 128x96; 'config' keeps the config's)")
    p.add_argument('--width', type=positive_int, default=None,
                   help='use the test-sized tiny_extra(W) backbone instead of the config arch')
    p.add_argument('--arch', help="an HRNet variant instead of the config's (e.g. hrnet_w18_small_v2)")
    p.add_argument('--iters', type=positive_int, default=300)
    p.add_argument('--batch', type=positive_int, default=16)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--work-dir', help=f'runs, data and the plot (default work_dirs/{name})')
    p.add_argument('--plot', help='PNG path (default WORK_DIR/<name>.png)')


def _finish(args, name: str, rows: list[dict], cfg, header: list[str], cells: Callable[[dict], list[str]],
            xlabel: str, title: str) -> dict:
    work = args.work_dir or osp.join('work_dirs', name)
    plot = args.plot or osp.join(work, f'{name}.png')
    _plot(plot, [r['variant'] for r in rows], [r['AP'] for r in rows], xlabel, f'{title}\n{_describe(args, cfg)}')
    print(f'{title}: {_describe(args, cfg)}')
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '|'.join('---' for _ in header) + '|')
    for r in rows:
        print('| ' + ' | '.join(cells(r)) + ' |')
    out = dict(ablation=name, setup=_describe(args, cfg), rows=rows, plot=plot)
    print(json.dumps(out))
    return out


# ---- output resolution ---------------------------------------------------------------------------------------

def add_resolution_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of ``hrvision bench ablation-resolution`` and ``benchmarks/ablation_resolution.py``."""
    add_common(p, 'ablation_resolution')
    p.add_argument('--resolutions', nargs='+', default=list(RESOLUTIONS), choices=list(RESOLUTIONS),
                   help='which representations (default all: 1x 2x 4x 8x)')


def run_resolution(args: argparse.Namespace) -> dict:
    """Train + evaluate one model per output resolution; table, JSON line, PNG."""
    if args.input_size and any(v % 32 for v in args.input_size):
        raise InputError(f'--input-size {args.input_size[0]}x{args.input_size[1]}: both sides must be multiples '
                         'of 32 (the 8x heatmap is input / 32)')
    rows, cfg = _run_variants(args, 'ablation_resolution', args.resolutions,
                              lambda c, v: at_branch(c, RESOLUTIONS[v]))
    for r in rows:
        r['stride'] = 4 * 2 ** RESOLUTIONS[r['variant']]
    return _finish(args, 'ablation_resolution', rows, cfg,
                   ['output', 'stride', 'params', 'backbone GFLOPs', 'AP', 'AP50'],
                   lambda r: [r['variant'], str(r['stride']), f'{r["params"]:,}', f'{r["backbone_gflops"]:.3f}',
                              f'{r["AP"]:.1f}', f'{r["AP50"]:.1f}'],
                   'representation the heatmaps are read from', 'AP per output resolution (HRNet Fig. 5)')


# ---- exchange units ------------------------------------------------------------------------------------------

def add_exchange_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of ``hrvision bench ablation-exchange`` and ``benchmarks/ablation_exchange.py``."""
    add_common(p, 'ablation_exchange')
    p.add_argument('--variants', nargs='+', default=list(EXCHANGE_COLUMNS), choices=list(EXCHANGE_COLUMNS),
                   help='HRNet exchange= variants (default: final across full)')


def _with_exchange(cfg, variant: str):
    cfg.model.backbone.exchange = variant
    return cfg


def run_exchange(args: argparse.Namespace) -> dict:
    """Train + evaluate one model per exchange variant from random init, same schedule; the article's table."""
    rows, cfg = _run_variants(args, 'ablation_exchange', args.variants, _with_exchange)
    mark = lambda b: 'x' if b else ''  # noqa: E731
    return _finish(args, 'ablation_exchange', rows, cfg,
                   ['exchange=', 'final exchange', 'across-stage', 'within-stage', 'params', 'backbone GFLOPs', 'AP'],
                   lambda r: [r['variant'], *map(mark, EXCHANGE_COLUMNS[r['variant']]), f'{r["params"]:,}',
                              f'{r["backbone_gflops"]:.3f}', f'{r["AP"]:.1f}'],
                   'HRNet exchange= variant', 'AP per exchange-unit variant (HRNet ablation)')


def main_resolution(argv=None) -> dict:
    p = argparse.ArgumentParser(description='HRNet output-resolution ablation (1x/2x/4x/8x)')
    add_resolution_arguments(p)
    return run_resolution(p.parse_args(argv))


def main_exchange(argv=None) -> dict:
    p = argparse.ArgumentParser(description='HRNet exchange-unit ablation (final / across / full)')
    add_exchange_arguments(p)
    return run_exchange(p.parse_args(argv))
