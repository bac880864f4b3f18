"""Dataset metadata, one concept for every task (the keys and their layering: ``docs/custom_data.md``, "Metadata").

A dataset states its metadata once (class names, palette, keypoint names, flip pairs, skeleton, OKS sigmas,
joint weights, NME normalisation points), in a config's ``metainfo=dict(...)``, in a file it points to
(``from_file='_base_/datasets/coco.py'`` -- a python file holding ``dataset_info = dict(...)`` -- or a JSON
object), or in the data itself (COCO ``categories[].keypoints`` / ``skeleton``). Everything downstream (flip
transforms, flip test, heads' channel counts, metrics, visualisers, checkpoints' ``meta.dataset_meta``) reads the
parsed dict, never a module constant.

* :func:`parse_metainfo` -- resolve ``from_file``, validate, derive ``flip_pairs`` (``left_*``/``right_*`` names)
  and ``flip_indices``; returns a new JSON-serialisable dict.
* :func:`from_coco_categories` -- COCO categories -> metadata (1-based skeleton -> 0-based).
* :func:`merge_metainfo` -- the layering a dataset uses: class preset < the data file < the config.
* :func:`flip_indices` -- flip pairs -> the index permutation (``flipped[k] = original[perm[k]]``).
"""
from __future__ import annotations

import copy
import json
import math
import os
import os.path as osp
import re
from typing import Any, Iterable, Sequence

from hrvision.errors import ConfigError, DataError, HRVisionError, did_you_mean

#: keys this module knows (validated); any other key is kept as it is
KNOWN_KEYS = ('classes', 'palette', 'category_ids', 'keypoint_names', 'num_keypoints', 'flip_pairs',
              'flip_indices', 'skeleton', 'sigmas', 'joint_weights', 'norm_indices', 'ignore_index', 'from_file',
              'upper_body_ids', 'category_id', 'flip_class_pairs', 'flip_class_indices')
#: keys that describe keypoints: a data file that states its own keypoints replaces all of them
KEYPOINT_KEYS = ('keypoint_names', 'num_keypoints', 'flip_pairs', 'flip_indices', 'skeleton', 'sigmas',
                 'joint_weights', 'norm_indices', 'upper_body_ids')

_FILE_CACHE: dict[tuple[str, float], dict] = {}


def _fail(kind: type, source: str, msg: str):
    raise kind(f'{source}: {msg}')


def flip_indices(num: int, flip_pairs: Iterable[Sequence[int]]) -> list[int]:
    """``perm`` with ``flipped[k] = original[perm[k]]``: identity with every pair swapped."""
    perm = list(range(int(num)))
    for a, b in flip_pairs:
        perm[a], perm[b] = b, a
    return perm


def sided_class_indices(names: Sequence[str], stated_pairs: Iterable[Sequence[int]] | None = None,
                        source: str = 'metainfo') -> list[int] | None:
    """The class permutation of a horizontal flip for classes named by side (``left_hand`` / ``right_hand``:
    :func:`derive_flip_pairs`), or None when no class has a mirror: a flipped box or mask of one side is the other.
    ``stated_pairs``: the config's ``flip_class_pairs`` instead of the names (``[]``: no class swaps, for names
    such as ``L`` / ``R`` that are not sides); a pair outside the classes is a ``ConfigError`` naming ``source``."""
    if stated_pairs is None:
        pairs = derive_flip_pairs(names)
    else:
        pairs = [tuple(p) for p in stated_pairs]
        for p in pairs:
            if len(p) != 2 or not all(_is_int(i) and 0 <= int(i) < len(names) for i in p):
                _fail(ConfigError, source, f'metainfo.flip_class_pairs {p!r} must be a pair of class indices in '
                                           f'0..{len(names) - 1} (the classes: {", ".join(map(str, names[:6]))}...)')
        pairs = [(int(a), int(b)) for a, b in pairs]
    return flip_indices(len(names), pairs) if pairs else None


def keypoint_count(meta: dict | None) -> int | None:
    """The metadata's keypoint count: the parsed ``num_keypoints``, else (a dict not parsed, e.g. an older
    checkpoint's) the number of ``keypoint_names``; None when it states neither."""
    meta = meta or {}
    if meta.get('num_keypoints') is not None:
        return int(meta['num_keypoints'])
    return len(meta['keypoint_names']) if meta.get('keypoint_names') else None


def resolve_flip_indices(data, flip_pairs, num: int, where: str, what: str = 'keypoints') -> list[int]:
    """The permutation a flip uses: the sample's ``flip_indices`` (the dataset metadata's); a deprecated
    ``flip_pairs`` argument (of the transform ``where``) must agree with it, and serves data without metadata.
    One rule for every flip transform; errors are one-line ``ConfigError``."""
    own = None
    if flip_pairs is not None:
        pairs = [tuple(int(v) for v in p) for p in flip_pairs]
        bad = [p for p in pairs if len(p) != 2 or not all(0 <= i < num for i in p)]
        if bad:
            raise ConfigError(f'{where}.flip_pairs {bad[0]} names {what} outside 0..{num - 1} ({num} {what})')
        own = flip_indices(num, pairs)
    if data is None:
        if own is None:
            raise ConfigError(f'{where}: the sample has no flip_indices (the dataset metadata puts them in each '
                              f'sample: keypoint_names with left/right names or metainfo.flip_pairs)')
        return own
    data = [int(i) for i in data]
    if len(data) != num:
        raise ConfigError(f'{where}: the dataset metainfo has flip_indices for {len(data)} {what} but the sample '
                          f'has {num}')
    if own is not None and own != data:
        raise ConfigError(f'{where} flip_pairs={list(flip_pairs)} disagrees with the dataset\'s flip_indices {data}; '
                          'leave flip_pairs out of the pipeline, the dataset metadata states them')
    return data


_LEFT, _RIGHT = ('left', 'l'), ('right', 'r')


def _name_tokens(name: str) -> list[str]:
    """``'LeftHand'``, ``'left hand'``, ``'l_hand'``, ``'hand-L'`` -> lower-case words (camel case split)."""
    name = re.sub(r'([a-z0-9])([A-Z])', r'\1 \2', name)
    name = re.sub(r'([A-Z])([A-Z][a-z])', r'\1 \2', name)
    return [w.lower() for w in re.split(r'[^A-Za-z0-9]+', name) if w]


def _side(name: str) -> tuple[str, tuple] | None:
    """(``'l'``/``'r'``, the name's words with the side word blanked), None for a name without exactly one side word."""
    words = _name_tokens(name)
    at = [i for i, w in enumerate(words) if w in _LEFT + _RIGHT]
    if len(at) != 1:
        return None
    i = at[0]
    return ('l' if words[i] in _LEFT else 'r'), tuple(words[:i] + ['*'] + words[i + 1:])


def _looks_sided(name: str) -> bool:
    """A name that seems to say left or right: a side word, or a word starting with 'left'/'right' ('lefteye')."""
    return any(w in _LEFT + _RIGHT or w.startswith(('left', 'right')) for w in _name_tokens(name))


def derive_flip_pairs(names: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs ``(left, right)`` found among ``names``, in the left names' order: one side word (``left``/``l``,
    ``right``/``r``; any case) as a prefix, suffix or inner word, separated by ``_``, ``-``, ``.``, spaces or
    camel case (``left_eye``/``right_eye``, ``wing_left``, ``l_hand``/``r_hand``, ``LeftHand``/``RightHand``,
    ``left eye``), the other words equal."""
    rights: dict[tuple, int] = {}
    for i, n in enumerate(names):
        s = _side(n)
        if s is not None and s[0] == 'r':
            rights.setdefault(s[1], i)
    pairs = []
    for i, n in enumerate(names):
        s = _side(n)
        if s is not None and s[0] == 'l' and s[1] in rights:
            pairs.append((i, rights.pop(s[1])))
    return pairs


def _check_unpaired(names: Sequence[str], pairs, kind: type, source: str) -> None:
    """Names that look left/right but pair with nothing would make the flip average left with right: refused
    unless ``flip_pairs`` is stated (``flip_pairs=[]`` for a set without mirror pairs)."""
    paired = {i for p in pairs for i in p}
    odd = [n for i, n in enumerate(names) if i not in paired and _looks_sided(n)]
    if odd:
        _fail(kind, source, f'metainfo.keypoint_names {", ".join(repr(n) for n in odd[:4])}'
                            f'{" ..." if len(odd) > 4 else ""} look like left/right keypoints but pair with no '
                            'other name; state metainfo.flip_pairs (0-based (left, right) pairs; flip_pairs=[] if '
                            'none mirror)')


def resolve_from_file(name: str, source: str, data_root: str | None = None) -> str:
    """The one lookup of a ``from_file``: absolute as it is; relative in ``data_root`` first (the data's own
    ``metainfo.json`` follows ``--data-root``), then the current folder, then the shipped configs
    (``_base_/datasets/coco.py``). The error says where it looked."""
    from hrvision.configs_path import CONFIG_ROOT
    name = osp.expanduser(str(name))
    if osp.isabs(name):
        places, cands = [], [name]
    else:
        places = ([f'data_root {data_root!r}'] if data_root else []) + ['the current folder', CONFIG_ROOT]
        cands = ([osp.join(data_root, name)] if data_root else []) + [name, osp.join(CONFIG_ROOT, name)]
    for cand in cands:
        if osp.isfile(cand):
            return osp.abspath(cand)
    where = f' (looked in {", ".join(places)}; e.g. from_file=\'_base_/datasets/coco.py\')' if places else ''
    _fail(ConfigError, source, f'metainfo.from_file {name!r} does not exist{where}')


def rebase_from_file(metainfo, data_root: str | None, source: str):
    """``metainfo`` with a relative ``from_file`` replaced by the file :func:`resolve_from_file` finds (datasets
    call it with their ``data_root`` before anything reads the file); anything else unchanged."""
    if isinstance(metainfo, dict) and isinstance(metainfo.get('from_file'), str):
        return dict(metainfo, from_file=resolve_from_file(metainfo['from_file'], source, data_root))
    return metainfo


def load_metainfo_file(name: str, source: str) -> dict:
    """The metadata a ``from_file`` names: ``dataset_info = dict(...)`` in a python config file, or a JSON object
    (optionally under a ``dataset_info`` key). Cached by path and modification time; a copy is returned."""
    path = resolve_from_file(name, source)
    key = (path, os.stat(path).st_mtime)
    if key not in _FILE_CACHE:
        if path.endswith('.json'):
            try:
                with open(path, encoding='utf-8') as f:
                    data = json.load(f)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
                _fail(ConfigError, path, f'cannot read the metainfo file: {e}')
        elif path.endswith('.py'):
            from mmengine.config import Config
            try:
                data = Config.fromfile(path).to_dict()
            except Exception as e:  # noqa: BLE001 -- a syntax error or bad _base_ in a user's file
                _fail(ConfigError, path, f'cannot read the metainfo file: {type(e).__name__}: {e}')
        else:
            _fail(ConfigError, source, f'metainfo.from_file {name!r}: expected a .py file (dataset_info = dict(...)) '
                                       'or a .json file')
        if isinstance(data, dict) and isinstance(data.get('dataset_info'), dict):
            data = data['dataset_info']
        elif path.endswith('.py'):
            _fail(ConfigError, path, 'a metainfo file must define dataset_info = dict(...)')
        if not isinstance(data, dict):
            _fail(ConfigError, path, f'a metainfo file must hold an object, got {type(data).__name__}')
        _FILE_CACHE[key] = data
    return copy.deepcopy(_FILE_CACHE[key])


# ---- validation helpers ------------------------------------------------------------------------------------

def _is_int(v) -> bool:
    import numpy as np
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_num(v) -> bool:
    import numpy as np
    return (isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
            and math.isfinite(float(v)))


def _seq(v) -> bool:
    import numpy as np
    return isinstance(v, (list, tuple, np.ndarray))


def _names(meta, key, kind, source):
    v = meta[key]
    if isinstance(v, str) or not _seq(v):
        _fail(kind, source, f'metainfo.{key} must be a list of names, got {type(v).__name__}')
    out = []
    for i, n in enumerate(v):
        if not isinstance(n, str) or not n:
            _fail(kind, source, f'metainfo.{key}[{i}] must be a non-empty string, got {n!r}')
        out.append(n)
    seen = {}
    for i, n in enumerate(out):
        if n in seen:
            _fail(kind, source, f'metainfo.{key} names {n!r} twice (at {seen[n]} and {i})')
        seen[n] = i
    return tuple(out)


def _numbers(meta, key, kind, source, positive=False):
    v = meta[key]
    if not _seq(v):
        _fail(kind, source, f'metainfo.{key} must be a list of numbers, got {type(v).__name__}')
    out = []
    for i, x in enumerate(list(v)):
        if not _is_num(x) or (positive and float(x) <= 0) or float(x) < 0:
            what = 'a positive number' if positive else 'a number >= 0'
            _fail(kind, source, f'metainfo.{key}[{i}] must be {what}, got {x!r}')
        out.append(float(x))
    return out


def _pairs(meta, key, num, kind, source):
    v = meta[key]
    if not _seq(v):
        _fail(kind, source, f'metainfo.{key} must be a list of (i, j) index pairs, got {type(v).__name__}')
    out = []
    for n, p in enumerate(list(v)):
        if not _seq(p) or len(p) != 2 or not all(_is_int(x) for x in p):
            _fail(kind, source, f'metainfo.{key}[{n}] must be a pair of 0-based integer indices, got {p!r}')
        a, b = int(p[0]), int(p[1])
        if num is None:
            _fail(kind, source, f'metainfo.{key} needs keypoint_names (or num_keypoints) to check its indices')
        for x in (a, b):
            if not 0 <= x < num:
                _fail(kind, source, f'metainfo.{key}[{n}] = {tuple(p)} is outside 0..{num - 1} '
                                    f'({num} keypoints; indices are 0-based)')
        if a == b:
            _fail(kind, source, f'metainfo.{key}[{n}] = {tuple(p)} links a keypoint to itself')
        out.append((a, b))
    return out


def parse_metainfo(meta: dict | None, source: str, *, kind: type = ConfigError) -> dict:
    """Validate ``meta`` and fill what derives from it; return a new dict (lists/tuples, JSON-serialisable).

    ``source`` names where the metadata comes from (config file, data file) and starts every error message;
    ``kind`` is the error class (``ConfigError``; ``DataError`` when the source is a data file). ``from_file``
    is read first, the other keys of ``meta`` override it. ``flip_pairs`` is derived from ``left_*``/``right_*``
    names when absent; ``flip_indices`` and ``num_keypoints`` are always derived (a stated value that
    contradicts them is an error). Parsing an already parsed dict returns an equal dict."""
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        _fail(kind, source, f'metainfo must be a dict, got {type(meta).__name__}')
    meta = dict(meta)
    if meta.get('from_file') is not None:
        base = load_metainfo_file(meta.pop('from_file'), source)
        if 'from_file' in base:
            _fail(ConfigError, source, 'a metainfo file cannot name another from_file')
        base.update(meta)
        meta = base
    meta.pop('from_file', None)
    for k in list(meta):
        if k not in KNOWN_KEYS:
            hint = did_you_mean(k, KNOWN_KEYS, cutoff=0.8)
            if hint:
                _fail(kind, source, f'unknown metainfo key {k!r}{hint}')
    out: dict[str, Any] = {k: copy.deepcopy(v) for k, v in meta.items() if k not in KNOWN_KEYS}

    # classes, palette, category ids
    classes = _names(meta, 'classes', kind, source) if meta.get('classes') is not None else None
    if classes is not None:
        out['classes'] = classes
    if meta.get('palette') is not None:
        pal = meta['palette']
        if not _seq(pal):
            _fail(kind, source, f'metainfo.palette must be a list of [r, g, b] colours, got {type(pal).__name__}')
        colours = []
        for i, c in enumerate(list(pal)):
            if not _seq(c) or len(c) != 3 or not all(_is_int(x) and 0 <= int(x) <= 255 for x in c):
                _fail(kind, source, f'metainfo.palette[{i}] must be 3 integers 0-255 (r, g, b), got {c!r}')
            colours.append([int(x) for x in c])
        if classes is not None and len(colours) != len(classes):
            _fail(kind, source, f'metainfo.palette has {len(colours)} colours but classes has {len(classes)} names')
        out['palette'] = colours
    if meta.get('category_ids') is not None:
        ids = meta['category_ids']
        if not _seq(ids) or not all(_is_int(x) for x in ids):
            _fail(kind, source, f'metainfo.category_ids must be a list of integers, got {ids!r}')
        ids = [int(x) for x in ids]
        if len(set(ids)) != len(ids):
            _fail(kind, source, f'metainfo.category_ids repeats an id: {ids}')
        if classes is not None and len(ids) != len(classes):
            _fail(kind, source, f'metainfo.category_ids has {len(ids)} ids but classes has {len(classes)} names')
        out['category_ids'] = ids
    _class_flip(meta, classes, out, kind, source)
    if meta.get('ignore_index') is not None:
        if not _is_int(meta['ignore_index']):
            _fail(kind, source, f'metainfo.ignore_index must be an integer, got {meta["ignore_index"]!r}')
        out['ignore_index'] = int(meta['ignore_index'])

    # keypoints: the count K comes from the names, else a stated num_keypoints, else sigmas / joint_weights
    names = _names(meta, 'keypoint_names', kind, source) if meta.get('keypoint_names') is not None else None
    num = len(names) if names is not None else None
    if meta.get('num_keypoints') is not None:
        nk = meta['num_keypoints']
        if not _is_int(nk) or int(nk) <= 0:
            _fail(kind, source, f'metainfo.num_keypoints must be a positive integer, got {nk!r}')
        if num is not None and int(nk) != num:
            _fail(kind, source, f'metainfo.num_keypoints is {int(nk)} but keypoint_names has {num} names')
        num = int(nk)
    ref = 'keypoint_names' if names is not None else 'num_keypoints'
    for key, pos in (('sigmas', True), ('joint_weights', False)):
        if meta.get(key) is not None:
            vals = _numbers(meta, key, kind, source, positive=pos)
            if num is None:
                num, ref = len(vals), key
            elif len(vals) != num:
                _fail(kind, source, f'metainfo.{key} has {len(vals)} values but {ref} has {num}')
            out[key] = vals
    if names is not None:
        out['keypoint_names'] = names
    if num is not None:
        out['num_keypoints'] = num
    if meta.get('flip_pairs') is not None:
        pairs = _pairs(meta, 'flip_pairs', num, kind, source)
        used: dict[int, int] = {}
        for n, (a, b) in enumerate(pairs):
            for x in (a, b):
                if x in used:
                    _fail(kind, source, f'metainfo.flip_pairs: keypoint {x} is in two pairs '
                                        f'(flip_pairs[{used[x]}] and flip_pairs[{n}])')
                used[x] = n
        out['flip_pairs'] = [list(p) for p in pairs]
    elif names is not None:
        pairs = derive_flip_pairs(names)
        _check_unpaired(names, pairs, kind, source)
        out['flip_pairs'] = [list(p) for p in pairs]
    elif num is not None:
        out['flip_pairs'] = []
    if num is not None:
        perm = flip_indices(num, out['flip_pairs'])
        stated = meta.get('flip_indices')
        if stated is not None and [int(x) for x in stated] != perm:
            _fail(kind, source, f'metainfo.flip_indices {list(stated)} contradicts flip_pairs (gives {perm}); '
                                'state flip_pairs only, flip_indices is derived')
        out['flip_indices'] = perm
    elif meta.get('flip_indices') is not None:
        _fail(kind, source, 'metainfo.flip_indices is derived from flip_pairs; state keypoint_names and flip_pairs')
    if meta.get('skeleton') is not None:
        out['skeleton'] = [list(p) for p in _pairs(meta, 'skeleton', num, kind, source)]
    if meta.get('norm_indices') is not None:
        ni = meta['norm_indices']
        if not _seq(ni) or len(ni) != 2 or not all(_is_int(x) for x in ni):
            _fail(kind, source, f'metainfo.norm_indices must be two 0-based keypoint indices, got {ni!r}')
        if num is None:
            _fail(kind, source, 'metainfo.norm_indices needs keypoint_names (or num_keypoints)')
        if not all(0 <= int(x) < num for x in ni):
            _fail(kind, source, f'metainfo.norm_indices {list(ni)} is outside 0..{num - 1} ({num} keypoints)')
        if int(ni[0]) == int(ni[1]):
            _fail(kind, source, f'metainfo.norm_indices {list(ni)} names one keypoint twice; NME normalises by the '
                                'distance between two different keypoints')
        out['norm_indices'] = [int(x) for x in ni]
    if meta.get('upper_body_ids') is not None:   # the half-body augmentation's upper body (COCO: 0..10)
        ub = meta['upper_body_ids']
        if isinstance(ub, str) or not _seq(ub) or not all(_is_int(x) for x in ub):
            _fail(kind, source, f'metainfo.upper_body_ids must be a list of 0-based keypoint indices, got {ub!r}')
        if num is None:
            _fail(kind, source, 'metainfo.upper_body_ids needs keypoint_names (or num_keypoints)')
        bad = [int(x) for x in ub if not 0 <= int(x) < num]
        if bad:
            _fail(kind, source, f'metainfo.upper_body_ids {bad} outside 0..{num - 1} ({num} keypoints)')
        if len(set(int(x) for x in ub)) != len(ub):
            _fail(kind, source, f'metainfo.upper_body_ids repeats an index: {[int(x) for x in ub]}')
        out['upper_body_ids'] = [int(x) for x in ub]
    if meta.get('category_id') is not None:   # the keypoint category's id in the file (results are tagged with it)
        cid = meta['category_id']
        if not _is_int(cid):
            _fail(kind, source, f'metainfo.category_id must be an integer (the keypoint category id), got {cid!r}')
        ids = out.get('category_ids')
        if ids is not None and int(cid) not in ids:
            _fail(kind, source, f'metainfo.category_id {int(cid)} is not one of category_ids {ids}')
        out['category_id'] = int(cid)
    return out


def _class_flip(meta: dict, classes, out: dict, kind: type, source: str) -> None:
    """Segmentation classes that swap under a horizontal flip (LIP's left-arm / right-arm): ``flip_class_pairs``
    as stated, else derived from sided class names like keypoints' (only when some pair, so class lists without
    sides keep their metadata unchanged); ``flip_class_indices`` is the derived permutation (``flipped[k] =
    original[perm[k]]``) the flip augmentation and the flip test read."""
    stated = meta.get('flip_class_pairs')
    given = meta.get('flip_class_indices')
    if given is not None and not (_seq(given) and all(_is_int(x) for x in given)):
        _fail(kind, source, f'metainfo.flip_class_indices must be a list of class indices, got {given!r}')
    if stated is None and given is not None and classes is None:
        _fail(kind, source, 'metainfo.flip_class_indices is derived from flip_class_pairs; state classes')
    if classes is None:
        if stated is not None:
            _fail(kind, source, 'metainfo.flip_class_pairs needs classes (the class names in label-index order)')
        return
    n = len(classes)
    if stated is not None:
        if not _seq(stated):
            _fail(kind, source, f'metainfo.flip_class_pairs must be a list of (i, j) class index pairs, got '
                                f'{type(stated).__name__}')
        pairs, used = [], set()
        for k, p in enumerate(list(stated)):
            if not _seq(p) or len(p) != 2 or not all(_is_int(x) for x in p):
                _fail(kind, source, f'metainfo.flip_class_pairs[{k}] must be a pair of 0-based class indices, '
                                    f'got {p!r}')
            a, b = int(p[0]), int(p[1])
            if not (0 <= a < n and 0 <= b < n) or a == b or a in used or b in used:
                _fail(kind, source, f'metainfo.flip_class_pairs[{k}] = {[a, b]}: expected two different class '
                                    f'indices in 0..{n - 1}, each in one pair only')
            used.update((a, b))
            pairs.append([a, b])
    else:
        pairs = [list(p) for p in derive_flip_pairs(classes)]
    if not pairs and stated is None:
        if given is not None and [int(x) for x in given] != list(range(n)):
            _fail(kind, source, 'metainfo.flip_class_indices contradicts the classes (no left/right class pairs); '
                                'state flip_class_pairs, flip_class_indices is derived')
        return
    perm = flip_indices(n, pairs)
    if given is not None and [int(x) for x in given] != perm:
        _fail(kind, source, f'metainfo.flip_class_indices {list(given)} contradicts flip_class_pairs (gives {perm}); '
                            'state flip_class_pairs only, flip_class_indices is derived')
    out['flip_class_pairs'] = pairs
    out['flip_class_indices'] = perm


def from_coco_categories(categories: list, path: str) -> dict:
    """The metadata a COCO file carries: ``classes`` / ``category_ids`` (every category, in file order) and,
    from the category that has ``keypoints``, ``keypoint_names`` and ``skeleton`` (1-based in the file,
    0-based here; flip pairs follow from ``left_*``/``right_*`` names). Errors are ``DataError`` naming ``path``."""
    if not isinstance(categories, list):
        _fail(DataError, path, f'"categories" must be a list, got {type(categories).__name__}')
    meta: dict[str, Any] = {}
    classes, ids, kp_cats = [], [], []
    for i, c in enumerate(categories):
        if not isinstance(c, dict) or 'id' not in c:
            _fail(DataError, path, f'categories[{i}] must be an object with an "id"')
        ids.append(c['id'])
        classes.append(str(c.get('name', c['id'])))
        if c.get('keypoints'):
            kp_cats.append((i, c))
    meta['classes'] = classes
    meta['category_ids'] = ids
    if kp_cats:
        i, cat = kp_cats[0]
        for j, other in kp_cats[1:]:
            if list(other['keypoints']) != list(cat['keypoints']):
                _fail(DataError, path, f'categories[{i}] and categories[{j}] have different keypoints; '
                                       'hrvision reads one keypoint set per file')
        kps = cat['keypoints']
        if not isinstance(kps, list) or not all(isinstance(n, str) for n in kps):
            _fail(DataError, path, f'categories[{i}].keypoints must be a list of names')
        meta['keypoint_names'] = list(kps)
        meta['category_id'] = cat['id']   # results are tagged with the file's own keypoint category
        sk = cat.get('skeleton') or []
        if not isinstance(sk, list):
            _fail(DataError, path, f'categories[{i}].skeleton must be a list of 1-based [i, j] pairs')
        links = []
        for n, p in enumerate(sk):
            if not _seq(p) or len(p) != 2 or not all(_is_int(x) for x in p):
                _fail(DataError, path, f'categories[{i}].skeleton[{n}] must be a pair of 1-based indices, got {p!r}')
            if not all(1 <= int(x) <= len(kps) for x in p):
                _fail(DataError, path, f'categories[{i}].skeleton[{n}] = {list(p)} is outside 1..{len(kps)} '
                                       '(COCO skeletons are 1-based)')
            links.append([int(p[0]) - 1, int(p[1]) - 1])
        meta['skeleton'] = links
    return parse_metainfo(meta, path, kind=DataError)


def merge_metainfo(preset: dict | None, from_data: dict | None, config: dict | None, *, config_source: str,
                   data_source: str = '') -> dict:
    """The metadata a dataset ends with, parsed once: its class preset (``METAINFO``) < what the data file
    states (COCO ``categories``: keypoint names, skeleton) < the config's ``metainfo``.

    A layer that states keypoint names different from the layer below replaces *all* keypoint keys below it
    (a 12-keypoint file does not inherit COCO's 17 sigmas; flip pairs are re-derived from its names); names
    equal to the preset's keep the preset's sigmas, weights and pairs (a plain COCO file keeps COCO's). A config
    ``keypoint_names`` that differs from the data file's is refused (the annotations are in the file's order)."""
    derived = ('flip_indices', 'num_keypoints', 'flip_class_indices')
    merged = parse_metainfo(preset, config_source) if preset else {}
    merged = {k: v for k, v in merged.items() if k not in derived}
    data = dict(from_data or {})
    cfg = dict(config or {})
    if cfg.get('from_file') is not None:
        extra = {k: v for k, v in cfg.items() if k != 'from_file'}
        cfg = load_metainfo_file(cfg['from_file'], config_source)
        cfg.update(extra)

    def layer(upper: dict) -> None:
        if upper.get('classes') is not None and tuple(upper['classes']) != tuple(merged.get('classes') or ()):
            merged.pop('flip_class_pairs', None)   # the lower layer's class pairs index other classes
        names = upper.get('keypoint_names')
        if names is not None and tuple(names) != tuple(merged.get('keypoint_names') or ()):
            for k in KEYPOINT_KEYS + ('dataset_name',):
                merged.pop(k, None)
        merged.update(upper)

    if data.get('keypoint_names'):
        names = tuple(data['keypoint_names'])
        if cfg.get('keypoint_names') is not None and tuple(cfg['keypoint_names']) != names:
            _fail(ConfigError, config_source,
                  f'metainfo.keypoint_names ({len(cfg["keypoint_names"])} names) contradicts the keypoints of '
                  f'{data_source or "the annotation file"} ({len(names)}: {", ".join(names[:4])}, ...); '
                  "the annotations are in the file's order: leave keypoint_names out of the config")
        layer({k: data[k] for k in ('keypoint_names', 'skeleton') if k in data})
    if 'classes' in data and tuple(data['classes']) != tuple(merged.get('classes') or ()):
        merged.pop('flip_class_pairs', None)
    for k in ('classes', 'category_ids', 'category_id'):   # the file's categories are the truth about the file
        if k in data:
            merged[k] = data[k]
    if 'category_ids' in data and merged.get('category_id') not in data['category_ids']:
        merged.pop('category_id', None)   # the preset's keypoint category is not in this file
    if 'classes' in data and len(merged.get('palette') or ()) != len(data['classes']):
        merged.pop('palette', None)
    layer(cfg)
    if cfg:
        return parse_metainfo(merged, config_source)
    return parse_metainfo(merged, data_source or config_source, kind=DataError if data else ConfigError)


def config_metainfo(cfg) -> dict | None:
    """The metadata a config states for its data without reading any data file: the train (else val, else test)
    dataset's class preset (``METAINFO``) with the config's ``metainfo`` on top, parsed; None when the config
    names no dataset or its class has no preset. For a model whose checkpoint carries no ``meta.dataset_meta``
    (official weights): the flip test and the pictures still follow the config's dataset."""
    from hrvision.registry import DATASETS
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key) if hasattr(cfg, 'get') else None
        ds = loader.get('dataset') if isinstance(loader, dict) else None
        if not isinstance(ds, dict) or not isinstance(ds.get('type'), str):
            continue
        cls = DATASETS.get(ds['type'])
        preset = getattr(cls, 'METAINFO', None) if cls is not None else None
        if not preset and not ds.get('metainfo'):
            continue
        source = f'{key}.dataset.metainfo'
        root = ds.get('data_root') if isinstance(ds.get('data_root'), str) else None
        try:   # the data's own metadata file (relative to data_root) may not be here: then the data decides
            own = rebase_from_file(ds.get('metainfo'), root, source)
        except ConfigError:
            return None
        try:
            return merge_metainfo(preset, None, own, config_source=source)
        except HRVisionError:
            if _needs_data_file(own, source):
                return None   # completed only by the data file (e.g. sigmas for the file's own keypoint names)
            raise   # a mistake in the config's own metadata: said now, not a silent lack of metadata at infer
    return None


_INDEX_KEYS = ('flip_pairs', 'flip_indices', 'skeleton', 'norm_indices', 'upper_body_ids')


def _needs_data_file(meta, source: str) -> bool:
    """Whether a config ``metainfo`` that failed on top of its class preset only lacks the data file's keypoint
    names: it names none itself, and on its own (index keys aside, they need the names) it is valid."""
    if not isinstance(meta, dict):
        return False
    meta = dict(meta)
    if meta.get('from_file') is not None:
        extra = {k: v for k, v in meta.items() if k != 'from_file'}
        meta = load_metainfo_file(meta['from_file'], source)
        meta.update(extra)
    if meta.get('keypoint_names') is not None or meta.get('num_keypoints') is not None:
        return False
    parse_metainfo({k: v for k, v in meta.items() if k not in _INDEX_KEYS}, source)   # raises on its own errors
    return True
