"""The ``hrvision`` command (also ``python -m hrvision``).

Core commands live here; tasks add theirs (``data`` generators, ``bench`` commands, top-level ones such as
``demo``) to :data:`hrvision.registry.CLI_COMMANDS` when ``hrvision.tasks`` is imported, so this module names
no task and a new task is one folder. Nothing but the ``hrvision`` entry point imports this module; shared
argument types and builders live in :mod:`hrvision.cli_args`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .cli_args import checkpoint_or_alias
from .cli_args import existing_file as _existing_file
from .cli_args import positive_int


def _cmd_list(args: argparse.Namespace) -> int:
    import torch

    import hrvision
    from hrvision.backbones.hrnet import VARIANTS
    print(f'{"name":<22}{"branch channels":<24}{"modules (s2/s3/s4)":<20}{"params":>12}')
    for name in hrvision.list_backbones():
        ex = VARIANTS[name]
        with torch.device('meta'):  # shapes only: no memory, no init time
            m = hrvision.build_backbone(name)
        mods = '/'.join(str(ex[f'STAGE{s}']['NUM_MODULES']) for s in (2, 3, 4))
        print(f'{name:<22}{str(m.out_channels):<24}{mods:<20}{sum(p.numel() for p in m.parameters()):>12,}')
    return 0


def _cmd_flops(args: argparse.Namespace) -> int:
    import torch

    import hrvision
    with torch.device('meta'):  # counting needs shapes only: any --shape runs instantly, in no memory
        model = hrvision.build_backbone(args.name, exchange=args.exchange)
    c = hrvision.count(model, tuple(args.shape))
    if args.json:
        print(json.dumps({'name': args.name, 'exchange': args.exchange, **c.as_dict()}))
    else:
        variant = '' if args.exchange == 'full' else f' (exchange={args.exchange})'
        print(f'{args.name}{variant} @ {args.shape[0]}x{args.shape[1]}: {c.params:,} parameters, '
              f'{c.gflops:.3f} GFLOPs (multiply-adds / 2^30, official convention), {c.gmacs:.3f} GMACs (1e9)')
    return 0


def _add_runner_args(p: argparse.ArgumentParser) -> None:
    from hrvision.cli_args import add_cfg_options
    p.add_argument('--work-dir', help='where logs, checkpoints and pictures go')
    p.add_argument('--data-root', metavar='DIR',
                   help='the dataset folder: replaces the config\'s data_root in every dataset and every path '
                        'derived from it (annotation files, image folders, box files, the metrics\' files); '
                        'same as --cfg-options data_root=DIR')
    add_cfg_options(p)
    p.add_argument('--launcher', default='none', choices=['none', 'pytorch'],
                   help='"pytorch" under torchrun (NCCL on GPU, gloo on CPU)')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)


def _cmd_train(args: argparse.Namespace) -> int:
    """Ctrl-C: exit 130 with one line saying where the last checkpoint is (no traceback)."""
    from hrvision.engine.runner import TrainingInterrupted, train
    resume = args.resume if args.resume is not None else False
    try:
        train(args.config, work_dir=args.work_dir, amp=args.amp, amp_dtype=args.amp_dtype, resume=resume,
              launcher=args.launcher, cfg_options=args.cfg_options, tensorboard=args.tensorboard,
              data_root=args.data_root)
    except TrainingInterrupted as e:
        print(f'hrvision: {e}', file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print('hrvision: interrupted before training started; nothing was written', file=sys.stderr)
        return 130
    return 0


def _cmd_test(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from hrvision.engine.distributed import is_main_process
    from hrvision.engine.runner import prepare_config, test
    from hrvision.outdir import out_dir_run
    _check_test_backend(args)
    opts = dict(args.cfg_options or {})
    if args.out:
        opts['test_evaluator.out_dir'] = args.out
    owner = args.out and is_main_process()   # under torchrun rank 0 owns the folder
    info = dict(command='hrvision test', config=args.config, checkpoint=args.checkpoint)
    with out_dir_run(args.out, args.overwrite, **info) if owner else nullcontext():   # before any work; locked
        cfg = prepare_config(args.config, work_dir=args.work_dir, launcher=args.launcher, cfg_options=opts,
                             data_root=args.data_root, checkpoint=args.checkpoint)
        _test_exported_file(args, cfg)
        metrics = test(cfg, args.checkpoint, allow_partial=args.allow_partial, work_dir=args.work_dir,
                       launcher=args.launcher)
        if not metrics and not _format_only(cfg):
            from hrvision.errors import DataError
            raise DataError('hrvision test: no metric was computed: the test split has no labels to score against '
                            '(test_dataloader); to only write its predictions, ask for that: --out DIR --cfg-options '
                            'test_evaluator.format_only=True')
    print(json.dumps({k: (float(v) if isinstance(v, (int, float)) else v) for k, v in metrics.items()},
                     indent=1, default=str))
    return 0


def _check_test_backend(args: argparse.Namespace) -> None:
    from hrvision.errors import InputError
    if args.backend == 'torch' and args.onnx:
        raise InputError('hrvision test: --onnx FILE goes with --backend onnxruntime or openvino')
    if args.backend != 'torch' and not args.onnx:
        raise InputError(f'hrvision test: --backend {args.backend} needs --onnx FILE (hrvision export CONFIG CKPT '
                         '--format onnx [--quantize int8])')


def _test_exported_file(args: argparse.Namespace, cfg) -> None:
    """``--backend onnxruntime|openvino --onnx FILE``: the test loop runs the file in place of the network (the
    accuracy of an INT8 / BF16 export, measured as ``hrvision export --quantize`` does)."""
    if args.backend == 'torch':
        return
    import hrvision.quantize  # noqa: F401  (registers the UseExportedFile hook)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='UseExportedFile', path=args.onnx, backend=args.backend)]


def _format_only(cfg) -> bool:
    """Whether a test metric was asked to write predictions without scoring (``format_only=True``)."""
    ev = cfg.get('test_evaluator') or {}
    items = list(ev) if isinstance(ev, (list, tuple)) else [ev]
    for e in list(items):
        metrics = e.get('metrics') if isinstance(e, dict) else None   # Evaluator / MultiTaskEvaluator
        items += list(metrics) if isinstance(metrics, (list, tuple)) else [metrics] if metrics else []
    return any(isinstance(m, dict) and m.get('format_only') for m in items)


def _cmd_export(args: argparse.Namespace) -> int:
    import hrvision
    from hrvision.export import export_model
    if args.quantize or args.precision != 'fp32':   # INT8 / BF16: evaluated against fp32 before writing
        return _export_narrow(args)
    if args.cfg_options or args.data_root:
        from hrvision.errors import InputError
        raise InputError('hrvision export: --cfg-options / --data-root go with --quantize int8 or --precision bf16 '
                         '(the calibration and evaluation data)')
    from hrvision.quantize import int8_flags_given
    if int8_flags_given(args):
        from hrvision.errors import InputError
        raise InputError(f'hrvision export: {" / ".join(int8_flags_given(args))}: only with --quantize int8')
    model = hrvision.init_model(args.config, args.checkpoint, 'cpu', allow_partial=args.allow_partial)
    report = getattr(model, 'load_report', None)
    if report is not None and report.missing_keys:
        print(f'hrvision: partial load (--allow-partial):\n{report}', file=sys.stderr)
    print(export_model(model, args.out, tuple(args.shape), args.format))
    return 0


def _export_narrow(args: argparse.Namespace) -> int:
    from hrvision.errors import InputError
    from hrvision.quantize import export_narrow
    if args.format != 'onnx':
        raise InputError(f'hrvision export: --quantize int8 / --precision bf16 need --format onnx, got --format '
                         f'{args.format}')
    precision = 'int8' if args.quantize else args.precision
    if args.quantize and args.precision not in ('fp32', 'int8'):
        raise InputError(f'hrvision export: --quantize int8 and --precision {args.precision} disagree; give one')
    if not args.checkpoint:
        raise InputError('hrvision export: --quantize / --precision need the checkpoint (its accuracy is measured)')
    from hrvision.quantize import int8_flags_given, int8_settings
    if precision != 'int8' and int8_flags_given(args):
        raise InputError(f'hrvision export: {" / ".join(int8_flags_given(args))}: only with --quantize int8, not '
                         f'--precision {precision}')
    export_narrow(args.config, args.checkpoint, args.out, tuple(args.shape), precision, calib=args.calib,
                  calib_split=args.calib_split, eval_split=args.eval_split, max_drop=args.max_drop,
                  cfg_options=args.cfg_options, data_root=args.data_root, allow_partial=args.allow_partial,
                  int8=int8_settings(args))
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage mistakes as one line, like every other error (exit 2); ``-h`` still prints the full usage."""

    def error(self, message: str):
        self.exit(2, f'hrvision: error: {self.prog}: {message} (see {self.prog} -h)\n')


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog='hrvision', description='hrvision: HRNet backbones, heads and tasks on one '
                                     'runner (also runs as python -m hrvision).')
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('list', help='list backbone variants')
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser('flops', help='parameters and GFLOPs of a backbone (official convention)')
    p.add_argument('name')
    p.add_argument('--shape', nargs=2, type=positive_int, default=[224, 224], metavar=('H', 'W'))
    p.add_argument('--json', action='store_true')
    p.add_argument('--exchange', default='full',
                   help="which exchange units exist: full (HRNet, default), across (each stage's last module), "
                        "final (only the output fusion); the article's ablation")
    p.set_defaults(func=_cmd_flops)

    p = sub.add_parser('train', help='train from an mmengine config')
    p.add_argument('config')
    p.add_argument('--amp', action='store_true', help='mixed precision: fp16 on CUDA, bf16 on CPU')
    p.add_argument('--amp-dtype', choices=['float16', 'bfloat16'])
    p.add_argument('--resume', nargs='?', const=True, default=None, type=_existing_file,
                   help='resume from the latest checkpoint in the work dir, or from CKPT')
    p.add_argument('--tensorboard', action='store_true',
                   help='also log scalars and prediction pictures to TensorBoard (needs hrvision[tensorboard])')
    _add_runner_args(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser('test', help='evaluate a checkpoint with the config\'s test loop')
    p.add_argument('config')
    p.add_argument('checkpoint', type=checkpoint_or_alias, help='checkpoint file or zoo alias (hrvision zoo list)')
    p.add_argument('--out', help='also write predictions / pictures into this (new or empty) folder')
    p.add_argument('--overwrite', action='store_true',
                   help='--out may hold an earlier hrvision test run: its files are removed first')
    p.add_argument('--backend', choices=['torch', 'onnxruntime', 'openvino'], default='torch',
                   help='run the network from --onnx FILE (e.g. an INT8 export) instead of the checkpoint\'s torch '
                        'network; pre- and post-processing stay torch\'s (default torch)')
    p.add_argument('--onnx', type=_existing_file, metavar='FILE', help='the file hrvision export --format onnx wrote')
    p.add_argument('--allow-partial', action='store_true',
                   help='evaluate even if the checkpoint leaves some weights of the model unset (prints the report)')
    _add_runner_args(p)
    p.set_defaults(func=_cmd_test)

    p = sub.add_parser('export', help='export a model (torch.export .pt2, TorchScript or ONNX) and check it against eager')
    p.add_argument('config', help='mmengine config (.py), official experiment YAML/JSON, or zoo alias')
    p.add_argument('checkpoint', nargs='?', type=checkpoint_or_alias)
    p.add_argument('--shape', nargs=2, type=positive_int, required=True, metavar=('H', 'W'))
    p.add_argument('--out', required=True, help='output file (.pt2 for torch.export)')
    p.add_argument('--format', choices=['pt2', 'torchscript', 'onnx'], default='pt2')
    p.add_argument('--allow-partial', action='store_true',
                   help='export even if the checkpoint leaves some weights unset (prints the report)')
    _add_deploy_args(p)
    p.set_defaults(func=_cmd_export)

    from hrvision.zoo_download import configure as configure_zoo
    configure_zoo(sub.add_parser('zoo', help='trained models by name: list them, fetch one (verified, cached)'))

    from hrvision.inference.cli import configure as configure_infer
    configure_infer(sub.add_parser('infer', help='run a model on your images, folders, globs or videos'))
    _add_task_commands(sub)
    return parser


def _add_deploy_args(p: argparse.ArgumentParser) -> None:
    """INT8 / BF16 export (hrvision.quantize); the metric table of --max-drop is the tasks' registrations."""
    from hrvision.cli_args import add_cfg_options
    p.add_argument('--quantize', choices=['int8'],
                   help='post-training INT8 (onnxruntime static quantization, QDQ; runs on onnxruntime and OpenVINO), '
                        'calibrated on --calib samples; fp32 (torch) and int8 (onnxruntime; OpenVINO: hrvision test '
                        '--backend openvino --onnx FILE) are evaluated first (needs --format onnx)')
    p.add_argument('--precision', choices=['fp32', 'bf16', 'int8'], default='fp32',
                   help='bf16: a file OpenVINO runs with its bf16 hint, evaluated against fp32 first (CPUs with bf16 '
                        'only; elsewhere one line says so and nothing is written); int8 = --quantize int8')
    p.add_argument('--calib', type=positive_int, default=32, metavar='N',
                   help='calibration samples read through the config\'s test pipeline (default 32)')
    p.add_argument('--calib-split', default='train', metavar='train|val|test|FOLDER',
                   help='where the calibration samples come from: a split of the config or a folder of images '
                        '(default train)')
    from hrvision.quantize import add_int8_args
    add_int8_args(p)
    p.add_argument('--eval-split', default='val', choices=['train', 'val', 'test'],
                   help='the split fp32 and the narrower model are evaluated on with the config\'s metric (default val)')
    p.add_argument('--max-drop', type=float, metavar='X',
                   help='refuse (exit 2, nothing written) when a compared metric gets worse by more than X, on the '
                        'scale the metric reports; defaults per metric: mIoU 0.005, AP 0.005 (0.5 point on a 0-1 '
                        'scale), NME 0.0005 (0.05 NME points; NME is a fraction), MPII Mean 0.5 (percent); one value '
                        'for metrics on different scales is refused')
    p.add_argument('--data-root', metavar='DIR', help='the dataset folder for calibration and evaluation (as hrvision '
                                                       'test --data-root)')
    add_cfg_options(p)


def _add_task_commands(sub) -> None:
    """The commands tasks registered: top-level ones, then ``hrvision data|bench|eval ...`` (groups without a
    registered command are left out)."""
    from hrvision.registry import CLI_COMMANDS, load_tasks
    load_tasks()
    import hrvision.data_check  # noqa: F401  (the core's `hrvision data check`)
    import hrvision.deploy_bench  # noqa: F401  (the core's `hrvision bench deploy`)
    for name, help, configure in CLI_COMMANDS.group(''):
        configure(sub.add_parser(name, help=help))
    for group, dest, help in (('data', 'generator', 'synthetic datasets in the real formats'),
                              ('bench', 'benchmark', 'benchmarks that print paper-style tables'),
                              ('eval', 'evaluation', 'score prediction files against ground truth')):
        if not CLI_COMMANDS.group(group):
            continue
        target = sub.add_parser(group, help=help).add_subparsers(dest=dest, required=True)
        for name, help, configure in CLI_COMMANDS.group(group):
            configure(target.add_parser(name, help=help))


def _context(args: argparse.Namespace) -> str:
    """``hrvision <command> <its inputs>``, to name the input in errors that come from outside hrvision."""
    words = ['hrvision', args.command] + [str(v) for k in ('generator', 'benchmark', 'evaluation', 'name', 'config', 'checkpoint')
                                          if isinstance(v := getattr(args, k, None), str)]
    if isinstance(getattr(args, 'out', None), str):
        words.append(args.out)
    return ' '.join(words)


def _stdout_closed() -> bool:
    """True when stdout's reader went away; stdout then points at devnull so exit does not fail again."""
    import select
    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        closed = any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poll.poll(0))
    except (OSError, ValueError, AttributeError):  # no fileno (captured), no poll (Windows)
        return False
    if closed:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return closed


def main(argv: list[str] | None = None) -> int:
    """Every error is one line on stderr, ``hrvision: error: ...``, exit 2; ``HRVISION_DEBUG=1`` re-raises it
    (the traceback, for bug reports). hrvision's errors carry their own message; others get the input named."""
    from hrvision.errors import caused_by_ctrl_c, user_message
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return args.func(args)
    except KeyboardInterrupt:
        if os.environ.get('HRVISION_DEBUG'):
            raise
        print('hrvision: interrupted', file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001  (the whole point: no traceback for users)
        if os.environ.get('HRVISION_DEBUG'):  # full traceback for bug reports
            raise
        if caused_by_ctrl_c(e):  # a library turned Ctrl-C into its own error
            print('hrvision: interrupted', file=sys.stderr)
            return 130
        if isinstance(e, BrokenPipeError) and _stdout_closed():  # `hrvision list | head`: stop quietly
            return 141
        print(f'hrvision: error: {user_message(e, _context(args) if "args" in locals() else "hrvision")}',
              file=sys.stderr)
        return 2


if __name__ == '__main__':
    raise SystemExit(main())
