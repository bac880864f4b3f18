"""``hrvision data synth-posetrack`` and ``hrvision eval posetrack`` through the command line (subprocess)."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from hrvision.tasks.posetrack.formats import read_dir, video_json, write_video

ENV = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1')
ENV.pop('HRVISION_DEBUG', None)


def hrv(*args):
    return subprocess.run([sys.executable, '-m', 'hrvision', *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=240)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('pt')
    r = hrv('data', 'synth-posetrack', root, '--n-train', 1, '--n-val', 3, '--frames', 5, '--size', '96x128')
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary['val_videos'] == 3 and summary['val_people'] > 0
    return root


def _predictions(gt_dir, out, drop_scores=False):
    """The ground truth written back as predictions (joint scores 1, ids shifted by 5)."""
    os.makedirs(out, exist_ok=True)
    for name, v in read_dir(str(gt_dir)).items():
        for f in v.frames:
            for p in f.people:
                p.scores, p.track_id = None if drop_scores else np.ones(17), p.track_id + 5
        write_video(os.path.join(out, f'{name}.json'), name, v.frames)


def test_synthetic_layout(data):
    vids = sorted(os.listdir(data / 'annotations' / 'val'))
    assert len(vids) == 3
    d = json.loads((data / 'annotations' / 'val' / vids[0]).read_text())
    img = d['images'][0]
    assert (img['is_labeled'], d['images'][1]['is_labeled']) == (False, True)   # first frame unlabelled
    assert os.path.isfile(data / img['file_name'])
    ann = d['annotations'][0]
    assert len(ann['keypoints']) == 51 and len(ann['bbox_head']) == 4 and isinstance(ann['track_id'], int)
    assert d['categories'][0]['keypoints'][1:3] == ['head_bottom', 'head_top']


def test_eval_perfect_predictions(data, tmp_path):
    _predictions(data / 'annotations' / 'val', tmp_path / 'pred')
    r = hrv('eval', 'posetrack', data / 'annotations' / 'val', tmp_path / 'pred')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].split() == ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Total']
    res = json.loads(lines[-1])
    assert res['ap']['Total'] == 100 and res['mota']['Total'] == 100 and res['counts']['videos'] == 3


def test_eval_refusals(data, tmp_path):
    gt = data / 'annotations' / 'val'
    cases = []
    _predictions(gt, tmp_path / 'noscores', drop_scores=True)
    cases.append((tmp_path / 'noscores', 'lacks "scores"'))
    _predictions(gt, tmp_path / 'missing')
    first = sorted(os.listdir(tmp_path / 'missing'))[0]
    os.remove(tmp_path / 'missing' / first)
    cases.append((tmp_path / 'missing', f'no prediction file for 1 ground-truth video(s): {first}'))
    for pred, words in cases:
        r = hrv('eval', 'posetrack', gt, pred)
        assert r.returncode == 2, (pred, r.stdout)
        assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1 and 'Traceback' not in r.stderr


def test_ground_truth_without_head_box_is_refused(data, tmp_path):
    src = sorted((data / 'annotations' / 'val').iterdir())[0]
    d = json.loads(src.read_text())
    del d['annotations'][0]['bbox_head']
    (tmp_path / 'gt').mkdir()
    (tmp_path / 'gt' / src.name).write_text(json.dumps(d))
    r = hrv('eval', 'posetrack', tmp_path / 'gt', tmp_path / 'gt')
    assert r.returncode == 2 and 'annotations[0] has annotated keypoints but no "bbox_head"' in r.stderr


def test_2017_annolist_reads_like_2018(data):
    """The same video in both formats gives the same people (2017 = poseval joint ids, head box x1..y2)."""
    v = list(read_dir(str(data / 'annotations' / 'val')).values())[0]
    annolist = []
    for f in v.frames:
        rects = []
        for p in f.people:
            from hrvision.tasks.posetrack.joints import EVAL_FROM_17
            pts = [dict(id=[j], x=[float(p.keypoints[s, 0])], y=[float(p.keypoints[s, 1])])
                   for j, s in enumerate(EVAL_FROM_17) if p.annotated[s]]
            x, y, w, h = p.head_box
            rects.append(dict(x1=[x], y1=[y], x2=[x + w], y2=[y + h], track_id=[p.track_id],
                              annopoints=[dict(point=pts)]))
        annolist.append(dict(image=[dict(name=f.file_name)], annorect=rects, is_labeled=[int(f.is_labeled)]))
    from hrvision.tasks.posetrack.formats import _read_2017
    old = _read_2017(dict(annolist=annolist), 'x.json', predictions=False)
    assert [len(f.people) for f in old] == [len(f.people) for f in v.frames]
    for a, b in zip(old, v.frames):
        for p, q in zip(a.people, b.people):
            assert np.allclose(p.keypoints, q.keypoints) and p.track_id == q.track_id
    assert video_json(v.name, v.frames)['images'][0]['vid_id'] == v.name


# PoseTrack's sequence names, as the official evaluator parses them: six digits, the source (mpii, bonn, mpiinew:
# image-id prefix 1, 2, 3), the split word (train; test for validation and test sequences); image ids are
# <source digit><6-digit sequence><4-digit frame>, and the images live in a folder named after the sequence.
SEQUENCE = re.compile(r'^(\d{6})_(mpii|bonn|mpiinew)_(train|test)$')
SOURCE_DIGIT = {'mpii': 1, 'bonn': 2, 'mpiinew': 3}


def test_synthetic_sequences_follow_posetrack_naming(data):
    for split, word in (('train', 'train'), ('val', 'test')):
        files = sorted((data / 'annotations' / split).glob('*.json'))
        assert files
        for path in files:
            m = SEQUENCE.match(path.stem)
            assert m and m.group(3) == word, path.name
            d = json.loads(path.read_text())
            for frame, img in enumerate(d['images']):
                assert img['vid_id'] == path.stem
                assert os.path.basename(os.path.dirname(img['file_name'])) == path.stem
                assert img['id'] == SOURCE_DIGIT[m.group(2)] * 10 ** 10 + int(m.group(1)) * 10 ** 4 + frame


def test_eval_reads_empty_scores_as_the_official_evaluator(data, tmp_path):
    """``"scores": []`` (the official converter's output for joints without scores) is accepted, scored with
    the official stand-in, and the summary says so."""
    gt = data / 'annotations' / 'val'
    _predictions(gt, tmp_path / 'pred')
    people = 0
    for path in (tmp_path / 'pred').iterdir():
        d = json.loads(path.read_text())
        for ann in d['annotations']:
            ann['scores'] = []
        people += len(d['annotations'])
        path.write_text(json.dumps(d))
    r = hrv('eval', 'posetrack', gt, tmp_path / 'pred')
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res['ap']['Total'] == 100 and res['counts']['people_without_scores'] == people > 0
    assert f'note: {people} predicted people have "scores": []' in r.stdout and '-9999' in r.stdout


def test_eval_says_why_tracking_figures_are_nan(tmp_path):
    """Each video with one labelled frame: MOTA / MOTP / precision / recall are null, and the reason is printed."""
    from hrvision.tasks.posetrack.formats import Frame, Person
    kp = np.concatenate([np.arange(34, dtype=float).reshape(17, 2) + 10, np.ones((17, 1))], 1)
    kp[3:5] = 0
    for folder in ('gt', 'pred'):
        os.makedirs(tmp_path / folder)
        people = [Person(kp, 1, np.ones(17), head_box=[0, 0, 20, 20])]
        write_video(str(tmp_path / folder / '000001_mpii_test.json'), '000001_mpii_test',
                    [Frame(10000010000, 'images/val/000001_mpii_test/000000.jpg', 0, False),
                     Frame(10000010001, 'images/val/000001_mpii_test/000001.jpg', 1, True, [], people)])
    r = hrv('eval', 'posetrack', tmp_path / 'gt', tmp_path / 'pred')
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res['ap']['Total'] == 100
    assert res['mota']['Total'] is res['motp'] is res['precision'] is res['recall'] is None
    assert 'note: MOTA, MOTP, precision, recall: NaN: no frame is scored for tracking' in r.stdout
