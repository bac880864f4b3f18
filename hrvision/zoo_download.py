"""Zoo downloads: fetch once, verify the published hash, convert once, cache; and the ``hrvision zoo`` command.

Where files go (the caches other tools use too):

* the published file: ``torch.hub.get_dir()/checkpoints/<its file name>`` (``$TORCH_HOME/hub/checkpoints``, where
  ``torch.hub.load_state_dict_from_url`` puts it); timm tags: the Hugging Face hub cache (:mod:`hrvision.hub`);
* the converted hrvision checkpoint: ``torch.hub.get_dir()/checkpoints/hrvision/<alias>-<hash>.pth`` (state dict of
  the zoo config's model + ``meta.zoo``: alias, source, sha256; content digest), written once through
  :func:`hrvision.load_weights` with ``strict=True``.

Both are written complete or not at all (temp file + rename, removed on any failure: a wrong hash, an interrupted
download, Ctrl-C). Offline (``HF_HUB_OFFLINE=1``) or without network, a missing file is one line saying what to
download and where to put it.
"""
from __future__ import annotations

import hashlib
import os
import os.path as osp
import re
import sys
from typing import Any

from .errors import CheckpointFileError, InputError, MissingFileError, WriteError
from .zoo import ZooEntry, get_entry

CHUNK = 1 << 20
TIMEOUT_S = 30                     # silence on the connection longer than this: an error
STALL_S, STALL_BYTES = 60, 64 << 10   # a download slower than 64 KiB per minute: an error (a trickle never ends)
# entries of a published file that are no weights and have no place in a model: dropped (listed in meta.zoo)
# before the strict load; nothing is renamed here (that is load_weights')
_NOT_WEIGHTS = re.compile(r'^(model\.)?loss\.')   # the official seg FullModel's loss state (class weights)
_IMAGENET_HEAD = re.compile(r'^(incre_modules|downsamp_modules|final_layer|classifier)\.')


class HashMismatchError(CheckpointFileError):
    """A downloaded or given file whose sha256 is not the published one (nothing was cached)."""


def checkpoint_dir() -> str:
    import torch
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def source_path(entry: ZooEntry) -> str | None:
    """Where the published file of ``entry`` is cached (None: a timm tag, cached by huggingface_hub)."""
    return None if entry.timm_tag else osp.join(checkpoint_dir(), entry.filename)


def converted_path(entry: ZooEntry) -> str:
    tag = entry.sha256[:8] if entry.sha256 else 'unverified' if not entry.timm_tag else 'hub'
    return osp.join(checkpoint_dir(), 'hrvision', f'{entry.alias}-{tag}.pth')


def is_cached(entry: ZooEntry) -> bool:
    return osp.isfile(converted_path(entry))


def offline() -> bool:
    from .hub import offline as hf_offline
    return hf_offline()


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(CHUNK), b''):
            h.update(block)
    return h.hexdigest()


def hash_matches(digest: str, expected: str) -> bool:
    return digest == expected if len(expected) == 64 else digest.startswith(expected)


def _what_to_fetch(entry: ZooEntry) -> str:
    dest = source_path(entry)
    want = f'sha256 {entry.sha256}{"" if entry.hash_kind == "full" else "..."}' if entry.sha256 else \
        'no published sha256'
    return (f'download {entry.urls[0]} ({want}) and put it at {dest}, or run hrvision zoo get {entry.alias} '
            f'--file FILE{" --no-verify" if entry.hash_kind == "none" else ""}')


def _progress(total: int | None, name: str, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=total, desc=name, unit='B', unit_scale=True, unit_divisor=1024, file=sys.stderr,
                disable=None if enabled else True, leave=False)


def download(entry: ZooEntry, progress: bool = True) -> tuple[str, str]:
    """Fetch the published file into the torch hub cache, hash checked while it streams; returns its path and
    sha256. Any failure leaves no file (the temp file beside the target is removed); a silent connection
    (``TIMEOUT_S``) or one slower than ``STALL_BYTES`` per ``STALL_S`` is a failure, never a hang."""
    import time
    import urllib.request
    from http.client import HTTPException

    from .atomic import atomic_path, writing
    dest = source_path(entry)
    os.makedirs(osp.dirname(dest), exist_ok=True)
    errors = []
    for url in entry.urls:
        try:
            with atomic_path(dest) as tmp:
                h = hashlib.sha256()
                req = urllib.request.Request(url, headers={'User-Agent': 'hrvision'})
                with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                    total = resp.headers.get('Content-Length')
                    total = int(total) if total and total.isdigit() else None
                    got, window, window_got = 0, time.monotonic(), 0
                    with open(tmp, 'wb') as f, _progress(total, entry.filename, progress) as bar:
                        while True:
                            block = resp.read1(CHUNK)   # what has arrived; network errors: OSError / HTTPException
                            if not block:
                                break
                            with writing(dest, 'download'):   # a full disk: WriteError naming the file
                                f.write(block)
                            h.update(block)
                            got += len(block)
                            window_got += len(block)
                            bar.update(len(block))
                            if time.monotonic() - window >= STALL_S:
                                if window_got < STALL_BYTES:
                                    raise ConnectionError(f'the download stalled: {window_got} bytes in the last '
                                                          f'{STALL_S} s ({got} received)')
                                window, window_got = time.monotonic(), 0
                if total is not None and got != total:
                    raise ConnectionError(f'the connection closed after {got} of {total} bytes')
                digest = h.hexdigest()
                _check_hash(entry, digest, url)
            return dest, digest
        except (HashMismatchError, WriteError):
            raise
        except (OSError, HTTPException, ValueError) as e:   # URLError, timeouts, IncompleteRead, refused...
            errors.append(f'{url}: {type(e).__name__}: {e}')
    raise MissingFileError(f'zoo {entry.alias}: cannot download ({"; ".join(errors)}); nothing was cached; '
                           + _what_to_fetch(entry))


def _check_hash(entry: ZooEntry, digest: str, where: str, what_now: str = '') -> None:
    if entry.sha256 and not hash_matches(digest, entry.sha256):
        raise HashMismatchError(
            f'zoo {entry.alias}: {where} has sha256 {digest}, the published one '
            f'{"is" if entry.hash_kind == "full" else "starts with"} {entry.sha256}: refused, nothing was cached'
            + (what_now or ' (a changed or corrupt file; try again, or report it if it persists)'))


def _refuse_unverifiable(entry: ZooEntry) -> None:
    raise InputError(f'zoo {entry.alias}: no published sha256 for this file, so hrvision does not trust it '
                     f'silently; to accept it anyway: hrvision zoo get {entry.alias} --no-verify (API: '
                     'verify=False); its sha256 is then printed and recorded in the converted checkpoint')


def _timm_file(entry: ZooEntry) -> tuple[str, str, bool]:
    """The timm tag's file from the HF cache, verified against the hub's LFS sha256 (the name huggingface_hub gives
    the blob the snapshot links to). A cache without that link (a copied file) cannot be verified: said, recorded."""
    from .hub import cached_file
    path = cached_file(entry.timm_tag)
    blob = osp.basename(osp.realpath(path))
    digest = sha256_file(path)
    verified = bool(re.fullmatch(r'[0-9a-f]{64}', blob))
    if verified and digest != blob:
        raise HashMismatchError(f'zoo {entry.alias}: {path} has sha256 {digest}, the hub states {blob}: refused, '
                                'nothing was cached (remove it from the Hugging Face cache and run again)')
    if not verified:
        print(f'hrvision zoo: {entry.alias}: {path} is not a hub blob named by its sha256, so it cannot be checked '
              f'against the hub; accepted with sha256 {digest}', file=sys.stderr)
    return path, digest, verified


def get(alias: str, *, verify: bool = True, file: str | None = None, progress: bool = True,
        force: bool = False) -> str:
    """The converted checkpoint of ``alias`` (local path): from the cache, else fetched (or ``file``), verified,
    converted once and cached. ``verify=False`` accepts an entry that has no published hash."""
    entry = get_entry(alias)
    out = converted_path(entry)
    if osp.isfile(out) and not force and file is None:
        if entry.hash_kind == 'none':   # said every time it is used, not only when it was fetched
            print(f'hrvision zoo: {alias}: the cached copy was accepted without a published hash (--no-verify): '
                  f'{out}', file=sys.stderr)
        return out
    if file is None and not entry.urls and not entry.timm_tag and not osp.isfile(source_path(entry)):
        raise MissingFileError(f'zoo {alias}: no download link ({entry.note or "a manual download"}); or put the file '
                               f'at {source_path(entry)} and add --no-verify')
    if entry.hash_kind == 'none' and verify:
        _refuse_unverifiable(entry)
    verified = entry.hash_kind != 'none'
    if file is not None:
        if not osp.isfile(file):
            raise MissingFileError(f'zoo {alias}: --file {file} not found')
        src, digest = file, sha256_file(file)
        _check_hash(entry, digest, file)
        verified = entry.hash_kind in ('full', 'prefix')   # a timm tag's copy by hand: no hub hash to hold it to
    elif entry.timm_tag:
        src, digest, verified = _timm_file(entry)
    else:
        src = source_path(entry)
        if osp.isfile(src):   # placed by an earlier download or by hand: checked again
            digest = sha256_file(src)
            _check_hash(entry, digest, src, f'; remove {src} (it is not the published file) and run again')
        elif offline():
            raise MissingFileError(f'zoo {alias}: not cached and HF_HUB_OFFLINE is set, so nothing is downloaded: '
                                   + _what_to_fetch(entry))
        else:
            src, digest = download(entry, progress)   # hashed as it streamed
    if entry.hash_kind == 'none':
        print(f'hrvision zoo: {alias}: accepted without a published hash (--no-verify): sha256 {digest}',
              file=sys.stderr)
    convert(entry, src, digest, out, verified)
    return out


def _read_source(path: str) -> Any:
    """The published file's object, read with ``weights_only``; OpenMMLab files may hold numpy arrays and scalars
    in ``meta`` (dataset metainfo): those (and only those numpy reconstruction types, under the numpy 1 and 2 module
    names a file may carry) are allowed on a second try. Anything else pickled is refused."""
    from .weights import CheckpointError, read_checkpoint_file
    try:
        return read_checkpoint_file(path)
    except CheckpointError as e:
        if 'Weights only load failed' not in str(e.__cause__ or ''):
            raise
    import numpy as np
    import torch
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    allowed: list = [np.ndarray, np.dtype] + \
        [type(np.dtype(t)) for t in ('float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8',
                                     'bool', 'U', 'O')]
    for name in ('_reconstruct', 'scalar'):
        fn = getattr(multiarray, name)
        allowed += [(fn, f'{module}.{name}') for module in ('numpy.core.multiarray', 'numpy._core.multiarray')]
    with torch.serialization.safe_globals(allowed):
        return read_checkpoint_file(path)


def build_model(entry: ZooEntry, meta: bool = False):
    """The zoo entry's model (CPU, initialised; ``meta``: shapes only, no memory), or its HRNet backbone for
    ImageNet weights."""
    from contextlib import nullcontext

    import torch
    where = torch.device('meta') if meta else nullcontext()
    if entry.config is None:
        from .backbones.hrnet import build_hrnet
        with where:
            return build_hrnet(entry.arch)
    from mmengine.registry import init_default_scope

    from .engine.config_checks import load_config_file
    from .engine.runner import apply_options
    from .registry import MODELS
    from .zoo import apply_entry_options
    cfg = load_config_file(entry.config_path())
    apply_entry_options(cfg, entry.alias)   # the settings the source was trained with
    apply_options(cfg, {})
    init_default_scope('hrvision')
    with where:
        model = MODELS.build(cfg.model)
    return model.eval()


def load_source(entry: ZooEntry, sd: dict, model, name: str = '<source>'):
    """Put the published state dict ``sd`` into ``model``: entries that are no weights (the official seg loss
    state; the ImageNet classifier for backbone entries) are dropped, everything else goes through
    ``load_weights(strict=True)``, which maps the layout. Returns (report, dropped keys)."""
    from .weights import load_weights
    drop = _NOT_WEIGHTS if entry.config is not None else re.compile(f'{_NOT_WEIGHTS.pattern}|{_IMAGENET_HEAD.pattern}')
    dropped = sorted(k for k in sd if drop.match(k))
    kept = {k: v for k, v in sd.items() if k not in dropped}
    return load_weights(model, kept, strict=True, name=name), dropped


def entry_dataset_meta(entry: ZooEntry) -> dict | None:
    """The dataset metadata the entry's config states (:func:`config_metainfo`; detection also as ``cat_ids``), for
    the converted file's ``meta.dataset_meta``: source files from other libraries carry no category ids."""
    if entry.config is None:
        return None
    from .data.metainfo import config_metainfo
    from .engine.config_checks import load_config_file
    meta = config_metainfo(load_config_file(entry.config_path()))
    if not meta:
        return None
    meta = {k: list(v) if isinstance(v, tuple) else v for k, v in meta.items()}
    if meta.get('category_ids'):
        meta['cat_ids'] = list(meta['category_ids'])   # the detection key (tasks/detection/categories.py)
    return meta


def convert(entry: ZooEntry, src: str, digest: str, out: str, verified: bool = True):
    """Load ``src`` into the entry's model (:func:`load_source`) and store its state dict atomically at ``out``
    (with ``meta.zoo`` and the content digest)."""
    import torch

    from .atomic import atomic_path, write_with
    from .digest import add_digest
    from .weights import extract_state_dict
    sd = extract_state_dict(_read_source(src), src)
    model = build_model(entry)
    report, dropped = load_source(entry, sd, model, src)
    ckpt = {'state_dict': model.state_dict(),
            'meta': {'zoo': {'alias': entry.alias, 'source': entry.urls[0] if entry.urls else entry.timm_tag or src,
                             'sha256': digest, 'verified': verified and entry.hash_kind != 'none',
                             'source_format': entry.source_format, 'detected_format': report.format,
                             'dropped': dropped, 'config': entry.config, 'options': dict(entry.options)}}}
    meta = entry_dataset_meta(entry)
    if meta:   # as mmengine saves a training run's: classes, category ids, keypoints travel with the weights
        ckpt['meta']['dataset_meta'] = meta
    add_digest(ckpt)
    os.makedirs(osp.dirname(out), exist_ok=True)
    with atomic_path(out) as tmp:
        write_with(out, tmp, lambda f: torch.save(ckpt, f), 'zoo checkpoint')
    return report


# ------------------------------------------------------------------------------------------------ the command
def _cmd_list(args) -> int:
    from .zoo import entries, markdown_table
    if args.markdown:
        print(markdown_table(), end='')
        return 0
    rows = [e for e in entries().values() if args.task in (None, e.task)]
    print(f'{"alias":<36}{"task":<16}{"dataset":<13}{"metric":<16}{"size":>9}  cached')
    for e in rows:
        out = converted_path(e)
        size = f'{osp.getsize(out) / 2**20:.0f} MiB' if osp.isfile(out) else '-'
        print(f'{e.alias:<36}{e.task:<16}{e.dataset:<13}{e.metric:<16}{size:>9}  {"yes" if osp.isfile(out) else "no"}')
    return 0


def _cmd_get(args) -> int:
    path = get(args.alias, verify=not args.no_verify, file=args.file, force=args.force)
    print(path)
    return 0


def configure(p) -> None:
    """``hrvision zoo list|get``."""
    from .zoo import TASKS
    sub = p.add_subparsers(dest='zoo_command', required=True)
    q = sub.add_parser('list', help='the zoo: alias, task, dataset, metric, size, cached or not')
    q.add_argument('--task', choices=TASKS)
    q.add_argument('--markdown', action='store_true', help="the README's table")
    q.set_defaults(func=_cmd_list)
    q = sub.add_parser('get', help='download, verify and convert a zoo checkpoint once; prints its path')
    q.add_argument('alias')
    q.add_argument('--file', help='use this copy of the published file (downloaded by hand); its hash is checked')
    q.add_argument('--no-verify', action='store_true',
                   help='accept a file the publisher gives no hash for (its sha256 is printed and recorded)')
    q.add_argument('--force', action='store_true', help='convert again even if the converted file is cached')
    q.set_defaults(func=_cmd_get)


__all__ = ['get', 'download', 'convert', 'converted_path', 'source_path', 'checkpoint_dir', 'is_cached',
           'HashMismatchError', 'configure']
