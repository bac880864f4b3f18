"""Multi-task data: synthetic COCO files (both formats, CLI), the dataset's labels per kind, transforms that
keep boxes / joints / masks consistent, unlabelled images skipped and counted, single-source batches."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from hrvision.cli import main as cli_main
from hrvision.tasks.multitask.dataset import CocoMultiTaskDataset, MultiSourceDataset
from hrvision.tasks.multitask.sampler import MultiTaskBatchSampler
from hrvision.tasks.multitask.transforms import (LoadMultiTaskInputs, MultiTaskRandomCrop, MultiTaskRandomFlip,
                                                 PackMultiTaskInputs)

LOAD = [dict(type='LoadMultiTaskInputs'), dict(type='PackMultiTaskInputs')]


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('mt') / 'data')
    assert cli_main(['data', 'synth-coco-multi', out, '--n', '6', '--n-val', '2', '--seed', '4', '--size', '96']) == 0
    return out


def _dataset(root, split='train', **kw):
    return CocoMultiTaskDataset(data_root=root, ann_file=f'annotations/instances_{split}2017.json',
                                kpt_file=f'annotations/person_keypoints_{split}2017.json',
                                data_prefix=dict(img=f'{split}2017/'), pipeline=kw.pop('pipeline', LOAD), **kw)


def test_synthetic_files_are_coco_instances_and_keypoints(synth):
    inst = json.load(open(osp.join(synth, 'annotations', 'instances_train2017.json')))
    kpt = json.load(open(osp.join(synth, 'annotations', 'person_keypoints_train2017.json')))
    assert len(inst['images']) == 6 and inst['images'] == kpt['images']
    assert [c['name'] for c in inst['categories']][0] == 'person' and len(inst['categories']) == 5
    assert len(kpt['categories']) == 1 and len(kpt['categories'][0]['keypoints']) == 17
    people = [a for a in inst['annotations'] if a['category_id'] == 1]
    assert len(people) == len(kpt['annotations']) >= 6
    assert {a['id'] for a in people} == {a['id'] for a in kpt['annotations']}
    for a in kpt['annotations']:
        assert len(a['keypoints']) == 51 and a['num_keypoints'] == sum(v > 0 for v in a['keypoints'][2::3])
        x, y, w, h = a['bbox']
        kp = np.array(a['keypoints']).reshape(17, 3)
        vis = kp[:, 2] > 0
        # joints lie inside the person's tight mask box (2 px for line ends)
        assert (kp[vis, 0] >= x - 2).all() and (kp[vis, 0] <= x + w + 2).all()
        assert (kp[vis, 1] >= y - 2).all() and (kp[vis, 1] <= y + h + 2).all()
        assert a['segmentation'] and all(len(p) >= 6 and len(p) % 2 == 0 for p in a['segmentation'])
    assert any(a['category_id'] != 1 for a in inst['annotations'])   # a few other objects


def test_dataset_yields_every_label_kind(synth):
    ds = _dataset(synth)
    assert len(ds) == 6 and ds.metainfo['person_label'] == 0
    item = ds[0]
    s = item['data_samples']
    assert set(s.metainfo['tasks']) == {'det', 'pose', 'seg'}
    assert item['inputs'].shape == (3, 96, 96)
    assert s.gt_sem_seg.shape == (96, 96) and set(s.gt_sem_seg.unique().tolist()) <= {0, 1}
    assert len(s.gt_pose) >= 1 and s.gt_pose.keypoints.shape[1:] == (17, 2)
    # the person mask covers the visible joints (the figure is drawn through them)
    kp = s.gt_pose.keypoints[s.gt_pose.keypoints_visible > 0].round().long().clamp(0, 95)
    assert s.gt_sem_seg[kp[:, 1], kp[:, 0]].float().mean() > 0.9
    person = s.gt_instances.labels == 0
    assert person.sum() == len(s.gt_pose)


def _results(ds, i=0):
    info = ds.get_data_info(i)
    return LoadMultiTaskInputs()(info)


def test_flip_keeps_boxes_joints_and_mask_consistent(synth):
    ds = _dataset(synth)
    r = _results(ds)
    before = {k: np.copy(r[k]) for k in ('img', 'gt_sem_seg', 'gt_bboxes', 'gt_person_bboxes', 'gt_keypoints')}
    f = MultiTaskRandomFlip(prob=1.0)(r)
    w = before['img'].shape[1]
    np.testing.assert_array_equal(f['img'], before['img'][:, ::-1])
    np.testing.assert_array_equal(f['gt_sem_seg'], before['gt_sem_seg'][:, ::-1])
    np.testing.assert_allclose(f['gt_bboxes'][:, [0, 2]], w - before['gt_bboxes'][:, [2, 0]])
    # left shoulder (5) after the flip is the mirrored right shoulder (6) before
    kb, kf = before['gt_keypoints'], f['gt_keypoints']
    vis = kb[:, 6, 2] > 0
    np.testing.assert_allclose(kf[vis, 5, 0], w - 1 - kb[vis, 6, 0])   # pixel indices: the pose task's flip
    np.testing.assert_allclose(kf[vis, 5, 1], kb[vis, 6, 1])
    for box, kp in zip(f['gt_person_bboxes'], kf):
        v = kp[:, 2] > 0
        assert (kp[v, 0] >= box[0] - 2).all() and (kp[v, 0] <= box[2] + 2).all()


def _sided_copy(synth, tmp_path):
    """The synthetic set with two of its object classes renamed 'left_glove' / 'right_glove'."""
    import shutil
    root = tmp_path / 'sided'
    shutil.copytree(synth, root)
    path = root / 'annotations' / 'instances_train2017.json'
    data = json.loads(path.read_text())
    data['categories'][1]['name'], data['categories'][2]['name'] = 'left_glove', 'right_glove'
    path.write_text(json.dumps(data))
    return str(root)


def test_flip_swaps_classes_named_by_side_in_boxes_and_masks(synth, tmp_path):
    """A mirrored left glove is a right glove: box labels 1 <-> 2, mask labels 2 <-> 3 (1 + box label)."""
    ds = _dataset(_sided_copy(synth, tmp_path), seg_mode='category')
    assert ds.metainfo['flip_class_indices'] == [0, 2, 1, 3, 4]
    i = next(k for k in range(len(ds)) if {1, 2} & set(ds.get_data_info(k)['gt_labels'].tolist()))
    r = _results(ds, i)
    labels, seg = np.copy(r['gt_labels']), np.copy(r['gt_sem_seg'])
    assert {2, 3} & set(np.unique(seg).tolist())
    f = MultiTaskRandomFlip(prob=1.0)(r)
    np.testing.assert_array_equal(f['gt_labels'], np.array([0, 2, 1, 3, 4])[labels])
    np.testing.assert_array_equal(f['gt_sem_seg'], np.array([0, 1, 3, 2, 4, 5, 255])[
        np.searchsorted([0, 1, 2, 3, 4, 5, 255], seg[:, ::-1])])
    plain = _dataset(synth, seg_mode='category')   # no sided names: nothing swapped
    assert plain.metainfo['flip_class_indices'] is None
    r = _results(plain, i)
    labels = np.copy(r['gt_labels'])
    np.testing.assert_array_equal(MultiTaskRandomFlip(prob=1.0)(r)['gt_labels'], labels)


def test_crop_keeps_labels_consistent_and_hides_joints_outside(synth):
    ds = _dataset(synth)
    np.random.seed(0)
    r = MultiTaskRandomCrop((48, 64))(_results(ds))
    assert r['img'].shape[:2] == (48, 64) == r['gt_sem_seg'].shape
    assert len(r['gt_bboxes']) == len(r['gt_labels']) and len(r['gt_person_bboxes']) == len(r['gt_keypoints'])
    b = r['gt_bboxes']
    assert (b[:, 0] >= 0).all() and (b[:, 2] <= 64).all() and (b[:, 3] <= 48).all()
    kp = r['gt_keypoints']
    v = kp[..., 2] > 0
    assert (kp[v][:, 0] < 64).all() and (kp[v][:, 1] < 48).all() and (kp[~v][:, :2] == 0).all()
    s = PackMultiTaskInputs()(r)['data_samples']
    assert s.gt_sem_seg.shape == (48, 64) and s.metainfo['img_shape'] == (48, 64)


def test_images_labelled_for_no_configured_task_are_skipped_and_counted(synth, tmp_path):
    kpt = json.load(open(osp.join(synth, 'annotations', 'person_keypoints_train2017.json')))
    first = kpt['images'][0]['id']
    kpt['annotations'] = [a for a in kpt['annotations'] if a['image_id'] != first]
    path = tmp_path / 'kpt.json'
    path.write_text(json.dumps(kpt))
    ds = CocoMultiTaskDataset(data_root=synth, ann_file='annotations/instances_train2017.json', kpt_file=str(path),
                              data_prefix=dict(img='train2017/'), tasks=dict(pose='pose'), pipeline=LOAD)
    assert len(ds) == 5 and ds.stats['skipped_unlabelled'] == 1
    assert first not in [d['img_id'] for d in ds.data_list]
    with pytest.raises(ValueError, match="kinds must be one of"):
        _dataset(synth, tasks=dict(depth='depth'))


def test_task_batch_sampler_gives_single_source_batches(synth):
    seg = _dataset(synth, tasks=dict(seg='segmentation'))
    pose = _dataset(synth, split='val', tasks=dict(pose='pose'))
    both = MultiSourceDataset([dict(dataset=seg, tasks=['seg']), dict(dataset=pose, tasks=['pose'])])
    assert len(both) == 8
    assert both[7]['data_samples'].metainfo['tasks'] == ['pose']
    assert both[0]['data_samples'].metainfo['tasks'] == ['seg']

    class Forever(torch.utils.data.Sampler):
        dataset = both

        def __iter__(self):
            rng = np.random.RandomState(0)
            while True:
                yield from rng.permutation(len(both))

    batches = MultiTaskBatchSampler(Forever(), batch_size=2, mode='alternate')
    it = iter(batches)
    got = [next(it) for _ in range(6)]
    assert [both.source_of(b[0]) for b in got] == [0, 1] * 3
    assert all(len({both.source_of(i) for i in b}) == 1 for b in got)
    np.random.seed(1)
    it = iter(MultiTaskBatchSampler(Forever(), batch_size=2, mode='weighted', weights=[3, 1]))
    share = np.mean([both.source_of(next(it)[0]) == 0 for _ in range(200)])
    assert 0.65 < share < 0.85
    with pytest.raises(ValueError, match='weights'):
        MultiTaskBatchSampler(Forever(), batch_size=2, mode='weighted', weights=[1, -1])


def test_one_picture_shows_mask_boxes_and_skeletons(synth, tmp_path):
    from hrvision.data.io import read_image
    from hrvision.structures import InstanceData
    from hrvision.tasks.multitask.vis import save_multitask
    ds = _dataset(synth)
    s = ds[0]['data_samples']
    s.pred_sem_seg = s.gt_sem_seg
    s.pred_instances = InstanceData(bboxes=s.gt_instances.bboxes, labels=s.gt_instances.labels,
                                    scores=torch.ones(len(s.gt_instances)))
    s.pred_pose = InstanceData(keypoints=s.gt_pose.keypoints, keypoint_scores=s.gt_pose.keypoints_visible)
    pic = read_image(save_multitask(s.to_dict(), str(tmp_path / 'p.png'), ds.metainfo['classes']))
    assert pic.shape == (384, 384, 3)                    # 96 px enlarged x4
    x1, y1 = (s.gt_instances.bboxes[0, :2] * 4).round().long().tolist()
    assert (pic[max(y1, 1) - 1:y1 + 2, x1 + 8] == [255, 255, 0]).all(-1).any()   # box edge in the box colour
    assert (pic == [0, 255, 0]).all(-1).sum() > 50                                # joints (skeleton points)
