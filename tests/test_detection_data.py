"""COCO detection data: synthetic generator format, dataset rules and bad input, transforms."""
import json
import os

import numpy as np
import pytest

import hrvision.tasks.detection  # noqa: F401  (registration)
from hrvision.cli import main as cli_main
from hrvision.tasks.detection.dataset import CocoDetectionDataset
from hrvision.tasks.detection.synth import CATEGORIES
from hrvision.tasks.detection import synth as det_synth
from hrvision.tasks.detection.transforms import DetectionRandomFlip, DetectionResize, LoadDetectionImage, PackDetectionInputs


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp('synth_det')
    det_synth.write_synthetic(str(out), n_train=6, n_val=4, seed=3)
    return out


def _write_coco(tmp_path, images, anns, cats=({'id': 5, 'name': 'a'}, {'id': 2, 'name': 'b'}), make_files=True):
    for im in images:
        if make_files:
            import cv2
            cv2.imwrite(str(tmp_path / im['file_name']), np.zeros((im['height'], im['width'], 3), np.uint8))
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps({'images': images, 'annotations': anns, 'categories': list(cats)}))
    return str(path)


def _ds(ann, tmp_path, **kw):
    return CocoDetectionDataset(ann_file=ann, data_prefix=dict(img=str(tmp_path)), pipeline=[], **kw)


def test_synth_is_coco_instances_format(synth):
    from pycocotools.coco import COCO
    for split, n in (('train', 6), ('val', 4)):
        path = synth / 'annotations' / f'instances_{split}2017.json'
        data = json.loads(path.read_text())
        assert {'images', 'annotations', 'categories', 'info', 'licenses'} <= set(data)
        assert len(data['images']) == n and len(os.listdir(synth / f'{split}2017')) == n
        assert [c['id'] for c in data['categories']] == [c['id'] for c in CATEGORIES]
        for a in data['annotations']:
            assert {'id', 'image_id', 'category_id', 'segmentation', 'area', 'bbox', 'iscrowd'} <= set(a)
            poly = np.array(a['segmentation'][0]).reshape(-1, 2)
            x, y, w, h = a['bbox']
            assert np.allclose([poly[:, 0].min(), poly[:, 1].min()], [x, y], atol=0.02)
            assert w > 0 and h > 0 and 0 < a['area'] <= w * h + 1e-3 and a['iscrowd'] == 0
        coco = COCO(str(path))  # pycocotools accepts it, including polygon -> mask
        ann = coco.loadAnns(coco.getAnnIds())[0]
        assert coco.annToMask(ann).sum() > 0


def test_synth_cli_is_reproducible(tmp_path):
    assert cli_main(['data', 'synth-coco-det', str(tmp_path / 'a'), '--n', '4', '--seed', '7']) == 0
    assert cli_main(['data', 'synth-coco-det', str(tmp_path / 'b'), '--n', '4', '--seed', '7']) == 0
    a = (tmp_path / 'a/annotations/instances_train2017.json').read_text()
    assert a == (tmp_path / 'b/annotations/instances_train2017.json').read_text()


def test_dataset_labels_crowd_clipping_and_counts(tmp_path):
    images = [dict(id=1, file_name='1.png', width=40, height=30), dict(id=2, file_name='2.png', width=40, height=30)]
    anns = [
        dict(id=1, image_id=1, category_id=5, bbox=[2, 3, 10, 5], iscrowd=0),     # fine -> label 1 (ids 2, 5)
        dict(id=2, image_id=1, category_id=2, bbox=[35, 20, 10, 20], iscrowd=0),  # clipped to the image
        dict(id=3, image_id=1, category_id=2, bbox=[5, 5, 0, 4], iscrowd=0),      # zero width -> skipped
        dict(id=4, image_id=1, category_id=5, bbox=[50, 5, 4, 4], iscrowd=0),     # outside the image -> skipped
        dict(id=5, image_id=1, category_id=5, bbox=[1, 1, 20, 20], iscrowd=1),    # crowd -> ignored
        dict(id=6, image_id=2, category_id=2, bbox=[-8, -8, 4, 4], iscrowd=0),    # outside -> image 2 empty
    ]
    ann = _write_coco(tmp_path, images, anns)
    ds = _ds(ann, tmp_path, test_mode=True)
    assert ds.metainfo['cat_ids'] == [2, 5] and ds.metainfo['classes'] == ('b', 'a')
    assert len(ds) == 2  # the empty image is kept for evaluation
    d = ds.get_data_info(0)
    np.testing.assert_allclose(d['gt_bboxes'], [[2, 3, 12, 8], [35, 20, 40, 30]])
    assert d['gt_labels'].tolist() == [1, 0]
    assert ds.get_data_info(1)['gt_bboxes'].shape == (0, 4)
    s = ds.stats
    assert (s['clipped'], s['skipped_no_area'], s['crowd_ignored'], s['empty_images']) == (1, 3, 1, 1)
    train = _ds(ann, tmp_path, filter_empty_gt=True)
    assert len(train) == 1 and train.stats['empty_images_dropped'] == 1


def test_dataset_unknown_category_is_a_clear_error(tmp_path):
    images = [dict(id=1, file_name='1.png', width=40, height=30)]
    ann = _write_coco(tmp_path, images, [dict(id=9, image_id=1, category_id=77, bbox=[1, 1, 5, 5], iscrowd=0)])
    with pytest.raises(ValueError, match=r'annotations\[0\] \(id 9\).*category_id 77.*\[2, 5\]'):
        _ds(ann, tmp_path)


def test_dataset_missing_image_names_the_path(tmp_path):
    images = [dict(id=1, file_name='gone.png', width=40, height=30)]
    ann = _write_coco(tmp_path, images, [], make_files=False)
    with pytest.raises(FileNotFoundError, match='gone.png'):
        _ds(ann, tmp_path)
    # also at load time when the up-front check is off
    ds = _ds(ann, tmp_path, check_images=False, test_mode=True)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / 'gone.png')):
        LoadDetectionImage()(ds.get_data_info(0))


def test_dataset_missing_annotation_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        _ds(str(tmp_path / 'nope.json'), tmp_path)


def test_resize_keeps_aspect_and_scales_boxes():
    img = np.zeros((100, 300, 3), np.uint8)
    res = DetectionResize(scale=(1333, 800))({'img': img, 'gt_bboxes': np.array([[30, 10, 60, 50]], np.float32),
                                        'gt_labels': np.array([0])})
    r = min(1333 / 300, 800 / 100)
    assert res['img_shape'] == (round(100 * r), round(300 * r)) == res['img'].shape[:2]
    np.testing.assert_allclose(res['gt_bboxes'], [[30 * r, 10 * r, 60 * r, 50 * r]], rtol=1e-2)
    np.testing.assert_allclose(res['scale_factor'], (res['img_shape'][1] / 300, res['img_shape'][0] / 100))


def test_flip_moves_boxes_with_pixels():
    img = np.zeros((20, 30, 3), np.uint8)
    img[5:10, 2:8] = 255  # object occupying x in [2, 8)
    box = np.array([[2, 5, 8, 10]], np.float32)
    res = DetectionRandomFlip(prob=1.0)({'img': img, 'gt_bboxes': box, 'gt_labels': np.array([0])})
    xs = np.nonzero(res['img'][7, :, 0])[0]
    np.testing.assert_allclose(res['gt_bboxes'], [[xs.min(), 5, xs.max() + 1, 10]])
    packed = PackDetectionInputs()(res)
    assert packed['inputs'].shape == (3, 20, 30) and packed['data_samples'].flip is True
    assert packed['data_samples'].gt_instances.bboxes.shape == (1, 4)


def test_flip_swaps_classes_named_by_side(tmp_path):
    """A mirrored left hand is a right hand: the dataset derives the swap from the names, the flip applies it."""
    images = [{'id': 1, 'file_name': 'a.png', 'width': 40, 'height': 30}]
    anns = [{'id': k + 1, 'image_id': 1, 'category_id': cid, 'bbox': [2 + 10 * k, 4, 6, 8], 'area': 48, 'iscrowd': 0}
            for k, cid in enumerate((3, 5, 9))]
    cats = ({'id': 3, 'name': 'left_hand'}, {'id': 5, 'name': 'ball'}, {'id': 9, 'name': 'right_hand'})
    ann = _write_coco(tmp_path, images, anns, cats)
    ds = CocoDetectionDataset(ann_file=ann, data_prefix=dict(img=str(tmp_path)), pipeline=[
        dict(type='LoadDetectionImage'), dict(type='DetectionRandomFlip', prob=1.0), dict(type='PackDetectionInputs')])
    assert ds.metainfo['flip_class_indices'] == [2, 1, 0]
    got = ds[0]['data_samples'].gt_instances
    assert got.labels.tolist() == [2, 1, 0]   # boxes of ids 3, 5, 9 (labels 0, 1, 2), mirrored
    assert got.bboxes[0].tolist() == [32.0, 4.0, 38.0, 12.0]
    cats = ({'id': 3, 'name': 'hand'}, {'id': 5, 'name': 'ball'}, {'id': 9, 'name': 'foot'})
    ds = _ds(_write_coco(tmp_path, images, anns, cats), tmp_path)
    assert ds.metainfo['flip_class_indices'] is None


def test_a_config_states_which_classes_swap(tmp_path):
    """Names that only look like sides (a character detector's L and R) keep their labels with flip_class_pairs=[];
    stated pairs replace the names' and are checked against the file's classes."""
    images = [{'id': 1, 'file_name': 'a.png', 'width': 40, 'height': 30}]
    anns = [{'id': 1, 'image_id': 1, 'category_id': 1, 'bbox': [2, 4, 6, 8], 'area': 48, 'iscrowd': 0}]
    cats = ({'id': 1, 'name': 'L'}, {'id': 2, 'name': 'R'}, {'id': 3, 'name': 'Z'})
    ann = _write_coco(tmp_path, images, anns, cats)
    assert _ds(ann, tmp_path).metainfo['flip_class_indices'] == [1, 0, 2]   # by the names
    ds = _ds(ann, tmp_path, metainfo=dict(classes=('L', 'R', 'Z'), flip_class_pairs=[]))
    assert ds.metainfo['flip_class_indices'] is None
    ds = _ds(ann, tmp_path, metainfo=dict(classes=('L', 'R', 'Z'), flip_class_pairs=[[0, 2]]))
    assert ds.metainfo['flip_class_indices'] == [2, 1, 0]
