"""Estimation and tracking over PoseTrack sequences: top-down poses per frame on person boxes (a detection
file or hrvision's detector, plus boxes propagated from the previous frame), OKS-NMS, :class:`PoseTracker`
ids; predictions as :class:`~.formats.Frame` lists and annotated videos (skeletons coloured by track id)."""
from __future__ import annotations

import os
import os.path as osp
from collections import defaultdict

import cv2
import numpy as np

from hrvision.data.coco import check_number_list, is_number, read_json
from hrvision.data.io import read_image
from hrvision.errors import DataError
from hrvision.metrics import oks_nms, rescore
from hrvision.visualization import draw_skeleton, put_text

from .formats import Frame, Person, Video
from .joints import SIGMAS, SKELETON, coco_to_posetrack
from .tracker import PoseTracker


def read_detections(path: str) -> dict[int, np.ndarray]:
    """COCO results JSON (``image_id``, ``bbox`` x, y, w, h, ``score``, optional ``category_id`` 1) ->
    ``{image_id: (N, 5) x1, y1, x2, y2, score}``."""
    dets = read_json(path, 'person detection file')
    if not isinstance(dets, list):
        raise DataError(f'{path}: expected a JSON list of detections (COCO results format)')
    out = defaultdict(list)
    for i, d in enumerate(dets):
        if not isinstance(d, dict) or not isinstance(d.get('image_id'), int) or not is_number(d.get('score')):
            raise DataError(f'{path}: detection [{i}] needs an integer "image_id", a "bbox" and a number "score"')
        check_number_list(d.get('bbox'), 4, path, f'detection [{i}]', 'bbox')
        x, y, w, h = d['bbox']
        if w < 0 or h < 0:
            raise DataError(f'{path}: detection [{i}] field "bbox" (x, y, w, h) has a negative width or height: '
                            f'{d["bbox"]}')
        if d.get('category_id', 1) == 1 and w > 0 and h > 0:
            out[d['image_id']].append([x, y, x + w, y + h, d['score']])
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


def track_color(track_id: int) -> tuple[int, int, int]:
    rng = np.random.RandomState(int(track_id) * 7919 % (2 ** 31))
    c = rng.randint(60, 256, 3)
    c[rng.randint(3)] = 255
    return tuple(int(v) for v in c)


class VideoPoseTracker:
    """Args:
        pose: a pose :class:`hrvision.Inferencer` (its flip test and crop conventions).
        detector: a detection :class:`hrvision.Inferencer` for person boxes, or None (boxes come from a file).
        joints: ``'coco'`` (COCO-17 outputs, mapped by :func:`~.joints.coco_to_posetrack`) or ``'posetrack'``.
        propagate: add boxes propagated from the previous frame's poses (for missed detections).
        kpt_thr: joints scoring below it are written as not predicted.
        nms_thr: OKS-NMS threshold between detected and propagated people.
        det_score_thr / det_label: which of the detector's boxes are people.
    """

    def __init__(self, pose, detector=None, joints: str = 'coco', propagate: bool = True, kpt_thr: float = 0.3,
                 nms_thr: float = 0.7, det_score_thr: float = 0.3, det_label: int = 0,
                 tracker: dict | None = None) -> None:
        self.pose, self.detector, self.joints = pose, detector, joints
        self.propagate, self.kpt_thr, self.nms_thr = propagate, kpt_thr, nms_thr
        self.det_score_thr, self.det_label = det_score_thr, det_label
        self.tracker_cfg = dict(tracker or {})

    def _boxes(self, img: np.ndarray, frame: Frame, dets: dict | None) -> np.ndarray:
        if self.detector is not None:
            r = self.detector.predict_array(img)
            keep = (r['labels'] == self.det_label) & (r['scores'] >= self.det_score_thr)
            return np.concatenate([r['bboxes'][keep], r['scores'][keep, None]], 1)
        return np.array(dets.get(frame.image_id, np.zeros((0, 5), np.float32)) if dets else np.zeros((0, 5)),
                        np.float32)

    def run(self, video: Video, data_root: str, dets: dict | None = None, images: list | None = None) -> list[Frame]:
        """Every frame of ``video`` (labelled or not, in order) -> predicted frames with track ids.
        ``images`` collects the annotated pictures (RGB) when given."""
        tracker = PoseTracker(**self.tracker_cfg)
        out = []
        for frame in video.frames:
            img = read_image(osp.join(data_root, frame.file_name))
            boxes = self._boxes(img, frame, dets)
            if self.propagate:
                boxes = np.concatenate([boxes, tracker.propagate_boxes()], 0)
            h, w = img.shape[:2]
            boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w - 1)
            boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h - 1)
            boxes = boxes[(boxes[:, 2] - boxes[:, 0] > 1) & (boxes[:, 3] - boxes[:, 1] > 1)]
            r = self.pose.predict_array(img, boxes)
            kp, sc = r['keypoints'].astype(np.float64), r['keypoint_scores'].astype(np.float64)
            if self.joints == 'coco' and len(kp):
                kp, sc = coco_to_posetrack(kp, sc)
            person_scores = np.array([rescore(b, s) for b, s in zip(r['bbox_scores'], sc)])
            keep = list(range(len(kp)))
            if len(kp) > 1:
                areas = np.prod(r['bboxes'][:, 2:] - r['bboxes'][:, :2], 1)
                keep = oks_nms(np.concatenate([kp, sc[..., None]], -1), person_scores, areas, self.nms_thr, SIGMAS)
            kp, sc, bx, ps = kp[keep], sc[keep], r['bboxes'][keep], person_scores[keep]
            ids = tracker.step(kp, sc, bx)
            people = []
            for k, s, b, p, t in zip(kp, sc, bx, ps, ids):
                on = s >= self.kpt_thr
                on[3:5] = False                     # PoseTrack has no ears
                kp3 = np.where(on[:, None], np.concatenate([k, np.ones((len(k), 1))], 1), 0.0)
                people.append(Person(kp3, int(t), np.where(on, s, 0.0),
                                     bbox=[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                                     score=float(p)))
            out.append(Frame(frame.image_id, frame.file_name, frame.frame_id, frame.is_labeled, [], people))
            if images is not None:
                images.append(draw_frame(img, people, f'{video.name} frame {frame.frame_id}'))
        return out


def draw_frame(img: np.ndarray, people: list, caption: str = '') -> np.ndarray:
    """Skeletons coloured by track id, the id written above each person."""
    out = img
    for p in people:
        color = track_color(p.track_id)
        vis = p.keypoints[:, 2]
        out = draw_skeleton(out, p.keypoints[:, :2], SKELETON, visible=vis, color=color, point_color=color)
        if vis.any():
            top = p.keypoints[vis > 0, :2].min(0)
            out = put_text(out, str(p.track_id), (int(top[0]), max(12, int(top[1]) - 4)), color=color)
    return put_text(out, caption) if caption else out


def write_mp4(path: str, frames: list, fps: float = 10.0) -> str:
    """RGB frames -> an MP4 (mp4v), written beside the target and renamed when complete."""
    if not frames:
        raise DataError(f'{path}: no frames to write')
    h, w = frames[0].shape[:2]
    tmp = osp.join(osp.dirname(path) or '.', f'.tmp{os.getpid()}_{osp.basename(path)}')
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
    try:
        if not writer.isOpened():
            raise DataError(f'{path}: OpenCV cannot open an MP4 (mp4v) writer on this system')
        for f in frames:
            writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        writer.release()
        os.replace(tmp, path)
    except BaseException:
        writer.release()
        if osp.lexists(tmp):
            os.remove(tmp)
        raise
    return path
