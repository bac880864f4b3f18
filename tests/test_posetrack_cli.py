"""``hrvision data synth-posetrack`` and ``hrvision eval posetrack`` through the command line (subprocess)."""
import json
import os
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
