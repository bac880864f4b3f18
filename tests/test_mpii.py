"""MPII (issue 23, "Pose: MPII"): the official annotation JSON read into top-down crops with the official
center/scale adjustments, PCKh with the official head boxes through ``evaluate(size)``, pred.mat for the test split
through ``hrvision test``, ``hrvision eval mpii`` on a pred.mat, the demo config trained and evaluated by the runner,
bad input refused in one line."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from scipy.io import loadmat, savemat

import hrvision.tasks.pose  # noqa: F401  (registration)
from hrvision.backbones.hrnet import tiny_extra
from hrvision.errors import ConfigError, DataError
from hrvision.registry import DATASETS
from hrvision.tasks.pose.mpii_metric import (MAT_JOINTS, NAMES, MPIIPoseMetric, format_table, load_gt_mat, pckh,
                                             read_pred_mat)
from tests.conftest import REPO

ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
DEMO = REPO / 'configs' / 'pose' / 'demo_synthetic_mpii.py'
TEST_PIPELINE = [dict(type='LoadPoseImage'), dict(type='TopDownAffine', input_size=(64, 64)),
                 dict(type='PackPoseInputs')]


def _hrvision(*args, cwd):
    return subprocess.run([sys.executable, '-m', 'hrvision', *map(str, args)], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=300)


def _one_line_exit_2(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert r.stderr.count('\n') == 1 and 'Traceback' not in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Synthetic MPII written by the CLI (``hrvision data synth-mpii``): 8 train / 6 valid / 6 test pictures."""
    root = tmp_path_factory.mktemp('mpii')
    r = _hrvision('data', 'synth-mpii', root / 'd', '--n', 8, '--n-val', 6, '--size', 96, cwd=root)
    assert r.returncode == 0, r.stderr
    return root / 'd'


def _dataset(data, split='valid', **kw):
    return DATASETS.build(dict(type='MPIIPoseDataset', data_root=str(data), ann_file=f'annot/{split}.json',
                               pipeline=TEST_PIPELINE, test_mode=kw.pop('test_mode', True), **kw))


# ---- reader ------------------------------------------------------------------------------------------------------
def test_reader_on_synth_data(data):
    entries = json.loads((data / 'annot' / 'valid.json').read_text())
    ds = _dataset(data)
    assert len(ds) == len(entries) > len({e['image'] for e in entries})   # more people than pictures
    meta = ds.metainfo
    assert meta['num_keypoints'] == 16 and meta['mpii_entries'] == len(entries) and meta['mpii_labelled'] is True
    assert meta['flip_indices'] == [5, 4, 3, 2, 1, 0, 6, 7, 8, 9, 15, 14, 13, 12, 11, 10]
    assert meta['upper_body_ids'] == list(range(7, 16))
    assert meta['ann_file'] == str(data / 'annot' / 'valid.json')
    with pytest.raises(ConfigError, match=r'MPIIPoseDataset: num_keypoints=17 contradicts the dataset metadata \(16 '
                                          r'keypoint_names'):
        _dataset(data, num_keypoints=17)
    for i, e in enumerate(entries):
        info = ds.get_data_info(i)
        s = e['scale']
        assert info['id'] == i and info['img_path'] == str(data / 'images' / e['image'])
        np.testing.assert_allclose(info['center'], [e['center'][0] - 1, e['center'][1] + 15 * s - 1], rtol=1e-6)
        np.testing.assert_allclose(info['scale'], [1.25 * s, 1.25 * s], rtol=1e-6)
        np.testing.assert_allclose(info['keypoints'], np.asarray(e['joints']) - 1)
        np.testing.assert_array_equal(info['keypoints_visible'], e['joints_vis'])
    sample = ds[0]   # through the top-down pipeline
    assert tuple(sample['inputs'].shape) == (3, 64, 64)
    assert sample['data_samples'].metainfo['flip_indices'] == meta['flip_indices']
    gt = load_gt_mat(str(data / 'annot' / 'gt_valid.mat'))   # the writer's .mat agrees with its JSON
    np.testing.assert_allclose(np.transpose(gt['pos_gt_src'], (2, 0, 1)), [e['joints'] for e in entries])
    np.testing.assert_array_equal(1 - gt['jnt_missing'].T, [e['joints_vis'] for e in entries])


def test_reader_on_a_hand_made_file(tmp_path):
    (tmp_path / 'annot').mkdir()
    joints = [[float(10 + k), float(20 + 2 * k)] for k in range(16)]
    entries = [dict(image='a.jpg', center=[50.0, 60.0], scale=2.0, joints=joints, joints_vis=[1] * 15 + [0]),
               dict(image='a.jpg', center=[-1, 30.0], scale=1.0, joints=joints, joints_vis=[0] * 16),
               dict(image='b.jpg', center=[7.0, 8.0], scale=0.5, joints=joints, joints_vis=[1] * 16)]
    (tmp_path / 'annot' / 'valid.json').write_text(json.dumps(entries))
    (tmp_path / 'annot' / 'test.json').write_text(json.dumps([dict(image='c.jpg', center=[5, 6], scale=1.0)]))
    ds = _dataset(tmp_path)
    infos = [ds.get_data_info(i) for i in range(3)]
    np.testing.assert_allclose(infos[0]['center'], [49.0, 60.0 + 30.0 - 1])      # y + 15 * 2, then 1-based -> 0
    np.testing.assert_allclose(infos[0]['scale'], [2.5, 2.5])
    np.testing.assert_allclose(infos[1]['center'], [-2.0, 29.0])                  # center x == -1: no adjustment
    np.testing.assert_allclose(infos[1]['scale'], [1.0, 1.0])
    np.testing.assert_allclose(infos[2]['center'], [6.0, 8.0 + 7.5 - 1])
    np.testing.assert_allclose(infos[0]['keypoints'][3], [12.0, 25.0])
    assert infos[0]['keypoints_visible'][-1] == 0 and [i['img_id'] for i in infos] == [0, 0, 1]
    assert infos[0]['img_path'].endswith(os.path.join('images', 'a.jpg'))
    test = _dataset(tmp_path, 'test')   # unlabelled: readable for prediction ...
    assert len(test) == 1 and test.metainfo['mpii_labelled'] is False
    with pytest.raises(ConfigError, match='no "joints".*cannot be trained on'):   # ... never for training
        _dataset(tmp_path, 'test', test_mode=False)
    with pytest.raises(ConfigError, match='cannot be scored.*format_only=True'):   # nor scored
        MPIIPoseMetric(gt_file='x.mat').dataset_meta = test.metainfo
    with pytest.raises(ConfigError, match='bbox_file is an argument of the COCO reader'):
        _dataset(tmp_path, bbox_file='dets.json')


# ---- PCKh through evaluate(size) ---------------------------------------------------------------------------------
def _run_metric(metric, meta, preds):
    metric.dataset_meta = meta
    for i, p in enumerate(preds):
        metric.process({}, [dict(id=i, img_id=0, pred_keypoints=np.asarray(p), keypoint_scores=np.ones(16))])
    return metric.evaluate(len(preds))


def test_perfect_predictions_score_100_through_evaluate(data, tmp_path):
    ds = _dataset(data)
    assert len(ds) > len({ds.get_data_info(i)['img_id'] for i in range(len(ds))})   # more instances than images
    gt_file = str(data / 'annot' / 'gt_valid.mat')
    perfect = [ds.get_data_info(i)['keypoints'] for i in range(len(ds))]
    out = _run_metric(MPIIPoseMetric(gt_file=gt_file, out_dir=str(tmp_path)), ds.metainfo, perfect)
    assert out == {f'mpii/{n}': 100.0 for n in NAMES}
    wrong = [p.copy() for p in perfect]
    wrong[-1][:] += 50.0   # every joint of the last entry far off
    out = _run_metric(MPIIPoseMetric(gt_file=gt_file, out_dir=str(tmp_path)), ds.metainfo, wrong)
    assert out['mpii/Mean'] < 100.0 and out['mpii/Head'] < 100.0
    # visible counts 2,2,2,1,1,1,1,1,1,2,...: the official sum(PCKh * count / total) rounds to 99.99999999999999
    missing = np.zeros((16, 2))
    missing[3:9, 1] = 1
    pos = np.random.default_rng(2).uniform(20, 90, (16, 2, 2))
    names = np.empty((1, 16), dtype=object)
    names[0, :] = MAT_JOINTS
    savemat(str(tmp_path / 'counts.mat'), dict(dataset_joints=names, jnt_missing=missing, pos_gt_src=pos,
                                               headboxes_src=np.array([[[0, 0], [0, 0]], [[9, 9], [9, 9]]])))
    out = _run_metric(MPIIPoseMetric(gt_file=str(tmp_path / 'counts.mat'), out_dir=str(tmp_path)),
                      dict(mpii_entries=2, mpii_labelled=True), [pos[:, :, n] - 1.0 for n in range(2)])
    assert out == {f'mpii/{n}': 100.0 for n in NAMES}
    _hand_gt(tmp_path / 'other.mat')
    with pytest.raises(DataError, match='holds 3 entries but the evaluated'):   # another split's .mat
        MPIIPoseMetric(gt_file=str(tmp_path / 'other.mat')).dataset_meta = ds.metainfo


def _hand_gt(path):
    """3 entries, head boxes of diagonal sqrt(200), 50 and 10; entry 1 misses joint 3, entry 2 the pelvis (6)."""
    rng = np.random.default_rng(4)
    pos = rng.uniform(20, 200, (16, 2, 3))
    missing = np.zeros((16, 3))
    missing[3, 1] = missing[6, 2] = 1
    boxes = np.zeros((2, 2, 3))
    boxes[:, :, 0] = [[10, 10], [20, 20]]
    boxes[:, :, 1] = [[0, 0], [30, 40]]
    boxes[:, :, 2] = [[5, 5], [11, 13]]
    names = np.empty((1, 16), dtype=object)
    names[0, :] = MAT_JOINTS
    savemat(str(path), dict(dataset_joints=names, jnt_missing=missing, pos_gt_src=pos, headboxes_src=boxes))
    return pos, missing, boxes


def test_perturbed_prediction_equals_a_hand_computation(tmp_path):
    pos, missing, boxes = _hand_gt(tmp_path / 'gt_valid.mat')
    head = [np.hypot(*(boxes[1, :, n] - boxes[0, :, n])) * 0.6 for n in range(3)]   # SC_BIAS 0.6
    rng = np.random.default_rng(1)
    rel = rng.uniform(0.0, 0.8, (3, 16))   # error / head size per entry and joint
    rel[0, 9] = 0.105                      # between 0.10 and the official Mean@0.1 threshold 0.11
    rel[1, 0] = 0.3
    angle = rng.uniform(0, 2 * np.pi, (3, 16))
    preds = []   # 0-based, as the model gives them: the file's 1-based pixels minus 1
    for n in range(3):
        off = np.stack([np.cos(angle[n]), np.sin(angle[n])], 1) * (rel[n] * head[n])[:, None]
        preds.append(pos[:, :, n] + off - 1.0)
    meta = dict(mpii_entries=3, mpii_labelled=True, ann_file='valid.json')

    def by_hand(thr):
        hits, count = np.zeros(16), np.zeros(16)
        for n in range(3):
            for j in range(16):
                if missing[j, n]:
                    continue
                count[j] += 1
                hits[j] += np.linalg.norm(preds[n][j] + 1.0 - pos[j, :, n]) / head[n] <= thr
        return 100.0 * hits / count, hits, count

    pck, _, _ = by_hand(0.5)
    rows = dict(Head=pck[9], Shoulder=(pck[12] + pck[13]) / 2, Elbow=(pck[11] + pck[14]) / 2,
                Wrist=(pck[10] + pck[15]) / 2, Hip=(pck[2] + pck[3]) / 2, Knee=(pck[1] + pck[4]) / 2,
                Ankle=(pck[0] + pck[5]) / 2)
    keep = [j for j in range(16) if j not in (6, 7)]   # pelvis and thorax left out of the means
    for name, thr in (('Mean', 0.5), ('Mean@0.1', 0.11)):
        _, hits, count = by_hand(thr)
        rows[name] = 100.0 * hits[keep].sum() / count[keep].sum()   # the count-weighted mean
    out = _run_metric(MPIIPoseMetric(gt_file=str(tmp_path / 'gt_valid.mat'), out_dir=str(tmp_path)), meta, preds)
    assert out == pytest.approx({f'mpii/{k}': v for k, v in rows.items()}, abs=1e-9)
    assert 0 < out['mpii/Mean'] < 100 and out['mpii/Hip'] != 100.0
    low = _run_metric(MPIIPoseMetric(gt_file=str(tmp_path / 'gt_valid.mat'), out_dir=str(tmp_path), low_thr=0.1),
                      meta, preds)
    assert low['mpii/Mean@0.1'] == pytest.approx(100.0 * by_hand(0.1)[1][keep].sum() / by_hand(0.1)[2][keep].sum())
    assert low['mpii/Mean@0.1'] < out['mpii/Mean@0.1']   # the 0.105 joint counts only at the official 0.11
    written = loadmat(str(tmp_path / 'pred.mat'))['preds']
    np.testing.assert_allclose(written, np.stack(preds) + 1.0)   # 1-based, entry order


def test_missing_or_incomplete_ground_truth_is_refused(tmp_path):
    meta = dict(mpii_entries=3, mpii_labelled=True, ann_file='valid.json')
    with pytest.raises(ConfigError, match='gt_file is not set'):
        MPIIPoseMetric().dataset_meta = meta
    savemat(str(tmp_path / 'no_heads.mat'), dict(jnt_missing=np.zeros((16, 3)), pos_gt_src=np.zeros((16, 2, 3))))
    with pytest.raises(DataError, match='no_heads.mat: the MPII ground truth has no dataset_joints, headboxes_src'):
        MPIIPoseMetric(gt_file=str(tmp_path / 'no_heads.mat')).dataset_meta = meta


def test_another_dataset_or_joint_order_is_refused(tmp_path):
    """PCKh matches predictions to gt_valid.mat by entry position and reads the joints in MPII's order: a dataset
    that is not the MPII reader (a COCO-converted MPII: its ids are not positions), or a joint list in another
    order, would score silently wrong, so the metric refuses them when the loop is built."""
    _hand_gt(tmp_path / 'gt_valid.mat')
    with pytest.raises(ConfigError, match='scores MPIIPoseDataset .* the evaluated dataset \\(mpii_coco.json\\)'):
        MPIIPoseMetric(gt_file=str(tmp_path / 'gt_valid.mat')).dataset_meta = dict(ann_file='mpii_coco.json')
    from hrvision.data.metainfo import parse_metainfo
    names = list(parse_metainfo(dict(from_file='_base_/datasets/mpii.py'), 'test')['keypoint_names'])
    meta = dict(mpii_entries=3, mpii_labelled=True, ann_file='valid.json', keypoint_names=names[::-1])
    with pytest.raises(ConfigError, match='reads them in the MPII order'):
        MPIIPoseMetric(gt_file=str(tmp_path / 'gt_valid.mat')).dataset_meta = meta
    MPIIPoseMetric(gt_file=str(tmp_path / 'gt_valid.mat')).dataset_meta = dict(meta, keypoint_names=names)


# ---- the runner and the CLI --------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def trained(data, tmp_path_factory):
    """The demo config with a tiny HRNet, trained 2 iterations and evaluated by the runner; its config file (a child
    of the demo) and checkpoint serve the CLI tests."""
    import torch

    from hrvision.engine.runner import build_runner, prepare_config
    root = tmp_path_factory.mktemp('mpii_train')
    cfg_file = root / 'tiny_mpii.py'
    cfg_file.write_text(f'_base_ = [{str(DEMO)!r}]\n'
                        f'model = dict(backbone=dict(extra={tiny_extra(4)!r}))\n'
                        'train_dataloader = dict(batch_size=4)\n'
                        "train_cfg = dict(max_iters=2, val_interval=2)\n"
                        'param_scheduler = []\n'
                        "default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))\n")
    cfg = prepare_config(str(cfg_file), work_dir=str(root / 'work'), data_root=str(data))
    runner = build_runner(cfg)
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    metrics = runner.val()
    changed = any(not torch.equal(before[k], v) for k, v in runner.model.state_dict().items() if v.is_floating_point())
    return dict(cfg=cfg_file, ckpt=root / 'work' / 'iter_2.pth', work=root / 'work', metrics=metrics, changed=changed)


def _table(metrics):
    return format_table({n: metrics[f'mpii/{n}'] for n in NAMES})


def test_demo_config_trains_and_evaluates_through_the_runner(trained, data):
    m = trained['metrics']
    assert trained['changed'] and trained['ckpt'].is_file()
    assert set(m) == {f'mpii/{n}' for n in NAMES} and all(0.0 <= v <= 100.0 for v in m.values())
    preds = loadmat(str(trained['work'] / 'pred.mat'))['preds']
    assert preds.shape == (len(json.loads((data / 'annot' / 'valid.json').read_text())), 16, 2)
    logs = list(trained['work'].glob('*/*.log'))   # the official table, as the official test prints it
    assert logs and _table(m) in logs[0].read_text()


@pytest.mark.slow
def test_eval_mpii_prints_the_official_table_of_a_pred_mat(trained, data, tmp_path):
    """``hrvision eval mpii pred.mat gt_valid.mat``: a server-format pred.mat (the ground truth, one entry moved by
    a head size, one joint by a quarter of one) gives the metric's table; the runner's pred.mat scores what the
    runner reported; a pred.mat of another split is refused, naming the file and field."""
    gt_file = data / 'annot' / 'gt_valid.mat'
    gt = load_gt_mat(str(gt_file))
    preds = np.transpose(gt['pos_gt_src'], (2, 0, 1)).copy()   # (N, 16, 2), 1-based as the server takes them
    head = np.linalg.norm(gt['headboxes_src'][1] - gt['headboxes_src'][0], axis=0) * 0.6
    preds[0, :, 0] += head[0]          # every joint of entry 0 off by one head size: wrong at 0.5
    preds[1, 9, 1] += 0.25 * head[1]   # entry 1's head top off by a quarter: right at 0.5, wrong at 0.11
    savemat(str(tmp_path / 'pred.mat'), dict(preds=preds))
    r = _hrvision('eval', 'mpii', tmp_path / 'pred.mat', gt_file, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    table, line = r.stdout.strip().rsplit('\n', 1)
    expected = MPIIPoseMetric(gt_file=str(gt_file), out_dir=str(tmp_path / 'm'))
    expected = _run_metric(expected, dict(mpii_entries=len(preds), mpii_labelled=True), list(preds - 1.0))
    assert table == _table(expected) and table.splitlines()[0] == '| Arch | ' + ' | '.join(NAMES) + ' |'
    assert json.loads(line) == pytest.approx({n: expected[f'mpii/{n}'] for n in NAMES})
    assert 0 < expected['mpii/Mean'] < 100 and expected['mpii/Mean@0.1'] < expected['mpii/Mean']
    runner, _ = pckh(read_pred_mat(str(trained['work'] / 'pred.mat')), gt)
    assert runner == pytest.approx({n: trained['metrics'][f'mpii/{n}'] for n in NAMES})
    savemat(str(tmp_path / 'short.mat'), dict(preds=preds[:-1]))
    with pytest.raises(DataError, match='short.mat: field "preds" holds .* the ground truth holds'):
        read_pred_mat(str(tmp_path / 'short.mat'), len(preds))
    with pytest.raises(DataError, match='gt_valid.mat: has no field "preds"'):
        read_pred_mat(str(gt_file))


@pytest.mark.slow
def test_test_split_writes_pred_mat_through_hrvision_test(trained, data, tmp_path):
    n = len(json.loads((data / 'annot' / 'test.json').read_text()))
    r = _hrvision('test', trained['cfg'], trained['ckpt'], '--data-root', data, '--out', tmp_path / 'out',
                  '--cfg-options', 'test_dataloader.dataset.ann_file=annot/test.json',
                  'test_evaluator.format_only=True', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    preds = loadmat(str(tmp_path / 'out' / 'pred.mat'))['preds']
    assert preds.shape == (n, 16, 2) and np.isfinite(preds).all()
    assert preds.min() >= -60 and preds.max() <= 96 + 60   # 1-based pixels near the 96x96 pictures
    assert not [p for p in os.listdir(tmp_path / 'out') if '.tmp' in p]
    # the missing head boxes: one line naming the file, before any inference
    r = _hrvision('test', trained['cfg'], trained['ckpt'], '--data-root', data, '--cfg-options',
                  f'test_evaluator.gt_file={tmp_path / "nowhere" / "gt_valid.mat"}', cwd=tmp_path)
    _one_line_exit_2(r, 'nowhere/gt_valid.mat', 'does not exist', 'head')


@pytest.mark.slow
def test_bad_entries_are_refused_in_one_line(trained, data, tmp_path):
    bad = tmp_path / 'bad'
    shutil.copytree(data / 'annot', bad / 'annot')
    entries = json.loads((bad / 'annot' / 'train.json').read_text())
    del entries[2]['joints_vis']
    (bad / 'annot' / 'train.json').write_text(json.dumps(entries))
    r = _hrvision('train', trained['cfg'], '--data-root', bad, '--work-dir', tmp_path / 'work', cwd=tmp_path)
    _one_line_exit_2(r, 'train.json', 'entry [2]', 'no "joints_vis"')
    assert not (tmp_path / 'work').exists() or not list((tmp_path / 'work').rglob('*.pth'))


BAD_FIELDS = {
    'joints_15': (lambda e: e[1].update(joints=e[1]['joints'][:15]),
                  ('entry [1]', '"joints" must be 16 [x, y] pairs', 'got 15')),
    'joints_vis_2': (lambda e: e[0].update(joints_vis=[2] * 16), ('entry [0]', '"joints_vis" must be 16 flags 0/1')),
    'no_joints': (lambda e: e[0].pop('joints'), ('entry [0]', 'has "joints_vis" but no "joints"')),
    'scale_0': (lambda e: e[3].update(scale=0), ('entry [3]', '"scale" must be a positive number')),
    'center_1': (lambda e: e[0].update(center=[1.0]), ('entry [0]', '"center" must be [x, y]')),
    'no_image': (lambda e: e[1].pop('image'), ('entry [1]', '"image" must be an image file name')),
}


@pytest.mark.parametrize('name', sorted(BAD_FIELDS))
def test_each_bad_field_is_named(data, tmp_path, name):
    defect, words = BAD_FIELDS[name]
    (tmp_path / 'annot').mkdir()
    entries = json.loads((data / 'annot' / 'train.json').read_text())
    defect(entries)
    (tmp_path / 'annot' / 'train.json').write_text(json.dumps(entries))
    with pytest.raises(DataError) as e:
        _dataset(tmp_path, 'train', test_mode=False)
    assert str(e.value).startswith(str(tmp_path / 'annot' / 'train.json')) and '\n' not in str(e.value)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_int8_export_compares_the_mean_pckh():
    """The INT8 / BF16 export's accuracy check knows MPII's metric: the mean PCKh@0.5, in percent, higher better
    (a model losing more than half a point is refused by default); the per-joint rows are not compared."""
    import hrvision.tasks.pose.mpii_metric  # noqa: F401  (registers it)
    from hrvision.quantize import compared
    metrics = {'mpii/Head': 97.0, 'mpii/Mean': 90.3, 'mpii/Mean@0.1': 37.7}
    got = compared(metrics, 'test')
    assert list(got) == ['mpii/Mean']
    rule = got['mpii/Mean']
    assert rule.higher_better and rule.max_drop == 0.5 and rule.drop(90.3, 89.9) == pytest.approx(0.4)
