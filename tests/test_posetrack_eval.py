"""PoseTrack protocol on hand-built cases with known answers (AP, MOTA), both CLEAR-MOT backends."""
import numpy as np
import pytest

from hrvision.tasks.posetrack.evaluate import evaluate
from hrvision.tasks.posetrack.formats import Frame, Person, Video

BACKENDS = ('motmetrics', 'hrvision')


def person(x, track, score=0.9, head=20.0):
    kp = np.zeros((17, 3))
    kp[:, 0] = x + np.arange(17) * 3
    kp[:, 1] = 50 + np.arange(17) * 5
    kp[:, 2] = 1
    kp[3:5] = 0                                     # ears: never annotated
    return Person(kp, track, np.full(17, score), head_box=[x, 10, head, head])


def video(frames, name='v'):
    return Video(name, f'{name}.json', [Frame(i, f'{i}.jpg', i, True, [], pp) for i, pp in enumerate(frames)])


def two_people(n, ids=(1, 2)):
    return [[person(0, ids[0]), person(200, ids[1])] for _ in range(n)]


@pytest.mark.parametrize('backend', BACKENDS)
def test_perfect_predictions(backend):
    r = evaluate({'v': video(two_people(5))}, {'v': video(two_people(5, (7, 8)))}, mot_backend=backend)
    assert all(v == 100 for v in r['ap'].values()) and all(v == 100 for v in r['mota'].values())
    assert r['motp'] == r['precision'] == r['recall'] == 100
    assert r['counts']['frames'] == 5 and r['counts']['tracking_frames'] == 4   # poseval drops the last


@pytest.mark.parametrize('backend', BACKENDS)
def test_one_identity_swap(backend):
    """Ids swap from frame 2 on: tracking frames 0-3 hold 8 objects per joint, 2 switches -> MOTA 75."""
    pred = two_people(2, (7, 8)) + two_people(3, (8, 7))
    r = evaluate({'v': video(two_people(5))}, {'v': video(pred)}, mot_backend=backend)
    assert r['mota']['Total'] == pytest.approx(75.0)
    assert r['counts']['switches'] == 2 * 15 and r['ap']['Total'] == 100


@pytest.mark.parametrize('backend', BACKENDS)
def test_swap_in_the_last_frame_is_not_scored(backend):
    pred = two_people(4, (7, 8)) + two_people(1, (8, 7))
    assert evaluate({'v': video(two_people(5))}, {'v': video(pred)}, mot_backend=backend)['mota']['Total'] == 100


def test_missed_joint_changes_ap_exactly():
    """One of two left wrists not predicted: its AP is 50 (recall 1/2 at precision 1), the Wrist column 75."""
    gt = [[person(0, 1)], [person(0, 1)]]
    pred = [[person(0, 1)], [person(0, 1)]]
    pred[1][0].keypoints[9] = 0                     # left_wrist
    r = evaluate({'v': video(gt)}, {'v': video(pred)})
    assert r['ap_per_joint']['left_wrist'] == pytest.approx(50.0)
    assert r['ap']['Wrist'] == pytest.approx(75.0)
    assert r['ap']['Total'] == pytest.approx((14 * 100 + 50) / 15)


def test_head_box_sets_the_match_radius():
    """Radius = 0.5 x 0.6 x head diagonal: a joint moved just inside counts, just outside does not."""
    radius = 0.5 * 0.6 * np.hypot(20, 20)
    for shift, ap in ((0.99 * radius, 100.0), (1.01 * radius, 0.0)):
        pred = person(0, 1)
        pred.keypoints[0, 0] += shift               # nose
        r = evaluate({'v': video([[person(0, 1)]])}, {'v': video([[pred]])})
        assert r['ap_per_joint']['nose'] == pytest.approx(ap)


def test_false_positive_lowers_precision_and_ap():
    """A second, lower-scoring copy far away is a false positive for every joint: AP stays 100 (ranked
    after the true one), precision 50 (MOTA: 1 - 1/1 = 0 on the tracked frame)."""
    gt = [[person(0, 1)], [person(0, 1)]]
    pred = [[person(0, 1), person(300, 2, score=0.1)] for _ in range(2)]
    r = evaluate({'v': video(gt)}, {'v': video(pred)})
    assert r['ap']['Total'] == 100 and r['precision'] == pytest.approx(50.0) and r['mota']['Total'] == 0.0


def test_ignore_region_removes_predictions_inside():
    gt = Frame(0, '0.jpg', 0, True, [np.array([[250., 0], [400, 0], [400, 200], [250, 200]])], [person(0, 1)])
    pred = Frame(0, '0.jpg', 0, True, [], [person(0, 1), person(300, 2, score=0.95)])
    r = evaluate({'v': Video('v', 'v.json', [gt])}, {'v': Video('v', 'v.json', [pred])})
    assert r['ap']['Total'] == 100                  # the higher-scoring extra person is ignored, not a FP


def test_backends_agree_on_a_messy_case():
    rng = np.random.RandomState(0)
    gt, pred = [], []
    for f in range(12):
        g = [person(100 * k + f, k) for k in range(3) if not (k == 2 and f in (4, 5))]
        p = []
        for k, q in enumerate(g):
            if rng.rand() < 0.15:
                continue
            c = person(q.keypoints[0, 0], (k + (f > 6)) % 3 + 10, rng.rand())
            c.keypoints[:, :2] += rng.normal(0, 3, (17, 2))
            c.keypoints[3:5] = 0
            p.append(c)
        if rng.rand() < 0.3:
            p.append(person(350, 99, 0.2))
        gt.append(g)
        pred.append(p)
    a, b = (evaluate({'v': video(gt)}, {'v': video(pred)}, mot_backend=m) for m in BACKENDS)
    assert a['counts'] == b['counts']
    for key in ('mota', 'ap'):
        assert a[key] == pytest.approx(b[key])
    assert (a['motp'], a['precision'], a['recall']) == pytest.approx((b['motp'], b['precision'], b['recall']))
    assert 0 < a['mota']['Total'] < 100


def test_assignment_rules():
    """PCKh 1.0/0.9 (prediction 0 vs people 0/1), 0.8/0 (prediction 1): poseval keeps each prediction's best
    person, then each person's best prediction, so prediction 1 goes unassigned; Hungarian assigns both."""
    from hrvision.tasks.posetrack.evaluate import assign
    match = np.zeros((2, 2, 10), bool)
    match[0, 0, :10], match[0, 1, :9], match[1, 0, :8] = True, True, True
    has = np.ones((2, 10), bool)
    assert assign(match, has, 'poseval').tolist() == [0, -1]
    assert assign(match, has, 'hungarian').tolist() == [1, 0]


@pytest.mark.parametrize('backend', BACKENDS)
def test_motp_without_a_match_is_nan_with_the_reason(backend):
    """Predictions nowhere near the people: no joint is ever matched, so MOTP (1 - mean matched distance) is
    undefined: NaN and a note saying why (not 0.0, which reads as "every match at the radius")."""
    gt = [[person(0, 1)], [person(0, 1)], [person(0, 1)]]
    pred = [[person(300, 5)] for _ in range(3)]
    r = evaluate({'v': video(gt)}, {'v': video(pred)}, mot_backend=backend)
    assert np.isnan(r['motp']) and r['recall'] == 0 and r['precision'] == 0
    assert any(n.startswith('MOTP: NaN: no predicted joint was matched') for n in r['notes'])


def test_motp_of_unmatched_joints_is_left_out_of_the_total():
    """The nose predicted far off in every frame: its MOTP is NaN (named in a note) and the Total is the mean
    of the 14 others, each 100 (exact positions)."""
    gt = [[person(0, 1)] for _ in range(3)]
    pred = [[person(0, 1)] for _ in range(3)]
    for frame in pred:
        frame[0].keypoints[0, 0] += 500
    r = evaluate({'v': video(gt)}, {'v': video(pred)})
    assert r['motp'] == 100 and any('MOTP of nose: NaN' in n for n in r['notes'])


def test_no_video_with_two_labelled_frames_says_why():
    """One labelled frame: nothing is scored for tracking (poseval drops each video's last frame), so MOTA,
    MOTP, precision and recall are NaN, and the note says why; AP is still computed."""
    r = evaluate({'v': video([[person(0, 1)]])}, {'v': video([[person(0, 1)]])})
    assert r['ap']['Total'] == 100 and r['counts']['tracking_frames'] == 0
    assert all(np.isnan(v) for v in (r['mota']['Total'], r['motp'], r['precision'], r['recall']))
    assert len(r['notes']) == 1 and 'no frame is scored for tracking' in r['notes'][0]
    assert 'a video needs two labelled frames' in r['notes'][0]


def test_empty_scores_rank_below_every_scored_joint():
    """``"scores": []`` = the official stand-in score -9999 per joint: a wrong prediction scored -5 ranks before
    the right one without scores, so each joint's AP is 25 (precision 0 then 1/2 at recall 1/2); a stand-in of
    0 or more would rank the right one first (AP 50)."""
    from hrvision.tasks.posetrack.formats import MISSING_SCORE
    good = person(0, 1)
    good.scores, good.default_scores = np.full(17, MISSING_SCORE), True
    wrong = person(300, 1, score=-5.0)
    r = evaluate({'v': video([[person(0, 1)], [person(0, 1)]])}, {'v': video([[good], [wrong]])})
    assert r['ap']['Total'] == pytest.approx(25.0)
    assert r['counts']['people_without_scores'] == 1 and '"scores": []' in r['notes'][0]
