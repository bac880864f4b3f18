"""PoseTrack annotation and prediction files: the 2018 JSON format and the 2017 ``annolist`` format.

Both read into one structure, :class:`Video` (frames in file order, each with its people), with every field
checked: a bad file raises :class:`~hrvision.errors.DataError` naming the file, the entry and the field.

* 2018 (one file per video): ``images`` (``id``, ``file_name``, ``frame_id``, ``vid_id``, ``is_labeled``,
  ``ignore_regions_x`` / ``ignore_regions_y``) and ``annotations`` (``image_id``, ``track_id``, ``keypoints``
  = 17 x (x, y, v) in :data:`~.joints.POSETRACK_KEYPOINTS` order, ``bbox``, ``bbox_head``, and in predictions
  ``scores`` (17 joint scores) and ``score``).
* 2017: ``annolist`` of frames: ``image[0].name``, ``annorect`` (``x1/y1/x2/y2`` = the head box, ``track_id``,
  ``annopoints[0].point`` with poseval joint ``id``, ``x``, ``y``, ``score``), ``ignore_regions``,
  ``is_labeled``; every value wrapped in a one-element list.

A keypoint is annotated unless it is ``(0, 0)`` with visibility 0 (the official converter's rule).
:func:`write_video` writes predictions in the 2018 format the official evaluator reads.

Predictions with ``"scores": []`` (what the official converter writes when no joint has a score) are read as
the official evaluator reads them: every joint gets its stand-in score :data:`MISSING_SCORE` (-9999, ranked
last) and :attr:`Person.default_scores` is set, so the evaluation summary can say so.

Also refused (contradictions inside one file): ground-truth visibility flags outside 0/1/2, a box or head box
with a negative width or height (2017: ``x2 < x1`` / ``y2 < y1``), an annotation ``id`` used twice, a
ground-truth track id twice in one frame.
"""
from __future__ import annotations

import glob
import json
import os.path as osp
from dataclasses import dataclass, field

import numpy as np

from hrvision.atomic import atomic_write_text
from hrvision.data.coco import check_number_list, is_number, read_json
from hrvision.errors import DataError, MissingFileError

from .joints import EVAL_FROM_17, POSETRACK_KEYPOINTS

K = len(POSETRACK_KEYPOINTS)
MISSING_SCORE = -9999.0   # the official evaluator's score for a predicted joint without one (its MIN_SCORE)


@dataclass
class Person:
    keypoints: np.ndarray                 # (17, 3) x, y, v
    track_id: int | None = None
    scores: np.ndarray | None = None      # (17,) joint scores (predictions)
    bbox: list | None = None              # x, y, w, h
    head_box: list | None = None          # x, y, w, h
    score: float = 1.0
    default_scores: bool = False          # "scores": [] read as MISSING_SCORE per joint

    @property
    def annotated(self) -> np.ndarray:
        """(17,) bool: the official rule, every joint but ``(0, 0, v=0)``."""
        kp = self.keypoints
        return ~((kp[:, 0] == 0) & (kp[:, 1] == 0) & (kp[:, 2] == 0))


@dataclass
class Frame:
    image_id: int
    file_name: str
    frame_id: int
    is_labeled: bool
    ignore_regions: list = field(default_factory=list)   # (n, 2) polygons
    people: list = field(default_factory=list)


@dataclass
class Video:
    name: str
    path: str
    frames: list


def _int(value, path: str, where: str, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DataError(f'{path}: {where} field "{key}" must be an integer; got {value!r:.80}')
    return value


def _ignore_regions(img: dict, path: str, where: str) -> list:
    xs, ys = img.get('ignore_regions_x', []), img.get('ignore_regions_y', [])
    ok = isinstance(xs, list) and isinstance(ys, list) and len(xs) == len(ys)
    polys = []
    for px, py in zip(xs, ys) if ok else ():
        if not (isinstance(px, list) and isinstance(py, list) and len(px) == len(py)
                and all(map(is_number, px + py))):
            ok = False
            break
        if len(px) >= 3:
            polys.append(np.stack([px, py], 1).astype(np.float64))
    if not ok:
        raise DataError(f'{path}: {where} fields "ignore_regions_x"/"ignore_regions_y" must be two lists of '
                        'polygons, each polygon two equally long lists of numbers (x and y)')
    return polys


def _person_2018(ann: dict, path: str, where: str, predictions: bool) -> Person:
    check_number_list(ann.get('keypoints'), 3 * K, path, where, 'keypoints')
    kp = np.asarray(ann['keypoints'], np.float64).reshape(K, 3)
    track = ann.get('track_id')
    if track is not None:
        track = _int(track, path, where, 'track_id')
    elif not predictions:
        raise DataError(f'{path}: {where} lacks "track_id" (every ground-truth person needs one)')
    if not predictions and not np.isin(kp[:, 2], (0, 1, 2)).all():
        bad = sorted({float(v) for v in kp[:, 2]} - {0.0, 1.0, 2.0})
        raise DataError(f'{path}: {where} field "keypoints": visibility flags must be 0, 1 or 2; got {bad[:5]}')
    scores, default_scores = None, False
    if predictions:
        if 'scores' not in ann:
            raise DataError(f'{path}: {where} lacks "scores" (17 joint scores; keypoint AP ranks joints by them)')
        if ann['scores'] == []:    # the official format's "no joint scores": its evaluator's stand-in score
            scores, default_scores = np.full(K, MISSING_SCORE), True
        else:
            check_number_list(ann['scores'], K, path, where, 'scores')
            scores = np.asarray(ann['scores'], np.float64)
    if not is_number(ann.get('score', 1.0)):
        raise DataError(f'{path}: {where} field "score" must be a number; got {ann["score"]!r:.80}')
    person = Person(kp, track, scores, score=float(ann.get('score', 1.0)), default_scores=default_scores)
    for key, attr in (('bbox', 'bbox'), ('bbox_head', 'head_box')):
        if ann.get(key) is not None:
            check_number_list(ann[key], 4, path, where, key)
            if ann[key][2] < 0 or ann[key][3] < 0:
                raise DataError(f'{path}: {where} field "{key}" (x, y, w, h) has a negative width or height: '
                                f'{ann[key]}')
            setattr(person, attr, [float(v) for v in ann[key]])
    if not predictions and person.head_box is None and person.annotated.any():
        raise DataError(f'{path}: {where} has annotated keypoints but no "bbox_head" (x, y, w, h): the PCKh '
                        'match radius is 0.5 x 0.6 x the head box diagonal')
    return person


def _check_categories(data: dict, path: str) -> None:
    for i, cat in enumerate(data.get('categories') or []):
        names = cat.get('keypoints') if isinstance(cat, dict) else None
        if names is not None and list(names) != list(POSETRACK_KEYPOINTS):
            raise DataError(f'{path}: categories[{i}] field "keypoints" must be the 17 PoseTrack names '
                            f'{list(POSETRACK_KEYPOINTS)}; got {str(names)[:120]}')


def _read_2018(data: dict, path: str, predictions: bool) -> list[Frame]:
    for key in ('images', 'annotations'):
        if not isinstance(data.get(key), list):
            raise DataError(f'{path}: missing or non-list field "{key}" (PoseTrack 2018 format expected)')
    _check_categories(data, path)
    frames, by_id = [], {}
    for i, img in enumerate(data['images']):
        where = f'images[{i}]'
        if not isinstance(img, dict) or 'id' not in img or not isinstance(img.get('file_name'), str):
            raise DataError(f'{path}: {where} must be an object with an integer "id" and a "file_name" string')
        img_id = _int(img['id'], path, where, 'id')
        if img_id in by_id:
            raise DataError(f'{path}: {where}: duplicate image id {img_id}')
        frame_id = _int(img.get('frame_id', i), path, where, 'frame_id')
        labeled = img.get('is_labeled')
        if labeled is not None and labeled not in (True, False, 0, 1):
            raise DataError(f'{path}: {where} field "is_labeled" must be true or false; got {labeled!r:.40}')
        frame = Frame(img_id, img['file_name'], frame_id, bool(labeled) if labeled is not None else None,
                      _ignore_regions(img, path, where))
        by_id[img_id] = frame
        frames.append(frame)
    ann_ids = {}
    for i, ann in enumerate(data['annotations']):
        where = f'annotations[{i}]'
        if not isinstance(ann, dict):
            raise DataError(f'{path}: {where} must be an object; got {ann!r:.80}')
        img_id = _int(ann.get('image_id'), path, where, 'image_id')
        if img_id not in by_id:
            raise DataError(f'{path}: {where} has image_id {img_id}, not among the images of this file')
        if ann.get('id') is not None:
            ann_id = _int(ann['id'], path, where, 'id')
            if ann_id in ann_ids:
                raise DataError(f'{path}: {where} field "id": duplicate annotation id {ann_id} (also '
                                f'annotations[{ann_ids[ann_id]}])')
            ann_ids[ann_id] = i
        person = _person_2018(ann, path, where, predictions)
        if not predictions and any(p.track_id == person.track_id for p in by_id[img_id].people):
            raise DataError(f'{path}: {where} field "track_id": track id {person.track_id} twice in image '
                            f'{img_id} (one person per track and frame)')
        by_id[img_id].people.append(person)
    for f in frames:
        if f.is_labeled is None:
            f.is_labeled = bool(f.people)
    return frames


def _one(value, path: str, where: str, key: str):
    """2017 values are one-element lists (``"x": [394]``); plain values are accepted too."""
    if isinstance(value, list):
        if len(value) != 1:
            raise DataError(f'{path}: {where} field "{key}" must hold one value; got {str(value)[:80]}')
        value = value[0]
    return value


def _num(value, path: str, where: str, key: str) -> float:
    v = _one(value, path, where, key)
    if not is_number(v):
        raise DataError(f'{path}: {where} field "{key}" must be a number; got {v!r:.80}')
    return float(v)


def _read_2017(data: dict, path: str, predictions: bool) -> list[Frame]:
    if not isinstance(data.get('annolist'), list):
        raise DataError(f'{path}: field "annolist" must be a list of frames (PoseTrack 2017 format)')
    frames = []
    for i, entry in enumerate(data['annolist']):
        where = f'annolist[{i}]'
        try:
            name = entry['image'][0]['name']
        except (KeyError, IndexError, TypeError):
            name = None
        if not isinstance(name, str):
            raise DataError(f'{path}: {where} lacks "image": [{{"name": ...}}]')
        people = []
        for r, rect in enumerate(entry.get('annorect') or []):
            rwhere = f'{where}.annorect[{r}]'
            if not isinstance(rect, dict):
                raise DataError(f'{path}: {rwhere} must be an object')
            kp, scores = np.zeros((K, 3)), np.full(K, np.nan)
            ann = rect.get('annopoints') or [{}]
            points = ann[0].get('point', []) if isinstance(ann, list) and isinstance(ann[0], dict) else None
            if not isinstance(points, list):
                raise DataError(f'{path}: {rwhere} field "annopoints" must be [{{"point": [...]}}]')
            for p, pt in enumerate(points):
                pwhere = f'{rwhere}.point[{p}]'
                jid = _one(pt.get('id') if isinstance(pt, dict) else None, path, pwhere, 'id')
                if not isinstance(jid, int) or not 0 <= jid < len(EVAL_FROM_17):
                    raise DataError(f'{path}: {pwhere} field "id" must be a joint id 0-14; got {jid!r:.40}')
                slot = EVAL_FROM_17[jid]
                kp[slot] = _num(pt.get('x'), path, pwhere, 'x'), _num(pt.get('y'), path, pwhere, 'y'), 1.0
                if 'score' in pt:
                    scores[slot] = _num(pt['score'], path, pwhere, 'score')
                elif predictions:
                    raise DataError(f'{path}: {pwhere} lacks "score" (keypoint AP ranks joints by it)')
            track = rect.get('track_id')
            track = _int(_one(track, path, rwhere, 'track_id'), path, rwhere, 'track_id') if track is not None \
                else None
            if track is None and not predictions:
                raise DataError(f'{path}: {rwhere} lacks "track_id"')
            head = None
            if all(k in rect for k in ('x1', 'y1', 'x2', 'y2')):
                x1, y1, x2, y2 = (_num(rect[k], path, rwhere, k) for k in ('x1', 'y1', 'x2', 'y2'))
                if x2 < x1 or y2 < y1:
                    raise DataError(f'{path}: {rwhere} head box fields "x1", "y1", "x2", "y2": the corners are '
                                    f'swapped (x2 < x1 or y2 < y1); got {[x1, y1, x2, y2]}')
                head = [x1, y1, x2 - x1, y2 - y1]
            elif points and not predictions:
                raise DataError(f'{path}: {rwhere} lacks the head box "x1", "y1", "x2", "y2"')
            people.append(Person(kp, track, np.nan_to_num(scores, nan=0.0) if predictions else None,
                                 head_box=head, score=_num(rect.get('score', 1.0), path, rwhere, 'score')))
        polys = []
        for r, reg in enumerate(entry.get('ignore_regions') or []):
            pts = reg.get('point', []) if isinstance(reg, dict) else None
            if not isinstance(pts, list):
                raise DataError(f'{path}: {where}.ignore_regions[{r}] must be {{"point": [...]}}')
            poly = [(_num(q.get('x'), path, f'{where}.ignore_regions[{r}]', 'x'),
                     _num(q.get('y'), path, f'{where}.ignore_regions[{r}]', 'y')) for q in pts]
            if len(poly) >= 3:
                polys.append(np.asarray(poly, np.float64))
        labeled = entry.get('is_labeled')
        labeled = bool(_one(labeled, path, where, 'is_labeled')) if labeled is not None else bool(people)
        frames.append(Frame(i, name, i, labeled, polys, people))
    return frames


def read_video(path: str, predictions: bool = False) -> Video:
    """One PoseTrack file (2018 or 2017 format, detected by its fields) -> :class:`Video`.

    ``predictions``: the file holds a tracker's output (joint ``scores`` required, head boxes not)."""
    what = 'PoseTrack prediction file' if predictions else 'PoseTrack annotation file'
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise DataError(f'{path}: expected a JSON object ("images"/"annotations" for PoseTrack 2018, '
                        f'"annolist" for 2017); got a JSON {type(data).__name__}')
    frames = _read_2017(data, path, predictions) if 'annolist' in data else _read_2018(data, path, predictions)
    return Video(osp.splitext(osp.basename(path))[0], path, frames)


def read_dir(folder: str, predictions: bool = False) -> dict[str, Video]:
    """Every ``*.json`` of ``folder`` (one per video) -> ``{video name: Video}``."""
    if not osp.isdir(folder):
        raise MissingFileError(f'PoseTrack {"prediction" if predictions else "annotation"} folder not found: '
                               f'{folder}')
    paths = sorted(glob.glob(osp.join(folder, '*.json')))
    if not paths:
        raise DataError(f'{folder}: no *.json files (one PoseTrack JSON per video expected)')
    return {v.name: v for v in (read_video(p, predictions) for p in paths)}


def person_json(person: Person, image_id: int, ann_id: int) -> dict:
    kp = person.keypoints
    out = dict(id=ann_id, image_id=image_id, category_id=1, track_id=int(person.track_id),
               keypoints=[round(float(v), 2) for v in kp.reshape(-1)], score=round(float(person.score), 4))
    if person.scores is not None:
        out['scores'] = [round(float(v), 4) for v in person.scores]
    for key, box in (('bbox', person.bbox), ('bbox_head', person.head_box)):
        if box is not None:
            out[key] = [round(float(v), 2) for v in box]
    return out


def video_json(name: str, frames: list[Frame]) -> dict:
    """A video in the PoseTrack 2018 format (what the official evaluator and :func:`read_video` read)."""
    images, anns = [], []
    for f in frames:
        img = dict(id=f.image_id, file_name=f.file_name, vid_id=name, frame_id=f.frame_id, nframes=len(frames),
                   is_labeled=bool(f.is_labeled))
        if f.ignore_regions:
            img['ignore_regions_x'] = [[round(float(v), 2) for v in p[:, 0]] for p in f.ignore_regions]
            img['ignore_regions_y'] = [[round(float(v), 2) for v in p[:, 1]] for p in f.ignore_regions]
        images.append(img)
        anns += [person_json(p, f.image_id, f.image_id * 100 + j) for j, p in enumerate(f.people)]
    return dict(images=images, annotations=anns,
                categories=[dict(id=1, name='person', supercategory='person', keypoints=list(POSETRACK_KEYPOINTS))])


def write_video(path: str, name: str, frames: list[Frame]) -> str:
    """Write one video (complete or not at all)."""
    atomic_write_text(path, json.dumps(video_json(name, frames)))
    return path


def to_coco(videos: dict[str, Video]) -> dict:
    """The labelled frames of ``videos`` as one COCO keypoint dict (images / annotations / categories): what the
    pose task's readers and metric take (a person without a box gets the box of its annotated joints)."""
    images, anns = [], []
    for name in sorted(videos):
        for f in videos[name].frames:
            if not f.is_labeled:
                continue
            images.append(dict(id=f.image_id, file_name=f.file_name, vid_id=name, frame_id=f.frame_id))
            for p in f.people:
                on = p.annotated
                box = p.bbox
                if box is None and on.any():
                    lo, hi = p.keypoints[on, :2].min(0), p.keypoints[on, :2].max(0)
                    box = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]
                if box is None:
                    continue
                kp = np.where(on[:, None], p.keypoints, 0.0)
                kp[on, 2] = np.maximum(kp[on, 2], 1)
                anns.append(dict(id=len(anns) + 1, image_id=f.image_id, category_id=1, iscrowd=0,
                                 bbox=[float(v) for v in box], area=float(box[2] * box[3]),
                                 keypoints=[float(v) for v in kp.reshape(-1)], num_keypoints=int(on.sum()),
                                 track_id=p.track_id))
    return dict(images=images, annotations=anns,
                categories=[dict(id=1, name='person', supercategory='person', keypoints=list(POSETRACK_KEYPOINTS))])
