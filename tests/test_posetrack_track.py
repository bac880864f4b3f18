"""Tracker on synthetic PoseTrack videos: ground-truth keypoints with noise (and shuffled order, dropped
people) as the per-frame detections; the tracker must beat a baseline that gives new ids every frame."""
import numpy as np

from hrvision.tasks.posetrack.evaluate import evaluate
from hrvision.tasks.posetrack.formats import Frame, Person, Video, read_dir
from hrvision.tasks.posetrack.synth import write_split
from hrvision.tasks.posetrack.tracker import PoseTracker


def _noisy_predictions(gt: Video, rng, track: bool) -> Video:
    tracker, next_id, frames = PoseTracker(), 0, []
    for f in gt.frames:
        people = [p for p in f.people if rng.rand() > 0.05]
        order = rng.permutation(len(people))
        kps, scs, boxes = [], [], []
        for i in order:
            p = people[i]
            kp = p.keypoints.copy()
            on = kp[:, 2] > 0
            kp[on, :2] += rng.normal(0, 1.5, (on.sum(), 2))
            kps.append(kp)
            scs.append(np.where(on, rng.uniform(0.5, 1.0, 17), 0.0))
            x, y, w, h = p.bbox
            boxes.append([x, y, x + w, y + h])
        if track:
            ids = tracker.step(np.array([k[:, :2] for k in kps]).reshape(-1, 17, 2),
                               np.array(scs).reshape(-1, 17), np.array(boxes).reshape(-1, 4))
        else:
            ids = np.arange(next_id, next_id + len(kps))
            next_id += len(kps)
        frames.append(Frame(f.image_id, f.file_name, f.frame_id, f.is_labeled, [],
                            [Person(k, int(t), s) for k, s, t in zip(kps, scs, ids)]))
    return Video(gt.name, gt.path, frames)


def test_tracker_beats_new_ids_every_frame(tmp_path):
    write_split(str(tmp_path), 'val', 4, 10, np.random.RandomState(1), (192, 144))
    gt = read_dir(str(tmp_path / 'annotations' / 'val'))
    tracked = evaluate(gt, {n: _noisy_predictions(v, np.random.RandomState(2), True) for n, v in gt.items()})
    baseline = evaluate(gt, {n: _noisy_predictions(v, np.random.RandomState(2), False) for n, v in gt.items()})
    assert tracked['ap']['Total'] == baseline['ap']['Total']           # same poses, only the ids differ
    assert tracked['mota']['Total'] > baseline['mota']['Total'] + 20
    assert tracked['counts']['switches'] < baseline['counts']['switches'] / 4


def test_propagated_box_follows_the_person():
    t = PoseTracker()
    kp = np.stack([np.linspace(0, 40, 17), np.linspace(0, 80, 17)], 1)[None]
    sc = np.ones((1, 17))
    t.step(kp, sc, [[0, 0, 40, 80]])
    t.step(kp + [5, 0], sc, [[5, 0, 45, 80]])
    box = t.propagate_boxes()
    assert box.shape == (1, 5)
    assert (box[0, 0] + box[0, 2]) / 2 == 30       # the pose's centre (25) moved on by the last velocity (5)
