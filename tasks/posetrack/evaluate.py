"""The PoseTrack protocol (the official evaluator, poseval): per-joint AP and per-joint CLEAR-MOT figures.

Conventions reproduced (poseval ``evaluateAP`` / ``evaluateTracking``):

* frames that count: ground-truth frames that are labelled and hold at least one person; predictions are
  paired with them by image id (then file name); predictions on other frames are not scored;
* ignore regions: every ground-truth and predicted point inside an ignore polygon of the frame is removed,
  and a person left without points is removed;
* 15 joints (ears are not scored); match radius ``0.5 x head size``, head size = 0.6 x the head-box diagonal;
* per frame, each prediction is assigned to the ground-truth person with the highest PCKh (the share of
  that person's annotated joints within the radius): each prediction keeps only its best person, each person
  keeps its best remaining prediction (``assign='poseval'``; ``'hungarian'`` maximises the total instead);
* AP per joint: every predicted joint ranked by its score, true when its person is assigned and the joint is
  within the radius, VOC area under the interpolated precision/recall curve; Total = mean over the joints
  with a value, groups = mean of their joints;
* tracking, per video and per joint: ground-truth ids against predicted ids, pairs within the radius at their
  normalised distance (others may not pair), CLEAR-MOT accumulation; the last counted frame of each video is
  not scored (poseval drops it); misses, switches and false positives summed over videos:
  MOTA = 1 - (misses + switches + false positives) / objects, MOTP = 1 - mean matched distance,
  precision = matches / (matches + false positives), recall = matches / objects; Total = mean over joints;
* predicted joints without a score (``"scores": []``) rank with poseval's stand-in score -9999.

Where hrvision differs from poseval (``docs/posetrack.md`` says why; every other figure is the same):

* for a frame without any prediction poseval scores a stand-in of one object and one hypothesis per joint
  (1 miss + 1 false positive whatever the number of people); here every annotated joint of such a frame is a
  miss;
* MOTP: poseval sums the distances of *every* pairable object/hypothesis pair the accumulator saw (with
  motmetrics >= 1.2 its ``events`` table holds the candidate pairs as RAW rows), also pairs never matched;
  here only matched pairs (MATCH / SWITCH events), as MOTP is defined;
* a figure without data is NaN with the reason in ``res['notes']`` (printed under the table): MOTP of a joint
  without a match (poseval: 0.0, averaged into its Total), MOTA / precision / recall when no frame is scored
  for tracking (no video has two labelled frames with people).

``mot_backend='motmetrics'`` accumulates with ``motmetrics.MOTAccumulator`` (as the official code);
``'hrvision'`` with :class:`ClearMot`, the same algorithm in a few lines (the tests check that they agree).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrvision.errors import DataError, InputError, MissingFileError

from .formats import MISSING_SCORE, Frame, Video
from .joints import EVAL_FROM_17, EVAL_JOINTS, GROUPS


def linear_sum_assignment(cost):
    """scipy's Hungarian matching, imported on first use (``scipy.optimize`` adds 0.4 s to every command's start)."""
    from scipy.optimize import linear_sum_assignment as hungarian
    return hungarian(cost)


DIST_THR = 0.5
NJ = len(EVAL_JOINTS)
COLUMNS = tuple(name for name, _ in GROUPS) + ('Total',)


@dataclass
class _People:
    xy: np.ndarray      # (N, 15, 2)
    has: np.ndarray     # (N, 15) bool
    score: np.ndarray   # (N, 15)
    track: np.ndarray   # (N,)
    head: np.ndarray    # (N,) head size (ground truth)


def _inside(points: np.ndarray, polygons: list) -> np.ndarray:
    from matplotlib.path import Path
    out = np.zeros(len(points), bool)
    for poly in polygons:
        out |= Path(poly).contains_points(points)
    return out


def _people(people: list, polygons: list, gt: bool) -> _People:
    xy, has, score, track, head = [], [], [], [], []
    for p in people:
        kp = p.keypoints[EVAL_FROM_17]
        h = p.annotated[EVAL_FROM_17].copy()
        if polygons:
            h &= ~_inside(kp[:, :2], polygons)
            if not h.any():
                continue
        xy.append(kp[:, :2])
        has.append(h)
        score.append(p.scores[EVAL_FROM_17] if p.scores is not None else np.zeros(NJ))
        track.append(-1 if p.track_id is None else p.track_id)
        if gt:
            hb = p.head_box or [0, 0, 0, 0]
            head.append(0.6 * float(np.hypot(hb[2], hb[3])))
    n = len(xy)
    return _People(np.asarray(xy, np.float64).reshape(n, NJ, 2), np.asarray(has, bool).reshape(n, NJ),
                   np.asarray(score, np.float64).reshape(n, NJ), np.asarray(track, np.int64), np.asarray(head))


def frame_distances(gt: _People, pr: _People) -> np.ndarray:
    """(P, G, 15) head-normalised distances; inf where the joint is missing on either side."""
    d = np.linalg.norm(pr.xy[:, None] - gt.xy[None], axis=-1) / np.maximum(gt.head, 1e-12)[None, :, None]
    return np.where(pr.has[:, None] & gt.has[None], d, np.inf)


def assign(match: np.ndarray, gt_has: np.ndarray, how: str = 'poseval') -> np.ndarray:
    """(P,) index of the ground-truth person each prediction is assigned to, -1 for none (module docstring)."""
    n_gt = gt_has.sum(1)
    pck = match.sum(2).astype(np.float64)
    pck = np.where(n_gt[None] > 0, pck / np.maximum(n_gt[None], 1), pck)
    out = np.full(match.shape[0], -1)
    if how == 'hungarian':
        rows, cols = linear_sum_assignment(-pck)
        keep = pck[rows, cols] > 0
        out[rows[keep]] = cols[keep]
        return out
    best = np.argmax(pck, axis=1)
    only = np.zeros_like(pck)
    only[np.arange(len(pck)), best] = pck[np.arange(len(pck)), best]
    pr_of_gt = np.argmax(only, axis=0)
    pr_of_gt[only.max(axis=0) == 0] = -1
    for g, p in enumerate(pr_of_gt):
        if p >= 0:
            out[p] = g
    return out


def voc_ap(scores: np.ndarray, labels: np.ndarray, n_gt: float) -> float:
    """Area under the interpolated precision/recall curve (poseval ``computeRPC`` + ``VOCap``): 0 without
    predictions, NaN (left out of Total) with predictions but no annotated joint."""
    if len(scores) == 0:
        return 0.0
    if n_gt == 0:
        return float('nan')
    order = np.asarray(scores).argsort()[::-1]
    tp = np.cumsum(np.asarray(labels)[order])
    rec = np.concatenate([[0.0], tp / n_gt, [1.0]])
    pre = np.concatenate([[0.0], tp / np.arange(1, len(tp) + 1), [0.0]])
    pre = np.maximum.accumulate(pre[::-1])[::-1]
    step = np.nonzero(rec[1:] != rec[:-1])[0] + 1
    return float(np.sum((rec[step] - rec[step - 1]) * pre[step]) * 100)


class ClearMot:
    """CLEAR-MOT accumulation for one sequence (the algorithm of motmetrics' ``MOTAccumulator.update``):
    pairs matched in earlier frames are kept while they stay pairable; the rest are matched by minimum total
    distance; a match whose object was last matched to another hypothesis is a switch."""

    def __init__(self) -> None:
        self.last: dict = {}
        self.misses = self.switches = self.false_positives = self.objects = self.matches = 0
        self.dist_sum = 0.0

    def update(self, oids, hids, dists) -> None:
        oids, hids = list(oids), list(hids)
        d = np.array(dists, np.float64).reshape(len(oids), len(hids))
        self.objects += len(oids)
        free_o, free_h = set(range(len(oids))), set(range(len(hids)))
        for i, o in enumerate(oids):
            if o in self.last and self.last[o] in hids:
                j = hids.index(self.last[o])
                if j in free_h and np.isfinite(d[i, j]):
                    free_o.discard(i), free_h.discard(j)
                    self.matches += 1
                    self.dist_sum += d[i, j]
        rows, cols = sorted(free_o), sorted(free_h)
        if rows and cols:
            sub = d[np.ix_(rows, cols)]
            ok = np.isfinite(sub)
            if ok.any():
                r, c = linear_sum_assignment(np.where(ok, sub, 1e6 + np.nanmax(np.where(ok, sub, 0))))
                for a, b in zip(r, c):
                    if not ok[a, b]:
                        continue
                    i, j = rows[a], cols[b]
                    o, h = oids[i], hids[j]
                    if o in self.last and self.last[o] != h:
                        self.switches += 1
                    self.matches += 1
                    self.dist_sum += d[i, j]
                    self.last[o] = h
                    free_o.discard(i), free_h.discard(j)
        self.misses += len(free_o)
        self.false_positives += len(free_h)

    def counts(self) -> dict:
        return dict(num_misses=self.misses, num_switches=self.switches, num_false_positives=self.false_positives,
                    num_objects=self.objects, num_detections=self.matches,
                    sum_distance=self.dist_sum)


class _MotmetricsAcc:
    """``motmetrics.MOTAccumulator`` behind :class:`ClearMot`'s interface."""

    def __init__(self) -> None:
        try:
            import motmetrics
        except ImportError:
            raise InputError('mot_backend="motmetrics" needs the motmetrics package: pip install '
                             'motmetrics==1.4.0 (or pip install hrvision[posetrack]); or use '
                             'mot_backend="hrvision"') from None
        self.mm = motmetrics
        self.acc = motmetrics.MOTAccumulator(auto_id=True)

    def update(self, oids, hids, dists) -> None:
        self.acc.update(list(oids), list(hids), np.asarray(dists, np.float64).reshape(len(oids), len(hids)))

    def counts(self) -> dict:
        names = ['num_misses', 'num_switches', 'num_false_positives', 'num_objects', 'num_detections']
        m = self.mm.metrics.create().compute(self.acc, metrics=names, return_dataframe=False, name='acc')
        ev = self.acc.mot_events     # without the RAW rows of motmetrics >= 1.2
        d = ev[ev['Type'].isin(['MATCH', 'SWITCH'])]['D'].sum() if len(ev) else 0.0
        return {**{k: int(m[k]) for k in names}, 'sum_distance': 0.0 if np.isnan(d) else float(d)}


def _pair_frames(gt: Video, pr: Video) -> list[tuple[Frame, Frame | None]]:
    by_id = {f.image_id: f for f in pr.frames}
    by_name = {f.file_name: f for f in pr.frames}
    out, paired = [], 0
    for f in gt.frames:
        if not (f.is_labeled and f.people):
            continue
        p = by_id.get(f.image_id) or by_name.get(f.file_name)
        paired += p is not None
        out.append((f, p))
    if out and not paired and pr.frames:
        raise DataError(f'{pr.path}: none of its {len(pr.frames)} frames has the image id or file name of a '
                        f'labelled frame of {gt.path} (predictions must keep the ground truth\'s image ids)')
    return out


def _check_unique_tracks(video: Video) -> None:
    for f in video.frames:
        ids = [p.track_id for p in f.people]
        if None in ids:
            raise DataError(f'{video.path}: image {f.image_id} has a person without "track_id" (tracking '
                            'needs an id per predicted person)')
        if len(set(ids)) != len(ids):
            raise DataError(f'{video.path}: image {f.image_id} ({f.file_name}) has a track id twice: {sorted(ids)}')


def evaluate(gt: dict[str, Video], pred: dict[str, Video], assign_mode: str = 'poseval',
             mot_backend: str = 'motmetrics') -> dict:
    """Ground-truth and prediction videos (``{name: Video}``, as :func:`~.formats.read_dir` returns) -> every
    figure: ``ap`` / ``mota`` per joint and per column, ``motp`` / ``precision`` / ``recall`` totals, counts."""
    if assign_mode not in ('poseval', 'hungarian'):
        raise InputError(f'assign must be "poseval" or "hungarian", got {assign_mode!r}')
    acc_cls = {'motmetrics': _MotmetricsAcc, 'hrvision': ClearMot}.get(mot_backend)
    if acc_cls is None:
        raise InputError(f'mot_backend must be "motmetrics" or "hrvision", got {mot_backend!r}')
    missing = sorted(set(gt) - set(pred))
    if missing:
        raise MissingFileError(f'no prediction file for {len(missing)} ground-truth video(s): '
                               f'{", ".join(m + ".json" for m in missing[:5])}{" ..." if len(missing) > 5 else ""}')
    scores = [[] for _ in range(NJ)]
    labels = [[] for _ in range(NJ)]
    n_gt = np.zeros(NJ)
    totals = [dict.fromkeys(('num_misses', 'num_switches', 'num_false_positives', 'num_objects', 'num_detections',
                             'sum_distance'), 0.0) for _ in range(NJ)]
    n_frames = n_mot_frames = 0
    default_scored = sum(p.default_scores for v in pred.values() for f in v.frames for p in f.people)
    for name in sorted(gt):
        _check_unique_tracks(pred[name])
        pairs = _pair_frames(gt[name], pred[name])
        accs = [acc_cls() for _ in range(NJ)]
        for k, (gf, pf) in enumerate(pairs):
            g = _people(gf.people, gf.ignore_regions, gt=True)
            p = _people(pf.people if pf else [], gf.ignore_regions, gt=False)
            dist = frame_distances(g, p)
            match = dist <= DIST_THR
            owner = assign(match, g.has, assign_mode) if len(p.has) and len(g.has) else np.full(len(p.has), -1)
            for j in range(NJ):
                sel = p.has[:, j]
                scores[j] += p.score[sel, j].tolist()
                hit = np.array([owner[i] >= 0 and match[i, owner[i], j] for i in np.nonzero(sel)[0]], bool)
                labels[j] += hit.tolist()
            n_gt += g.has.sum(0)
            n_frames += 1
            if k == len(pairs) - 1:      # poseval scores tracking on all counted frames but the last
                continue
            n_mot_frames += 1
            for j in range(NJ):
                gi, pi = np.nonzero(g.has[:, j])[0], np.nonzero(p.has[:, j])[0]
                d = dist[np.ix_(pi, gi, [j])][..., 0].T if len(gi) and len(pi) else np.zeros((len(gi), len(pi)))
                d = np.where(d <= DIST_THR, d, np.nan)
                accs[j].update(g.track[gi].tolist(), p.track[pi].tolist(), d)
        for j in range(NJ):
            for key, v in accs[j].counts().items():
                totals[j][key] += v
    if not n_frames:
        raise DataError('no labelled frame with people in the ground truth: nothing to evaluate')
    res = _summarise(scores, labels, n_gt, totals, n_frames, n_mot_frames, len(gt))
    if default_scored:
        res['counts']['people_without_scores'] = default_scored
        res['notes'].insert(0, f'{default_scored} predicted people have "scores": [] (no joint scores): their '
                               f'joints rank with the official evaluator\'s stand-in score {MISSING_SCORE:g}, '
                               'below every scored joint')
    return res


def _summarise(scores, labels, n_gt, totals, n_frames, n_mot_frames, n_videos) -> dict:
    ap = np.array([voc_ap(np.asarray(scores[j]), np.asarray(labels[j], float), n_gt[j]) for j in range(NJ)])
    mota, motp, pre, rec = (np.full(NJ, np.nan) for _ in range(4))
    for j, t in enumerate(totals):
        obj, det, fp = t['num_objects'], t['num_detections'], t['num_false_positives']
        if obj > 0:
            mota[j] = 100 * (1 - (t['num_misses'] + t['num_switches'] + fp) / obj)
            rec[j] = 100 * det / obj
        if det > 0:     # undefined without a match: NaN (poseval prints 0.0; docs/posetrack.md)
            motp[j] = 100 * (1 - t['sum_distance'] / det)
        if det + fp > 0:
            pre[j] = 100 * det / (det + fp)
    notes = []
    if not n_mot_frames:
        notes.append('MOTA, MOTP, precision, recall: NaN: no frame is scored for tracking (the last labelled '
                     'frame of each video is not scored, so a video needs two labelled frames with people; '
                     f'none of the {n_videos} video(s) has)')
    elif not np.isfinite(motp).any():
        notes.append('MOTP: NaN: no predicted joint was matched in a tracking frame (the mean distance of no '
                     'match is undefined)')
    elif not np.isfinite(motp).all():
        none = [EVAL_JOINTS[j] for j in range(NJ) if not np.isfinite(motp[j])]
        notes.append(f'MOTP of {", ".join(none)}: NaN (no match), left out of the Total')

    def table(v: np.ndarray) -> dict:
        cols = {name: float(np.mean(v[list(ids)])) for name, ids in GROUPS}
        cols['Total'] = float(np.nanmean(v)) if np.isfinite(v).any() else float('nan')
        return cols

    def per_joint(v: np.ndarray) -> dict:
        return {EVAL_JOINTS[j]: float(v[j]) for j in range(NJ)}

    return dict(ap=table(ap), mota=table(mota), motp=table(motp)['Total'], precision=table(pre)['Total'],
                recall=table(rec)['Total'], ap_per_joint=per_joint(ap), mota_per_joint=per_joint(mota),
                counts=dict(videos=n_videos, frames=n_frames, tracking_frames=n_mot_frames,
                            joints=int(n_gt.sum()), switches=int(sum(t['num_switches'] for t in totals)),
                            misses=int(sum(t['num_misses'] for t in totals)),
                            false_positives=int(sum(t['num_false_positives'] for t in totals))),
                notes=notes)


def format_table(res: dict) -> str:
    """The article's Table 3 layout: mAP and MOTA per joint group, then MOTP / precision / recall."""
    head = f'{"":<6}' + ''.join(f'{c:>9}' for c in COLUMNS)
    rows = [head, f'{"mAP":<6}' + ''.join(f'{res["ap"][c]:>9.1f}' for c in COLUMNS),
            f'{"MOTA":<6}' + ''.join(f'{res["mota"][c]:>9.1f}' for c in COLUMNS),
            f'MOTP {res["motp"]:.1f}  Precision {res["precision"]:.1f}  Recall {res["recall"]:.1f}  '
            f'({res["counts"]["videos"]} videos, {res["counts"]["frames"]} frames)']
    rows += [f'note: {n}' for n in res.get('notes', ())]
    return '\n'.join(rows)
