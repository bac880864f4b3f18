"""The ``hrvision`` command (also ``python -m hrvision``).

Core commands live here; each task adds its own ``data`` generators and ``bench`` commands
through ``hrvision.tasks.<task>.cli.register(data_sub, bench_sub)``, so a task is one folder.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

TASK_CLI_MODULES = ('segmentation', 'pose', 'face', 'detection', 'multitask')


def _cmd_list(args: argparse.Namespace) -> int:
    import hrvision
    from hrvision.backbones.hrnet import VARIANTS
    print(f'{"name":<22}{"branch channels":<24}{"modules (s2/s3/s4)":<20}{"params":>12}')
    for name in hrvision.list_backbones():
        ex = VARIANTS[name]
        m = hrvision.build_backbone(name)
        mods = '/'.join(str(ex[f'STAGE{s}']['NUM_MODULES']) for s in (2, 3, 4))
        print(f'{name:<22}{str(m.out_channels):<24}{mods:<20}{sum(p.numel() for p in m.parameters()):>12,}')
    return 0


def _cmd_flops(args: argparse.Namespace) -> int:
    import hrvision
    model = hrvision.build_backbone(args.name)
    c = hrvision.count(model, tuple(args.shape))
    if args.json:
        print(json.dumps({'name': args.name, **c.as_dict()}))
    else:
        print(f'{args.name} @ {args.shape[0]}x{args.shape[1]}: {c.params:,} parameters, '
              f'{c.gflops:.3f} GFLOPs (multiply-adds / 2^30, official convention), {c.gmacs:.3f} GMACs (1e9)')
    return 0


def _add_runner_args(p: argparse.ArgumentParser) -> None:
    from mmengine.config import DictAction
    p.add_argument('--work-dir', help='where logs, checkpoints and pictures go')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys: key=value ...')
    p.add_argument('--launcher', default='none', choices=['none', 'pytorch'],
                   help='"pytorch" under torchrun (NCCL on GPU, gloo on CPU)')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)


def _cmd_train(args: argparse.Namespace) -> int:
    from hrvision.engine.runner import train
    resume = args.resume if args.resume is not None else False
    train(args.config, work_dir=args.work_dir, amp=args.amp, amp_dtype=args.amp_dtype, resume=resume,
          launcher=args.launcher, cfg_options=args.cfg_options)
    return 0


def _cmd_test(args: argparse.Namespace) -> int:
    from hrvision.engine.runner import test
    opts = dict(args.cfg_options or {})
    if args.out:
        opts['test_evaluator.out_dir'] = args.out
    metrics = test(args.config, args.checkpoint, work_dir=args.work_dir, launcher=args.launcher, cfg_options=opts)
    print(json.dumps({k: (float(v) if isinstance(v, (int, float)) else v) for k, v in metrics.items()},
                     indent=1, default=str))
    return 0


def load_model(config: str, checkpoint: str | None):
    """An mmengine config (.py) + hrvision checkpoint, or an official experiment YAML/JSON + official checkpoint."""
    import hrvision
    if config.endswith(('.yaml', '.yml', '.json')):
        cfg = config
        if config.endswith('.json'):
            with open(config, encoding='utf-8') as f:
                cfg = json.load(f)
        return hrvision.from_official(cfg, checkpoint)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from hrvision.registry import MODELS
    init_default_scope('hrvision')
    model = MODELS.build(Config.fromfile(config).model)
    if checkpoint:
        report = hrvision.load_weights(model, checkpoint)
        if report.missing_keys:
            raise KeyError(f'{checkpoint} lacks {len(report.missing_keys)} keys of the model:\n{report}')
    return model.eval()


def _cmd_export(args: argparse.Namespace) -> int:
    from hrvision.export import export_model
    model = load_model(args.config, args.checkpoint)
    print(export_model(model, args.out, tuple(args.shape), args.format))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from hrvision.tasks.segmentation.demo import run_demo
    run_demo(work_dir=args.work_dir, iters=args.iters, quick=args.quick)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='hrvision', description='hrvision: HRNet backbones, heads and tasks on one '
                                     'runner (also runs as python -m hrvision).')
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('list', help='list backbone variants')
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser('flops', help='parameters and GFLOPs of a backbone (official convention)')
    p.add_argument('name')
    p.add_argument('--shape', nargs=2, type=int, default=[224, 224], metavar=('H', 'W'))
    p.add_argument('--json', action='store_true')
    p.set_defaults(func=_cmd_flops)

    p = sub.add_parser('train', help='train from an mmengine config')
    p.add_argument('config')
    p.add_argument('--amp', action='store_true', help='mixed precision: fp16 on CUDA, bf16 on CPU')
    p.add_argument('--amp-dtype', choices=['float16', 'bfloat16'])
    p.add_argument('--resume', nargs='?', const=True, default=None,
                   help='resume from the latest checkpoint in the work dir, or from CKPT')
    _add_runner_args(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser('test', help='evaluate a checkpoint with the config\'s test loop')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out', help='also write predictions / pictures into this folder')
    _add_runner_args(p)
    p.set_defaults(func=_cmd_test)

    p = sub.add_parser('export', help='export a model (torch.export .pt2 or TorchScript) and check it against eager')
    p.add_argument('config', help='mmengine config (.py) or official experiment YAML/JSON')
    p.add_argument('checkpoint', nargs='?')
    p.add_argument('--shape', nargs=2, type=int, required=True, metavar=('H', 'W'))
    p.add_argument('--out', required=True, help='output file (.pt2 for torch.export)')
    p.add_argument('--format', choices=['pt2', 'torchscript'], default='pt2')
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser('demo', help='the main job: synthetic Cityscapes -> train -> evaluate -> pictures')
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--iters', type=int, default=None, help='training iterations (default: the demo config)')
    p.add_argument('--quick', action='store_true', help='a tiny run for smoke tests')
    p.set_defaults(func=_cmd_demo)

    data = sub.add_parser('data', help='synthetic datasets in the real formats').add_subparsers(
        dest='generator', required=True)
    bench = sub.add_parser('bench', help='benchmarks that print paper-style tables').add_subparsers(
        dest='benchmark', required=True)
    for task in TASK_CLI_MODULES:
        try:
            mod = importlib.import_module(f'hrvision.tasks.{task}.cli')
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith(f'hrvision.tasks.{task}'):
                continue  # task not present in this build
            raise
        mod.register(data, bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, KeyError, ValueError) as e:
        if os.environ.get('HRVISION_DEBUG'):  # full traceback for bug reports
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f'hrvision: error: {msg}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    raise SystemExit(main())
