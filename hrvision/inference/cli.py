"""``hrvision infer CONFIG [CHECKPOINT] INPUT... --out DIR`` (or ``hrvision infer ALIAS INPUT...``, a zoo model): a
model on your images, folders, globs and videos.

Outputs: see :mod:`.writers`; videos give per-frame results and ``<video stem>_annotated.mp4``. Unreadable
images are skipped with a line each and counted; the run ends with one summary line (images, time, images/s).
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
import time

CKPT_SUFFIXES = ('.pth', '.pt', '.ckpt', '.safetensors', '.bin', '.tar')


def configure(p: argparse.ArgumentParser) -> None:
    from ..cli_args import add_cfg_options, checkpoint_or_alias, existing_file, positive_int
    p.add_argument('config', help='mmengine config (.py), official experiment YAML/JSON, or a zoo alias (its config '
                                  'and weights: hrvision zoo list)')
    p.add_argument('inputs', nargs='+', metavar='[CHECKPOINT] INPUT',
                   help='checkpoint (optional: a file by its suffix .pth/.pt/.safetensors/..., or a zoo alias), then '
                        'images, folders, globs or videos')
    p.add_argument('--out', required=True, help='new or empty folder for the results (+ manifest)')
    p.add_argument('--overwrite', action='store_true', help='--out may hold an earlier hrvision run')
    p.add_argument('--show-dir', help='also write pictures with the predictions drawn into this folder')
    p.add_argument('--batch', type=positive_int, default=1, help='images (or crops) per forward pass')
    p.add_argument('--device', help='cpu, cuda, cuda:1 ... (default: CUDA when present; the CPU for '
                                       '--backend openvino, and for onnxruntime without its CUDA provider)')
    p.add_argument('--backend', choices=['torch', 'onnxruntime', 'openvino'], default='torch')
    p.add_argument('--onnx', type=existing_file, help='the network exported by hrvision export --format onnx '
                                                       '(--backend onnxruntime / openvino)')
    add_cfg_options(p)   # e.g. model.test_cfg.flip_test=True (mmengine configs)
    p.add_argument('--category-ids', metavar='FILE', type=existing_file,
                   help="detection: the dataset category ids of the model's labels, for detections.json when the "
                        "checkpoint and the config do not know them: a JSON list in label order, or a COCO "
                        "annotation file (its categories)")
    p.add_argument('--boxes', type=existing_file, help='pose / face: detection JSON with the boxes')
    p.add_argument('--det-config', help='pose: hrvision detection config (or zoo alias) giving the person boxes')
    p.add_argument('--det-checkpoint', type=checkpoint_or_alias, help='file or zoo alias')
    p.add_argument('--det-score-thr', type=float, default=0.3)
    p.add_argument('--det-label', type=int, default=0, help='the person label of the detector (default 0)')
    p.add_argument('--allow-partial', action='store_true',
                   help='run even if the checkpoint leaves some weights unset')
    p.set_defaults(func=run)


def split_checkpoint(inputs: list[str]) -> tuple[str | None, list[str]]:
    """The optional CHECKPOINT before the inputs: a file by its suffix, or a zoo alias that is no path."""
    first = inputs[0]
    if not osp.exists(first):
        from ..zoo import is_alias
        if is_alias(first):
            return first, inputs[1:]
    if first.lower().endswith(CKPT_SUFFIXES) and not osp.isdir(first):
        if not osp.isfile(first):
            from ..errors import MissingFileError
            raise MissingFileError(f'checkpoint not found: {first}')
        return first, inputs[1:]
    return None, inputs


def _check_args(args) -> None:
    from ..errors import InputError
    from ..zoo import is_alias
    det_alias = is_alias(args.det_config) and not osp.exists(args.det_config)   # a zoo detector: config + weights
    if bool(args.det_config) != bool(args.det_checkpoint) and not det_alias:
        raise InputError('--det-config and --det-checkpoint go together (or --det-config a zoo detector alias)')
    if args.backend != 'torch' and not args.onnx:
        raise InputError(f'--backend {args.backend} needs --onnx FILE (made by hrvision export --format onnx)')
    if args.onnx and args.backend == 'torch':
        raise InputError('--onnx is used with --backend onnxruntime or openvino')
    if args.boxes and args.det_config:
        raise InputError('give person boxes one way: --boxes or --det-config/--det-checkpoint')


def run(args: argparse.Namespace) -> int:
    """Ctrl-C: exit 130 with one line saying how many images are done and where their (complete) results are."""
    from ..errors import InputError, caused_by_ctrl_c
    from ..outdir import prepare_out_dir, write_manifest
    from .inferencer import Inferencer
    from .inputs import Skipped, collect, is_video
    from ..atomic import defer_sigint
    checkpoint, inputs = split_checkpoint(args.inputs)
    if not inputs:
        raise InputError('no INPUT given (images, folders, globs or videos after the config and checkpoint)')
    _check_args(args)
    skipped = Skipped()
    items = collect(inputs, skipped, allow_video=True)   # bad inputs fail before the model loads
    info = dict(command='hrvision infer', config=args.config, checkpoint=checkpoint, inputs=inputs)
    roots = [args.out]
    prepare_out_dir(args.out, args.overwrite, **info)   # locked by this run until its manifest is final
    status, start, n, writer, total = 'failed', time.perf_counter(), 0, None, 0
    try:
        out = osp.join(osp.realpath(args.out), '')
        if args.show_dir and not osp.join(osp.realpath(args.show_dir), '').startswith(out):   # its own folder
            prepare_out_dir(args.show_dir, args.overwrite, **info)
            roots.append(args.show_dir)
        images = [it for it in items if not (it.path and is_video(it.path))]
        videos = [it for it in items if it.path and is_video(it.path)]
        total = len(images) + sum(_frame_count(it.path) for it in videos)
        inf = Inferencer(args.config, checkpoint, device=args.device, backend=args.backend, onnx=args.onnx,
                         det_config=args.det_config, det_checkpoint=args.det_checkpoint,
                         det_score_thr=args.det_score_thr, det_label=args.det_label, batch_size=args.batch,
                         allow_partial=args.allow_partial, cfg_options=args.cfg_options,
                         category_ids=args.category_ids)
        writer = _writer(inf, args)
        n += _images(inf, writer, images, skipped, args.boxes)
        for it in videos:
            n += _video(inf, writer, it.path, args.out)
        if n == 0:
            first = f': {skipped.entries[0][1]}' if len(skipped) else ''
            raise InputError(f'no image could be read ({len(skipped)} skipped{first})')
        for name, why in skipped.entries:
            print(f'hrvision: skipped {name}: {why}', file=sys.stderr)
        writer.finish()
        status = 'complete'
    except BaseException as e:
        if not (isinstance(e, KeyboardInterrupt) or caused_by_ctrl_c(e)):
            raise
        status = 'interrupted'
        if writer is not None:
            with defer_sigint():
                writer.finish()   # the JSON of the images done
    finally:
        with defer_sigint():
            for root in roots:
                write_manifest(root, **info, status=status)
    if status == 'interrupted':
        done = writer.count if writer is not None else 0
        print(f'hrvision infer: interrupted after {done} of {total} images; complete results for those in '
              f'{args.out} (manifest: interrupted)', file=sys.stderr)
        return 130
    took = time.perf_counter() - start
    print(f'hrvision infer: {n} images, {len(skipped)} skipped, {took:.1f} s, {n / max(took, 1e-9):.2f} images/s; '
          f'results in {args.out}')
    return 0


def _frame_count(path: str) -> int:
    from .video import open_video
    cap, _, count = open_video(path)
    cap.release()
    return count


def _writer(inf, args):
    from .writers import ResultWriter
    return ResultWriter(args.out, inf.task, args.show_dir)


def _progress(total: int | None, what: str):
    from tqdm import tqdm
    return tqdm(total=total, desc=what, unit='img', file=sys.stderr, disable=None, leave=False)


def _images(inf, writer, items, skipped, boxes) -> int:
    from .inputs import load
    n = 0
    if items:
        with _progress(len(items), 'infer') as bar:
            for _, img, r in inf.stream(load(items, skipped), boxes, order=items):
                writer.add(r, img, n)
                n += 1
                bar.update(1)
    return n


def _video(inf, writer, path: str, out_dir: str) -> int:
    from .video import VideoOut, open_video
    cap, fps, count = open_video(path)   # for the frame rate and the progress total
    cap.release()
    stem = osp.splitext(osp.basename(path))[0]
    n = 0
    with VideoOut(osp.join(out_dir, f'{stem}_annotated.mp4'), fps) as vid, _progress(count or None, stem) as bar:
        for img, r in inf.video(path):
            r['frame'] = n
            vid.write(writer.add(r, img, n, picture=True))
            n += 1
            bar.update(1)
    if n == 0:
        from ..errors import DataError
        raise DataError(f'video {path}: no frame could be read')
    return n


__all__ = ['configure', 'run']
