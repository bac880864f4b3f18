"""MPII PCKh as the official pose repo scores it (``lib/dataset/mpii.py`` ``evaluate``), and ``pred.mat``.

The ground truth is the official ``annot/gt_valid.mat`` (MATLAB v5, read with ``scipy.io.loadmat`` through :mod:`hrvision.data.matfile`):

* ``dataset_joints``: the 16 joint names in MPII order (``rank rkne rhip lhip lkne lank pelvis thorax neck head
  rwri relb rsho lsho lelb lwri``); the table rows look joints up by these names, as officially;
* ``pos_gt_src`` (16, 2, N): the joints, 1-based pixels; ``jnt_missing`` (16, N): 1 = not labelled
  (``jnt_visible = 1 - jnt_missing``); ``headboxes_src`` (2, 2, N): each head box's two corners [[x1, y1], [x2, y2]].

The protocol, per evaluated entry n and joint j (predictions 0-based in hrvision, +1 to the file's 1-based pixels):

* ``headsize[n] = ||headbox corner 2 - corner 1|| * SC_BIAS`` (the box diagonal, ``SC_BIAS`` 0.6);
* ``err[j, n] = ||pred - gt|| / headsize[n]``; a joint counts as correct when ``err <= thr`` and it is visible;
* ``PCKh[j] = 100 * correct[j] / visible[j]`` (percent, as the official table prints);
* table rows: Head (``head``, the head top), Shoulder / Elbow / Wrist / Hip / Knee / Ankle (the mean of left and
  right); ``Mean``: the joints' PCKh@0.5 weighted by their visible counts, pelvis (6) and thorax (7) left out
  (the upper neck counts in the mean although no row shows it), as officially;
* ``Mean@0.1``: the same mean at the official code's threshold, ``np.arange(0, 0.51, 0.01)[11]`` = **0.11** (it
  reads row 11 of its 0.00..0.50 sweep; kept, so numbers compare with the official 37.7; ``low_thr=0.1`` gives
  mmpose's PCKh@0.1).

Where the official code divides by zero (a joint visible in no evaluated entry) that joint's PCKh is NaN and it
weighs 0 in the means (officially the mean itself would be NaN). A head box of zero size is refused.

Predictions are written as the MPII server takes them, also for the unlabelled test split: ``pred.mat`` with
``preds`` (N, 16, 2), 1-based pixels, in the annotation file's entry order (``scipy.io.savemat``, atomically: :func:`hrvision.data.matfile.write_mat`).
"""
from __future__ import annotations

import os.path as osp
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hrvision.data.matfile import read_mat, write_mat
from hrvision.engine.metric_files import DatasetMetaMetric
from hrvision.errors import ConfigError, DataError
from hrvision.metrics import default_out_dir
from hrvision.registry import METRICS

SC_BIAS = 0.6
#: ``dataset_joints`` of the official gt_valid.mat: MPII order (configs/_base_/datasets/mpii.py names them)
MAT_JOINTS = ('rank', 'rkne', 'rhip', 'lhip', 'lkne', 'lank', 'pelvis', 'thorax', 'neck', 'head', 'rwri', 'relb',
              'rsho', 'lsho', 'lelb', 'lwri')
#: the official evaluation leaves these joint indices out of the means (``PCKh.mask[6:8]``: pelvis, thorax)
LEFT_OUT = (6, 7)
ROWS = (('Head', ('head',)), ('Shoulder', ('lsho', 'rsho')), ('Elbow', ('lelb', 'relb')), ('Wrist', ('lwri', 'rwri')),
        ('Hip', ('lhip', 'rhip')), ('Knee', ('lkne', 'rkne')), ('Ankle', ('lank', 'rank')))
NAMES = tuple(r for r, _ in ROWS) + ('Mean', 'Mean@0.1')
#: the official ``Mean@0.1`` threshold: row 11 of ``np.arange(0, 0.5 + 0.01, 0.01)``, i.e. 0.11
OFFICIAL_LOW_THR = float(np.arange(0, 0.5 + 0.01, 0.01)[11])
GT_FIELDS = ('dataset_joints', 'jnt_missing', 'pos_gt_src', 'headboxes_src')


def _mat_names(value, path: str) -> tuple[str, ...]:
    """``dataset_joints`` as loadmat returns it (a 1x16 cell of 1-element string arrays, or a char matrix)."""
    arr = np.asarray(value)
    out = []
    for item in arr.reshape(-1):
        while isinstance(item, np.ndarray):
            if item.size != 1:
                break
            item = item.reshape(-1)[0]
        if isinstance(item, np.ndarray) and item.dtype.kind == 'U':
            item = ''.join(item.reshape(-1).tolist())
        out.append(str(item).strip())
    return tuple(out)


def load_gt_mat(path: str | None, where: str = 'MPIIPoseMetric') -> dict:
    """The official ``gt_valid.mat`` -> ``dict(pos_gt_src (16, 2, N), jnt_missing (16, N), headboxes_src (2, 2, N),
    joints (names))``, float64. Refused in one line (``ConfigError`` when not given, ``DataError`` naming the file
    and field otherwise): nothing is derived when it is absent."""
    if not path:
        raise ConfigError(f'{where}: gt_file is not set: PCKh needs the official head boxes, from annot/gt_valid.mat '
                          f'(set {where.split()[0]}.gt_file; nothing is derived without it)')
    if not osp.isfile(path):
        raise DataError(f'{path}: the MPII ground truth (gt_file of {where}) does not exist; PCKh needs its head '
                        'boxes (the official annot/gt_valid.mat, or hrvision data synth-mpii for a synthetic one)')
    mat = read_mat(path, 'MPII ground truth', v73=False)
    missing = [k for k in GT_FIELDS if k not in mat]
    if missing:
        raise DataError(f'{path}: the MPII ground truth has no {", ".join(missing)} (a gt_valid.mat holds '
                        f'{", ".join(GT_FIELDS)})')
    names = _mat_names(mat['dataset_joints'], path)
    if names != MAT_JOINTS:
        raise DataError(f'{path}: field "dataset_joints" must name the 16 MPII joints in MPII order '
                        f'({" ".join(MAT_JOINTS)}); got {" ".join(names)[:120]}')
    k = len(MAT_JOINTS)
    try:
        pos = np.asarray(mat['pos_gt_src'], np.float64)
        miss = np.asarray(mat['jnt_missing'], np.float64)
        boxes = np.asarray(mat['headboxes_src'], np.float64)
    except (TypeError, ValueError) as e:
        raise DataError(f'{path}: pos_gt_src / jnt_missing / headboxes_src must be numeric arrays ({e})') from None
    if pos.ndim == 2:   # a single entry: MATLAB drops the trailing singleton dimension
        pos = pos[:, :, None]
    if miss.ndim == 1:
        miss = miss[:, None]
    if boxes.ndim == 2:
        boxes = boxes[:, :, None]
    n = pos.shape[-1] if pos.ndim == 3 else -1
    for field, arr, shape in (('pos_gt_src', pos, (k, 2, n)), ('jnt_missing', miss, (k, n)),
                              ('headboxes_src', boxes, (2, 2, n))):
        if n < 1 or arr.shape != shape:
            want = 'x'.join('N' if s == n else str(s) for s in shape)
            raise DataError(f'{path}: field "{field}" must have shape {want} (16 joints, N entries); got '
                            f'{"x".join(map(str, arr.shape))}')
    if not np.isin(miss, (0, 1)).all():
        raise DataError(f'{path}: field "jnt_missing" must hold 0/1 flags (1 = joint not labelled)')
    size = np.linalg.norm(boxes[1] - boxes[0], axis=0)
    bad = np.flatnonzero(~(size > 0))
    if len(bad):
        raise DataError(f'{path}: field "headboxes_src": entry {int(bad[0])} (0-based) has a head box of zero size '
                        f'({len(bad)} such); PCKh divides by the head size')
    return dict(pos_gt_src=pos, jnt_missing=miss, headboxes_src=boxes, joints=names)


def pckh(preds: np.ndarray, gt: dict, columns: Sequence[int] | None = None, thr: float = 0.5,
         low_thr: float | None = None) -> tuple[dict[str, float], np.ndarray]:
    """``preds`` (n, 16, 2) in the file's 1-based pixels, for the ground-truth ``columns`` (default all, in order)
    -> (the table as ``NAMES`` -> percent, per-joint PCKh@thr (16,)). See the module docstring."""
    cols = np.arange(gt['pos_gt_src'].shape[-1]) if columns is None else np.asarray(columns, int)
    pos = gt['pos_gt_src'][:, :, cols]
    visible = 1.0 - gt['jnt_missing'][:, cols]
    heads = np.linalg.norm(gt['headboxes_src'][1][:, cols] - gt['headboxes_src'][0][:, cols], axis=0) * SC_BIAS
    err = np.linalg.norm(np.transpose(np.asarray(preds, np.float64), (1, 2, 0)) - pos, axis=1)   # (16, n)
    scaled = err / heads[None, :] * visible
    count = visible.sum(axis=1)

    keep = np.ones(len(count), bool)
    keep[list(LEFT_OUT)] = False
    total = count[keep].sum()

    def per_joint(t: float) -> tuple[np.ndarray, float]:
        """PCKh per joint at ``t`` and the count-weighted mean over the kept joints. The official
        ``sum(PCKh * count / total)`` is written ``100 * hits / total`` (equal up to rounding), which gives
        exactly 100 for perfect predictions whatever the counts (the official form gives 99.99999999999999 for
        some)."""
        hit = ((scaled <= t) * visible).sum(axis=1)
        with np.errstate(invalid='ignore', divide='ignore'):
            joint = np.where(count > 0, 100.0 * hit / np.where(count > 0, count, 1), np.nan)
        return joint, float(100.0 * hit[keep].sum() / total) if total > 0 else float('nan')

    at, table_mean = per_joint(thr)
    index = {n: i for i, n in enumerate(gt.get('joints', MAT_JOINTS))}
    table = {row: float(np.mean([at[index[j]] for j in joints])) for row, joints in ROWS}
    table['Mean'] = table_mean
    table['Mean@0.1'] = per_joint(OFFICIAL_LOW_THR if low_thr is None else low_thr)[1]
    return table, at


def format_table(table: dict[str, float], arch: str = 'pose_hrnet') -> str:
    """The official ``_print_name_value`` layout (``lib/core/function.py``): ``| Arch | Head | ... |``, ``|---|...``,
    ``| pose_hrnet | 97.100 | ...``; an arch name over 15 characters is cut to 8 + ``...``."""
    arch = arch[:8] + '...' if len(arch) > 15 else arch
    return '\n'.join(['| Arch ' + ' '.join(f'| {n}' for n in table) + ' |', '|---' * (len(table) + 1) + '|',
                      f'| {arch} ' + ' '.join(f'| {v:.3f}' for v in table.values()) + ' |'])


def read_pred_mat(path: str, n: int | None = None) -> np.ndarray:
    """A ``pred.mat`` as the MPII server takes it (``preds`` (N, 16, 2), 1-based pixels) -> float64 array; refused
    in one line (``DataError`` naming the file and field) when it is not one, or holds another count than ``n``
    (the ground truth's entries, matched by position)."""
    if not osp.isfile(path):
        raise DataError(f'{path}: the MPII predictions file does not exist (a pred.mat from hrvision test --out DIR)')
    mat = read_mat(path, 'MPII predictions file', v73=False)
    if 'preds' not in mat:
        keys = [k for k in mat if not k.startswith('__')]
        raise DataError(f'{path}: has no field "preds" (N x 16 x 2 joints, 1-based pixels); it holds '
                        f'{", ".join(keys) or "nothing"}')
    try:
        preds = np.asarray(mat['preds'], np.float64)
    except (TypeError, ValueError):
        raise DataError(f'{path}: field "preds" must be a numeric array (N x 16 x 2)') from None
    if preds.ndim == 2 and preds.shape == (len(MAT_JOINTS), 2):   # one entry: MATLAB's squeezed form
        preds = preds[None]
    if preds.ndim != 3 or preds.shape[1:] != (len(MAT_JOINTS), 2):
        raise DataError(f'{path}: field "preds" must have shape Nx16x2 (entries, MPII joints, x y); got '
                        f'{"x".join(map(str, preds.shape))}')
    if n is not None and preds.shape[0] != n:
        raise DataError(f'{path}: field "preds" holds {preds.shape[0]} entries but the ground truth holds {n}; '
                        'the official evaluation matches them by position (predict the whole split, in file order)')
    if not np.isfinite(preds).all():
        raise DataError(f'{path}: field "preds" holds NaN or infinite coordinates')
    return preds


def write_pred_mat(path: str, preds: np.ndarray) -> str:
    """``preds`` (N, 16, 2), 1-based pixels -> ``pred.mat`` (``preds``) as the MPII server takes it; complete or
    not at all."""
    return write_mat(path, {'preds': np.asarray(preds, np.float64)}, 'MPII predictions')


@METRICS.register_module()
class MPIIPoseMetric(DatasetMetaMetric, BaseMetric):
    """PCKh on MPII (module docstring); keys ``mpii/Head`` ... ``mpii/Mean``, ``mpii/Mean@0.1`` (percent).

    Args:
        gt_file: the official ``annot/gt_valid.mat`` of the evaluated split (its head boxes, joints, missing
            flags); required to score, checked when the loop is built (its entry count must be the dataset's).
        out_dir: where ``pred.mat`` goes (default: the Runner's work dir; ``hrvision test --out DIR``).
        format_only: write ``pred.mat`` and score nothing: the test split (no public labels). Scoring an
            unlabelled split is refused.
        thr: the PCKh threshold of the rows and ``Mean`` (official 0.5).
        low_thr: the ``Mean@0.1`` threshold; None = the official code's 0.11 (module docstring).
        arch: the name in the printed table's Arch column.
    """

    default_prefix = 'mpii'

    def __init__(self, gt_file: str | None = None, out_dir: str | None = None, format_only: bool = False,
                 thr: float = 0.5, low_thr: float | None = None, arch: str = 'pose_hrnet',
                 collect_device: str = 'cpu', prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.gt_file, self.out_dir, self.format_only = gt_file, out_dir, format_only
        self.thr, self.low_thr, self.arch = float(thr), low_thr, arch

    # ---- checks when the loop is built -----------------------------------------------------------
    def on_dataset_meta(self, meta) -> None:
        meta = meta or {}
        if self.format_only:
            return
        if meta.get('mpii_labelled') is False:
            raise ConfigError(f'MPIIPoseMetric: {meta.get("ann_file", "the evaluated file")} has no joints (the MPII '
                              'test split): it cannot be scored; set test_evaluator.format_only=True (with hrvision '
                              'test --out DIR) to write pred.mat for the MPII server')
        if 'mpii_entries' not in meta:   # predictions are matched to gt_valid.mat by the entry's position
            raise ConfigError(f'MPIIPoseMetric scores MPIIPoseDataset (the official annot/*.json, whose entry order is '
                              f'the order of {self.gt_file or "gt_valid.mat"}); the evaluated dataset '
                              f'({meta.get("ann_file", "of another type")}) is not one')
        from hrvision.data.metainfo import parse_metainfo
        names = parse_metainfo(dict(from_file='_base_/datasets/mpii.py'), 'MPIIPoseMetric')['keypoint_names']
        if tuple(meta.get('keypoint_names') or names) != tuple(names):
            raise ConfigError(f'MPIIPoseMetric: the dataset names its joints {list(meta["keypoint_names"])[:3]}...; '
                              f'the PCKh table reads them in the MPII order ({", ".join(names[:3])}, ...)')
        self._gt(meta)

    def _gt(self, meta: dict | None) -> dict:
        gt = load_gt_mat(self.gt_file)
        n = (meta or {}).get('mpii_entries')
        if n is not None and gt['pos_gt_src'].shape[-1] != int(n):
            raise DataError(f'{self.gt_file}: holds {gt["pos_gt_src"].shape[-1]} entries but the evaluated '
                            f'{meta.get("ann_file", "annotation file")} has {n}; the official evaluation matches '
                            'them by position: use the gt_*.mat of the same split')
        return gt

    # ---- evaluation ------------------------------------------------------------------------------
    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            if 'pred_keypoints' not in s or 'id' not in s:
                raise KeyError('MPIIPoseMetric needs pred_keypoints and the entry id in the data samples '
                               '(MPIIPoseDataset + the model in predict mode)')
            p = s['pred_keypoints']
            p = p.detach().cpu().numpy() if hasattr(p, 'detach') else np.asarray(p)
            self.results.append(dict(id=int(s['id']), pred=np.asarray(p, np.float64)[:, :2]))

    def compute_metrics(self, results: list) -> dict[str, float]:
        logger = MMLogger.get_current_instance()
        meta = self.dataset_meta or {}
        by_id: dict[int, np.ndarray] = {}
        for r in results:
            by_id.setdefault(r['id'], r['pred'])   # a padded distributed batch repeats entries: first kept
        ids = sorted(by_id)
        preds = np.stack([by_id[i] for i in ids]) + 1.0   # 0-based -> the file's 1-based pixels, as officially
        if preds.shape[1] != len(MAT_JOINTS):   # before pred.mat is written: the server reads 16 joints
            raise ConfigError(f'MPIIPoseMetric: predictions have {preds.shape[1]} joints; MPII has 16')
        out_dir = self.out_dir or default_out_dir('hrvision_mpii_')
        path = write_pred_mat(osp.join(out_dir, 'pred.mat'), preds)
        total = meta.get('mpii_entries')
        logger.info(f'MPII predictions ({len(ids)} entries{f" of {total}" if total else ""}) written to {path}')
        if self.format_only:
            return {}
        if meta.get('mpii_labelled') is False:
            self.on_dataset_meta(meta)   # raises: an unlabelled split cannot be scored
        gt = self._gt(meta)
        n = gt['pos_gt_src'].shape[-1]
        if ids[-1] >= n:
            raise DataError(f'{self.gt_file}: holds {n} entries, but entry {ids[-1]} was evaluated; the metric and '
                            'the dataset read different splits')
        table, _ = pckh(preds, gt, ids, self.thr, self.low_thr)
        logger.info('\n' + format_table(table, self.arch))
        return table


__all__ = ['MPIIPoseMetric', 'load_gt_mat', 'pckh', 'format_table', 'read_pred_mat', 'write_pred_mat', 'SC_BIAS',
           'MAT_JOINTS', 'OFFICIAL_LOW_THR']

# what the INT8 / BF16 export compares (hrvision.quantize): MPII's mean PCKh@0.5 in percent, 0.5 point by default
from hrvision.quantize import register_deploy_metric  # noqa: E402
register_deploy_metric('Mean', higher_better=True, max_drop=0.5, scale='percent')
