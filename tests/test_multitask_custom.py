"""The multi-task path on a custom keypoint set (issue 21): synthetic multi-task COCO scenes whose keypoint file is
converted to the pose task's custom 12-keypoint category (id 3, 'figure'; the instances file names the people the
same way). The people reach the dataset and the packer, a training iteration runs, the keypoint metric of a mixed
dataset scores with the file's own sigmas, the pictures use its skeleton, and a 17-keypoint head is refused."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from hrvision.backbones.hrnet import tiny_extra
from hrvision.errors import ConfigError, DataError
from hrvision.tasks.multitask import synth as multi_synth
from hrvision.tasks.pose.synth_custom import CUSTOM12_CATEGORY, CUSTOM12_SIGMAS, CUSTOM12_SKELETON, convert_file
from tests.conftest import REPO

MT_CFG = osp.join(REPO, 'configs', 'multitask', 'demo_synthetic.py')


def _remap_instances(path: str) -> None:
    """People -> the keypoint file's category (3 'figure'); the shape that had id 3 moves to 6."""
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    new = {1: CUSTOM12_CATEGORY, CUSTOM12_CATEGORY: 6}
    for c in data['categories']:
        if c['id'] == 1:
            c.update(name='figure', supercategory='figure')
        c['id'] = new.get(c['id'], c['id'])
    for a in data['annotations']:
        a['category_id'] = new.get(a['category_id'], a['category_id'])
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f)


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    out = tmp_path_factory.mktemp('mt_custom')
    multi_synth.write_synthetic(str(out), n_train=4, n_val=3, size=(64, 64), seed=1)
    for split in ('train', 'val'):
        convert_file(str(out / 'annotations' / f'person_keypoints_{split}2017.json'))
        _remap_instances(str(out / 'annotations' / f'instances_{split}2017.json'))
    (out / 'annotations' / 'metainfo.json').write_text(json.dumps(dict(sigmas=list(CUSTOM12_SIGMAS))))
    return out


def _ds_cfg(root, split='train', pipeline=(), tasks=None, kpt=True, **kw):
    cfg = dict(type='CocoMultiTaskDataset', data_root=str(root), ann_file=f'annotations/instances_{split}2017.json',
               data_prefix=dict(img=f'{split}2017/'), tasks=tasks or dict(det='detection', pose='pose'),
               pipeline=list(pipeline), **kw)
    if kpt:   # the sigmas (a COCO file has no field for them) with the keypoint file
        cfg.update(kpt_file=f'annotations/person_keypoints_{split}2017.json',
                   metainfo=dict(from_file=str(root / 'annotations' / 'metainfo.json')))
    return cfg


def _build(cfg):
    from hrvision.registry import DATASETS
    import hrvision.tasks.multitask  # noqa: F401  (registrations)
    return DATASETS.build(cfg)


def test_people_of_the_keypoint_category_are_read_and_packed(root):
    ds = _build(_ds_cfg(root, pipeline=[dict(type='LoadMultiTaskInputs'), dict(type='MultiTaskRandomFlip', prob=1.0),
                                        dict(type='PackMultiTaskInputs')]))
    people = [len(ds.get_data_info(i)['gt_keypoints']) for i in range(len(ds))]
    assert sum(people) > 0 and all('pose' in ds.get_data_info(i)['tasks'] for i in range(len(ds)) if people[i])
    meta = ds.metainfo
    assert meta['num_keypoints'] == 12 and meta['sigmas'] == pytest.approx(CUSTOM12_SIGMAS)   # from_file is read
    assert [list(p) for p in meta['skeleton']] == [list(p) for p in CUSTOM12_SKELETON]
    i = int(np.argmax(people))
    sample = ds[i]['data_samples']
    assert tuple(sample.gt_pose.keypoints.shape) == (people[i], 12, 2)
    assert tuple(sample.gt_pose.keypoints_visible.shape) == (people[i], 12)


def test_keypoint_category_missing_from_instances_is_refused(root, tmp_path):
    data = json.loads((root / 'annotations' / 'instances_train2017.json').read_text())
    data['categories'] = [c for c in data['categories'] if c['id'] != CUSTOM12_CATEGORY]
    data['annotations'] = [a for a in data['annotations'] if a['category_id'] != CUSTOM12_CATEGORY]
    bad = tmp_path / 'instances_bad.json'
    bad.write_text(json.dumps(data))
    cfg = _ds_cfg(root)
    cfg['ann_file'] = str(bad)
    with pytest.raises(DataError, match=r'keypoint category id 3 is not a category of .*instances_bad\.json'):
        _build(cfg)
    with pytest.raises(ConfigError, match=r'person_category=1 but the keypoint category .* is 3'):
        _build(_ds_cfg(root, person_category=1))


def test_no_labelled_person_is_refused_not_silently_dropped(root, tmp_path):
    data = json.loads((root / 'annotations' / 'person_keypoints_train2017.json').read_text())
    for a in data['annotations']:
        a['keypoints'] = [0] * len(a['keypoints'])
        a['num_keypoints'] = 0
    bad = tmp_path / 'kpts_unlabelled.json'
    bad.write_text(json.dumps(data))
    cfg = _ds_cfg(root)
    cfg['kpt_file'] = str(bad)
    with pytest.raises(DataError, match=r'kpts_unlabelled\.json: no person of keypoint category 3 with a labelled'):
        _build(cfg)


def _short_cfg(root, work, num_keypoints=12) -> Config:
    cfg = Config.fromfile(MT_CFG)
    train = _ds_cfg(root, pipeline=cfg.train_pipeline, tasks=dict(cfg.tasks))
    cfg.merge_from_dict({
        'work_dir': str(work), 'data_root': str(root),
        'model.backbone': dict(type='HRNet', extra=tiny_extra(8), upsample_mode='bilinear', align_corners=False),
        'model.heads.pose.num_keypoints': num_keypoints, 'model.heads.pose.boxes': 'gt',
        'model.heads.det.num_classes': 5,
        'train_dataloader.batch_size': 2, 'train_dataloader.dataset': train,
        'train_cfg': dict(type='IterBasedTrainLoop', max_iters=1, val_interval=1000),
        'param_scheduler': [], 'default_hooks.checkpoint.interval': 1000, 'default_hooks.logger.interval': 1,
    })
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg', 'test_dataloader', 'test_evaluator', 'test_cfg'):
        cfg[key] = None
    return cfg


def test_one_training_iteration_on_twelve_keypoints(root, tmp_path):
    from hrvision.engine.runner import build_runner, prepare_config
    path = str(tmp_path / 'cfg.py')
    _short_cfg(root, tmp_path / 'work').dump(path)
    runner = build_runner(prepare_config(path, work_dir=str(tmp_path / 'work')))
    runner.train()
    assert runner.iter == 1
    ckpt = torch.load(str(tmp_path / 'work' / 'iter_1.pth'), map_location='cpu', weights_only=False)
    assert ckpt['meta']['dataset_meta']['sigmas'] == pytest.approx(CUSTOM12_SIGMAS)   # what `infer` reads


def test_seventeen_keypoint_head_refused_before_training(root, tmp_path):
    path = str(tmp_path / 'cfg17.py')
    _short_cfg(root, tmp_path / 'work', num_keypoints=17).dump(path)
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'train', path, '--work-dir', str(tmp_path / 'work')],
                       capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert 'model.heads.pose.num_keypoints=17 but the dataset (train_dataloader) has 12 keypoint_names' \
        in lines[-1], r.stderr[-2000:]
    assert 'Traceback' not in r.stderr
    assert not osp.exists(osp.join(str(tmp_path / 'work'), 'iter_1.pth'))


def test_data_check_cli_names_the_head(root, tmp_path, capsys):
    from hrvision.cli import main
    path = str(tmp_path / 'cfg17.py')
    _short_cfg(root, tmp_path / 'work', num_keypoints=17).dump(path)
    rc = main(['data', 'check', path])
    out = capsys.readouterr()
    out = out.out + out.err
    assert rc == 2, out
    assert 'model.heads.pose.num_keypoints=17 but the dataset (train_dataloader) has 12 keypoint_names' in out, out


def test_data_check_compares_each_head(root):
    from hrvision.tasks.multitask.check import MultiTaskCheck
    from hrvision.data_check import Report
    ds = _build(_ds_cfg(root))
    heads = dict(pose=dict(type='PoseHead', num_keypoints=17),
                 det=dict(type='DetectionHead', kind='fcos', num_classes=4),
                 seg=dict(type='SegmentationHead', num_classes=2))
    report = Report()
    MultiTaskCheck().head_problems(dict(type='MultiTaskModel', heads=heads), dict(ds.metainfo), 'train_dataloader',
                                   report)
    text = [p.message for p in report.problems]
    assert any('model.heads.pose.num_keypoints=17 but the dataset (train_dataloader) has 12' in t for t in text), text
    assert any('model.heads.det.num_classes=4 but the dataset (train_dataloader) has 5 classes' in t for t in text)
    assert len(text) == 2, text   # seg is not labelled by this dataset (tasks: det, pose)


def _perfect(ds, shift=0.0):
    """One predicted sample per image: its ground-truth people (plus ``shift`` pixels), as the model writes them;
    distinct box scores (the ranking has no ties, so the order of equal scores cannot matter)."""
    from hrvision.structures import DataSample, InstanceData
    out, n = [], 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        kp = np.asarray(info['gt_keypoints'], np.float32)
        boxes = np.asarray(info['gt_person_bboxes'], np.float32).reshape(-1, 4)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) * 1.25 ** 2
        s = DataSample(metainfo=dict(img_id=info['img_id'], img_path=info['img_path'], tasks=['pose']))
        scores = 1.0 - 0.05 * torch.arange(n, n + len(kp), dtype=torch.float32)
        n += len(kp)
        s.pred_pose = InstanceData(bboxes=torch.from_numpy(boxes), scores=scores,
                                   keypoints=torch.from_numpy(kp[..., :2] + shift),
                                   keypoint_scores=torch.from_numpy((kp[..., 2] > 0).astype(np.float32)),
                                   areas=torch.from_numpy(area))
        out.append(s)
    return out


def _pycocotools_ap(ann_file, samples, sigmas) -> float:
    """AP by pycocotools directly, with ``sigmas``: the independent computation."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
        dets = []
        for s in samples:
            pose = s.pred_pose
            for kp, vis, score in zip(pose.keypoints.numpy(), pose.keypoint_scores.numpy(), pose.scores.numpy()):
                dets.append(dict(image_id=int(s.img_id), category_id=CUSTOM12_CATEGORY, score=float(score),
                                 keypoints=np.concatenate([kp, vis[:, None]], 1).reshape(-1).tolist()))
        ev = COCOeval(gt, gt.loadRes(dets), 'keypoints')
        ev.params.kpt_oks_sigmas = np.asarray(sigmas)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


def test_mixed_dataset_keypoint_metric_uses_the_files_sigmas(root, tmp_path):
    """A mixed dataset whose first source has no keypoints: the metric still gets the pose source's sigmas."""
    from hrvision.registry import EVALUATOR
    mixed = _build(dict(type='MultiSourceDataset', sources=[
        dict(dataset=_ds_cfg(root, 'val', tasks=dict(det='detection'), kpt=False, test_mode=True), tasks=['det']),
        dict(dataset=_ds_cfg(root, 'val', tasks=dict(pose='pose'), test_mode=True), tasks=['pose'])]))
    meta = mixed.metainfo
    assert meta['sigmas'] == pytest.approx(CUSTOM12_SIGMAS) and meta['num_keypoints'] == 12
    pose_ds = mixed.datasets[1]
    ann = str(root / 'annotations' / 'person_keypoints_val2017.json')
    n_people = sum(len(pose_ds.get_data_info(i)['gt_keypoints']) for i in range(len(pose_ds)))
    assert n_people > len(pose_ds)   # more instances than images

    def evaluate(samples):
        ev = EVALUATOR.build(dict(type='MultiTaskEvaluator', metrics=[dict(
            type='MultiTaskKeypointMetric', ann_file=ann, prefix='pose', task='pose', out_dir=str(tmp_path))]))
        ev.dataset_meta = meta
        ev.process(samples)
        return ev.evaluate(len(samples))['pose/AP']

    assert evaluate(_perfect(pose_ds)) == pytest.approx(1.0)
    shifted = _perfect(pose_ds, shift=1.5)
    ap = evaluate(shifted)
    assert ap == pytest.approx(_pycocotools_ap(ann, shifted, CUSTOM12_SIGMAS), abs=1e-6)
    assert ap < 1.0


def test_mixed_sources_with_different_keypoints_are_refused(root):
    coco17 = str(root / 'coco17')
    multi_synth.write_synthetic(coco17, n_train=2, n_val=2, size=(64, 64), seed=2)
    other = dict(type='CocoMultiTaskDataset', data_root=coco17, ann_file='annotations/instances_val2017.json',
                 kpt_file='annotations/person_keypoints_val2017.json', data_prefix=dict(img='val2017/'),
                 tasks=dict(pose='pose'), test_mode=True)
    with pytest.raises(ConfigError, match=r"sources\[0\] and sources\[1\] have different keypoint metadata "
                                          r".* for the same head\(s\) \['pose'\]"):
        _build(dict(type='MultiSourceDataset', sources=[
            dict(dataset=_ds_cfg(root, 'val', tasks=dict(pose='pose'), test_mode=True), tasks=['pose']),
            dict(dataset=other, tasks=['pose'])]))


def test_pictures_use_the_metadata_skeleton(root, tmp_path):
    from hrvision.data.io import read_image
    from hrvision.registry import EVALUATOR
    from hrvision.tasks.multitask.vis import save_multitask
    ds = _build(_ds_cfg(root, 'val', test_mode=True))
    samples = _perfect(ds)
    i = max(range(len(samples)), key=lambda j: len(samples[j].pred_pose))
    ev = EVALUATOR.build(dict(type='MultiTaskEvaluator', metrics=[dict(type='MultiTaskOutputs',
                                                                       out_dir=str(tmp_path / 'o'))]))
    ev.dataset_meta = dict(ds.metainfo)
    ev.process([samples[i]])
    ev.evaluate(1)
    name = f'{int(samples[i].img_id):012d}.png'
    got = read_image(str(tmp_path / 'o' / 'pictures' / name))
    want = read_image(save_multitask(samples[i].to_dict(), str(tmp_path / 'w.png'), skeleton=CUSTOM12_SKELETON))
    bare = read_image(save_multitask(samples[i].to_dict(), str(tmp_path / 'b.png'), skeleton=()))
    assert np.array_equal(got, want) and not np.array_equal(got, bare)
