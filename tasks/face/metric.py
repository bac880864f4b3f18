"""Face alignment metrics: NME (official normalisations), failure rate, CED and its AUC.

NME per image = sum_i ||pred_i - gt_i|| / (K * d) with the official normaliser d (SPEC §4.3):

=======  ===  =====================================================
dataset   K   d
=======  ===  =====================================================
WFLW      98  inter-ocular: ||gt[60] - gt[72]|| (outer eye corners)
300W      68  ||gt[36] - gt[45]||
COFW      29  ||gt[8] - gt[9]||
AFLW      19  the annotation's ``box_size``
=======  ===  =====================================================

The metric (:class:`FaceNMEMetric`, in the runner) reads the normaliser from the dataset metadata: ``norm_indices``
(the WFLW preset states ``(60, 72)``; a 300W-style set ``(36, 45)``, COFW ``(8, 9)``), or ``norm='bbox'`` for the
annotation's ``box_size`` (AFLW); a set that states neither is refused before evaluating. The table above remains the
default of :func:`compute_nme` called without metadata (benchmark code, official parity).

FR@t = share of images with NME > t (official). The official code has no AUC; we report
AUC@t = (1/t) * integral_0^t CED(e) de of the empirical CED (share of images with NME <= e),
integrated *exactly*: the CED is a step function, so the integral equals
``mean_i max(0, 1 - NME_i / t)``. (The widely used snippet of HRNet-Facial-Landmark-Detection
issue #6 samples the CED every 1e-4 and applies Simpson's rule; it agrees to about 1e-4.)
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from hrvision.data.metainfo import keypoint_count
from hrvision.engine.metric_files import DatasetMetaMetric
from hrvision.errors import ConfigError
from hrvision.registry import METRICS

NORM_INDICES = {98: (60, 72), 68: (36, 45), 29: (8, 9)}


def _np(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x, np.float64)


def normaliser(gt, box_size=None, norm_indices=None, by_box: bool = False) -> np.ndarray:
    """(N, K, 2) ground truth -> (N,) normalising distance: ``||gt[a] - gt[b]||`` for ``norm_indices`` (a, b), else
    ``box_size`` with ``by_box``, else the official rule for K (AFLW, 19 points: ``box_size``)."""
    gt = _np(gt)
    k = gt.shape[1]
    if norm_indices is not None:
        a, b = (int(i) for i in norm_indices)
        if not (0 <= a < k and 0 <= b < k):
            raise ValueError(f'norm_indices {[a, b]} are outside 0..{k - 1} ({k} landmarks)')
        return np.linalg.norm(gt[:, a] - gt[:, b], axis=-1)
    if k == 19 or by_box:
        if box_size is None:
            raise ValueError('AFLW (19 points) NME is normalised by box_size; none was given')
        return _np(box_size).reshape(-1)
    if k not in NORM_INDICES:
        raise ValueError(f'no official NME normalisation for {k} landmarks; expected 98 (WFLW), 68 (300W), '
                         f'29 (COFW) or 19 (AFLW), or norm_indices')
    a, b = NORM_INDICES[k]
    return np.linalg.norm(gt[:, a] - gt[:, b], axis=-1)


def compute_nme(pred, gt, box_size=None, norm_indices=None, by_box: bool = False) -> np.ndarray:
    """Per-image NME, (N,), as the official ``compute_nme`` (normaliser: :func:`normaliser`)."""
    pred, gt = _np(pred), _np(gt)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 2:
        raise ValueError(f'pred and gt must both be (N, K, 2); got {pred.shape} and {gt.shape}')
    d = normaliser(gt, box_size, norm_indices, by_box)
    if np.any(d <= 0):
        raise ValueError(f'zero normalising distance for images {np.flatnonzero(d <= 0).tolist()[:10]} '
                         f'(coincident eye corners / zero box_size)')
    return np.linalg.norm(pred - gt, axis=-1).sum(1) / (d * gt.shape[1])


def metadata_norm(meta: dict | None, where: str = 'FaceNMEMetric') -> tuple[str, tuple[int, int] | None]:
    """``('points', (a, b))`` from ``norm_indices``, ``('bbox', None)`` from ``norm='bbox'``; metadata stating
    neither is refused (``ConfigError``, one line naming the field)."""
    meta = meta or {}
    if meta.get('norm_indices') is not None:
        a, b = (int(i) for i in meta['norm_indices'])
        k = keypoint_count(meta)
        if k and not (0 <= a < k and 0 <= b < k):
            raise ConfigError(f'{where}: the dataset metainfo.norm_indices {[a, b]} is outside 0..{k - 1} '
                              f'({k} landmarks)')
        return 'points', (a, b)
    if meta.get('norm') == 'bbox':
        return 'bbox', None
    raise ConfigError(f"{where}: the dataset metainfo has no norm_indices (the two landmarks whose distance "
                      f"normalises NME, e.g. WFLW's outer eye corners (60, 72), 300W's (36, 45)) and no norm='bbox' "
                      f"(the annotation's box_size, as AFLW); state one in the dataset's metainfo")


def norm_label(norm: tuple | None) -> str:
    """The CED axis label for a :func:`metadata_norm` result (``None``: the official rule for the count)."""
    if norm is None:
        return 'NME'
    return 'NME (box size)' if norm[0] == 'bbox' else f'NME (landmarks {norm[1][0]}-{norm[1][1]})'


def failure_rate(nme, threshold: float) -> float:
    nme = _np(nme)
    return float((nme > threshold).mean()) if nme.size else float('nan')


def ced_curve(nme, threshold: float, num: int = 1001) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative error distribution sampled at ``num`` errors in [0, threshold]: (errors, share <= e)."""
    nme = np.sort(_np(nme))
    e = np.linspace(0.0, threshold, num)
    return e, np.searchsorted(nme, e, side='right') / max(len(nme), 1)


def auc(nme, threshold: float) -> float:
    """Area under the CED up to ``threshold``, divided by it (exact integral of the step function)."""
    nme = _np(nme)
    if not nme.size:
        return float('nan')
    return float(np.clip(1.0 - nme / threshold, 0.0, 1.0).mean())


def summarize(nme, thresholds: Sequence[float] = (0.08, 0.10)) -> dict[str, float]:
    """``{'NME', 'FR@t', 'AUC@t', 'count'}``; NME/FR/AUC as fractions (not %)."""
    nme = _np(nme)
    out = {'NME': float(nme.mean()) if nme.size else float('nan'), 'count': int(nme.size)}
    for t in thresholds:
        out[f'FR@{t:.2f}'] = failure_rate(nme, t)
        out[f'AUC@{t:.2f}'] = auc(nme, t)
    return out


def subset_groups(tags: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
    """Positions of the results in each named subset (a face may be in several, e.g. AFLW full and frontal)."""
    names = list(dict.fromkeys(t for ts in tags for t in ts))   # in order of first appearance
    return {n: np.asarray([i for i, ts in enumerate(tags) if n in ts], np.int64) for n in names}


def official_lines(groups: dict[str, np.ndarray], thresholds: Sequence[float] = (0.08, 0.10)) -> str:
    """One line per subset, laid out as the official face test prints its result (``nme:0.0334 [008]:0.0100
    [010]:0.0050``), followed by our AUC at each threshold and the image count."""
    lines = []
    for name, nme in groups.items():
        nme = _np(nme)
        s = summarize(nme, thresholds)
        fr = ' '.join(f'[{int(round(t * 100)):03d}]:{s[f"FR@{t:.2f}"]:.4f}' for t in thresholds)
        auc_ = ' '.join(f'auc@{t:.2f}:{s[f"AUC@{t:.2f}"]:.4f}' for t in thresholds)
        lines.append(f'Test Results {name:<12} nme:{s["NME"]:.4f} {fr} {auc_} images:{s["count"]}')
    return '\n'.join(lines)


def plot_ced(curves: dict[str, np.ndarray], threshold: float, path: str, title: str = 'CED',
             xlabel: str = 'NME (inter-ocular)') -> str:
    """Write a CED plot (one line per named NME array) as PNG with matplotlib's Agg backend.

    The x axis runs to ``threshold`` (the AUC limit, dashed) or further when most errors are larger,
    so that weak models still show a curve."""
    import matplotlib
    matplotlib.use('Agg', force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    every = np.concatenate([_np(v).ravel() for v in curves.values()]) if curves else np.zeros(0)
    x_max = threshold if not every.size else max(threshold, min(1.0, float(np.quantile(every, 0.95)) * 1.1))
    fig = Figure(figsize=(5.5, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    for name, nme in curves.items():
        e, c = ced_curve(nme, x_max)
        ax.plot(e, c, label=f'{name} (AUC@{threshold:.2f} {auc(nme, threshold):.4f})')
    ax.axvline(threshold, color='0.4', linestyle='--', linewidth=1)
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel('fraction of images')
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc='lower right', fontsize=7)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path)
    return path


@METRICS.register_module()
class FaceNMEMetric(DatasetMetaMetric, BaseMetric):
    """NME / FR / AUC on ``pred_keypoints`` vs metainfo ``ori_keypoints`` (original-image pixels).

    The normaliser comes from the ``dataset_meta`` the runner hands the metric (:func:`metadata_norm`: the
    dataset's ``norm_indices`` or ``norm='bbox'``; refused when it states neither); without any dataset_meta (a
    metric used on its own) the official rule for the landmark count applies.

    Also reports the NME of the images flagged with each WFLW attribute (``attributes``
    metainfo) when present, and NME / FR / AUC per official subset (``subsets`` metainfo: 300W full / common /
    challenging, COFW test, AFLW full / frontal; keys ``NME_<subset>``, ``FR@0.10_<subset>``, ...), logged one line
    per subset as the official test prints it. ``out_dir``: write per-image results (JSON) and the CED PNG there.
    """

    default_prefix = 'face'

    def __init__(self, thresholds: Sequence[float] = (0.08, 0.10), attribute_names: Sequence[str] | None = None,
                 out_dir: str | None = None, collect_device: str = 'cpu', prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        from .dataset import ATTRIBUTES
        self.thresholds = tuple(thresholds)
        self.attribute_names = tuple(attribute_names or ATTRIBUTES)
        self.out_dir = out_dir
        self._norm = None

    def on_dataset_meta(self, meta) -> None:
        """Set by the runner when the loop is built: the normaliser is checked here, before any image."""
        self._norm = metadata_norm(meta) if meta is not None else None

    def process(self, data_batch, data_samples: Sequence) -> None:
        for ds in data_samples:
            get = ds.get if isinstance(ds, dict) else (lambda k, d=None, _ds=ds: _ds.get(k, d))
            meta = ds if isinstance(ds, dict) else ds.metainfo
            pred = _np(get('pred_keypoints'))
            gt = _np(meta['ori_keypoints'])
            box = meta.get('box_size')
            if self._norm is None:     # no dataset metadata: the official rule for K
                nme = compute_nme(pred[None], gt[None], None if box is None else [box])[0]
            elif self._norm[0] == 'points':
                nme = compute_nme(pred[None], gt[None], norm_indices=self._norm[1])[0]
            else:
                if box is None:
                    raise ConfigError("FaceNMEMetric: the dataset metainfo has norm='bbox' but the annotation has "
                                      "no box_size (an HRNet CSV with a box_size column)")
                nme = compute_nme(pred[None], gt[None], [box], by_box=True)[0]
            attrs = _np(meta.get('attributes', [])).astype(int).tolist()
            self.results.append(dict(img_id=meta.get('img_id'), sample_idx=meta.get('sample_idx'), nme=float(nme),
                                     pred=pred.tolist(), attributes=attrs,
                                     subsets=[str(s) for s in (meta.get('subsets') or ())]))

    def compute_metrics(self, results: list) -> dict[str, float]:
        nme = np.array([r['nme'] for r in results])
        out = summarize(nme, self.thresholds)
        metrics = {k: v for k, v in out.items() if k != 'count'}
        attrs = [r['attributes'] for r in results]
        if attrs and all(len(a) == len(self.attribute_names) for a in attrs):
            flags = np.asarray(attrs, bool)
            for j, name in enumerate(self.attribute_names):
                if flags[:, j].any():
                    metrics[f'NME_{name}'] = float(nme[flags[:, j]].mean())
        groups = subset_groups([r.get('subsets') or () for r in results])
        for name, idx in groups.items():   # official subsets (300W common / challenging, AFLW frontal)
            part = summarize(nme[idx], self.thresholds)
            metrics.update({f'{k}_{name}': v for k, v in part.items() if k != 'count'})
        if groups:
            from mmengine.logging import print_log
            print_log('\n' + official_lines({n: nme[i] for n, i in groups.items()}, self.thresholds),
                      logger='current')
        if self.out_dir:
            os.makedirs(self.out_dir, exist_ok=True)
            with open(osp.join(self.out_dir, 'face_predictions.json'), 'w') as f:
                json.dump(results, f)
            curves = {n: nme[i] for n, i in groups.items()} if groups else {'test': nme}   # one line per subset
            plot_ced(curves, max(self.thresholds), osp.join(self.out_dir, 'ced.png'), xlabel=norm_label(self._norm))
        return metrics


# what the INT8 / BF16 export compares (hrvision.quantize): NME as a fraction (0.0460 = 4.60 %), lower is better;
# 0.05 NME points (%) by default
from hrvision.quantize import register_deploy_metric  # noqa: E402
register_deploy_metric('NME', higher_better=False, max_drop=0.0005, scale='fraction, 0.01 = 1 NME point')
