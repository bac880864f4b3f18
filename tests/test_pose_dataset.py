"""CocoKeypointDataset: GT boxes, detections, skipped-and-counted people, and clear errors for bad files."""
import json

import numpy as np
import pytest

from hrvision.tasks.pose.dataset import CocoKeypointDataset
from hrvision.tasks.pose.transforms import LoadPoseImage


def _kps(n_labelled: int) -> list:
    kp = np.zeros((17, 3))
    for i in range(n_labelled):
        kp[i] = [50 + i, 40 + 2 * i, 2]
    return kp.reshape(-1).tolist()


def _ann(i, box, n_labelled=17, **kw):
    return dict(id=i, image_id=1, category_id=1, iscrowd=0, bbox=box, area=float(box[2] * box[3]),
                num_keypoints=n_labelled, keypoints=_kps(n_labelled), **kw)


@pytest.fixture
def coco_dir(tmp_path):
    import cv2
    (tmp_path / 'img').mkdir()
    cv2.imwrite(str(tmp_path / 'img' / 'a.png'), np.zeros((100, 120, 3), np.uint8))
    data = dict(images=[dict(id=1, file_name='a.png', width=120, height=100),
                        dict(id=2, file_name='missing.png', width=120, height=100)],
                annotations=[_ann(1, [10, 20, 40, 60]),                 # kept
                             _ann(2, [10, 20, 0, 60]),                  # zero width
                             _ann(3, [10, 20, 30, 0]),                  # zero height (negative: refused)
                             _ann(4, [5, 5, 30, 40], n_labelled=0),     # no labelled joints
                             dict(_ann(5, [5, 5, 30, 40]), iscrowd=1),  # crowd
                             dict(_ann(6, [0, 0, 50, 50]), image_id=2)],
                categories=[dict(id=1, name='person')])
    (tmp_path / 'ann.json').write_text(json.dumps(data))
    return tmp_path


def test_gt_boxes_skips_and_counts(coco_dir):
    ds = CocoKeypointDataset('ann.json', data_root=str(coco_dir), data_prefix=dict(img='img/'))
    assert len(ds) == 2
    assert ds.skipped == {'non_positive_box': 2, 'no_labelled_joints': 1, 'crowd': 1}
    e = ds.get_data_info(0)
    # official cleaning: w -> w - 1, then (c, s) with aspect 192/256 and 1.25 padding
    np.testing.assert_allclose(e['center'], [10 + 39 / 2, 20 + 59 / 2])
    np.testing.assert_allclose(e['scale'], np.array([59 * 0.75, 59]) / 200 * 1.25, rtol=1e-6)
    assert e['keypoints'].shape == (17, 2) and e['keypoints_visible'].max() == 1
    assert e['area'] == pytest.approx(np.prod(e['scale'] * 200))


def test_missing_optional_fields_are_filled(tmp_path):
    from hrvision.data.coco import load_coco
    ann = _ann(1, [10, 20, 40, 60], n_labelled=5)
    del ann['num_keypoints'], ann['area'], ann['iscrowd']
    (tmp_path / 'a.json').write_text(json.dumps(dict(images=[dict(id=1, file_name='a.png')], annotations=[ann],
                                                     categories=[dict(id=1, name='person')])))
    a = load_coco(str(tmp_path / 'a.json'), keypoints=17).anns[1]
    assert a['num_keypoints'] == 5 and a['area'] == 2400 and a['iscrowd'] == 0


def test_missing_image_names_the_file(coco_dir):
    ds = CocoKeypointDataset('ann.json', data_root=str(coco_dir), data_prefix=dict(img='img/'),
                             pipeline=[dict(type='LoadPoseImage')])
    assert ds[0]['img'].shape == (100, 120, 3)
    with pytest.raises(FileNotFoundError, match='missing.png'):
        LoadPoseImage()(dict(ds.get_data_info(1)))


def test_malformed_json_names_file_and_line(tmp_path):
    bad = tmp_path / 'broken.json'
    bad.write_text('{"images": [\n{"id": 1,}\n]}')
    with pytest.raises(ValueError, match=r'broken\.json.*line 2'):
        CocoKeypointDataset(str(bad))
    no_field = tmp_path / 'nofield.json'
    no_field.write_text(json.dumps(dict(images=[], categories=[])))
    with pytest.raises(ValueError, match=r'nofield\.json.*"annotations"'):
        CocoKeypointDataset(str(no_field))
    short = tmp_path / 'short.json'
    short.write_text(json.dumps(dict(images=[dict(id=1, file_name='a.png')], categories=[dict(id=1, name='person')],
                                     annotations=[dict(_ann(7, [1, 1, 5, 5]), keypoints=[1, 2, 3])])))
    with pytest.raises(ValueError, match=r'short\.json.*annotations\[0\] \(id 7\).*keypoints.*51'):
        CocoKeypointDataset(str(short))
    with pytest.raises(FileNotFoundError, match='nothere.json'):
        CocoKeypointDataset(str(tmp_path / 'nothere.json'))


def test_detection_boxes(coco_dir):
    dets = [dict(image_id=1, category_id=1, bbox=[10, 20, 40, 60], score=0.9),
            dict(image_id=1, category_id=1, bbox=[0, 0, 20, 20], score=0.05),
            dict(image_id=2, category_id=1, bbox=[0, 0, 0, 20], score=0.8),
            dict(image_id=1, category_id=3, bbox=[0, 0, 20, 20], score=0.9)]
    (coco_dir / 'dets.json').write_text(json.dumps(dets))
    ds = CocoKeypointDataset('ann.json', data_root=str(coco_dir), data_prefix=dict(img='img/'),
                             bbox_file=str(coco_dir / 'dets.json'), score_thr=0.1, test_mode=True)
    assert len(ds) == 1 and ds.get_data_info(0)['bbox_score'] == pytest.approx(0.9)
    assert ds.skipped == {'below_score_thr': 1, 'non_positive_box': 1, 'not_person': 1}
    np.testing.assert_allclose(ds.get_data_info(0)['center'], [30, 50])      # detections are not "cleaned"


def test_detections_with_unknown_image_ids(coco_dir):
    (coco_dir / 'dets.json').write_text(json.dumps([dict(image_id=1, bbox=[1, 1, 5, 5], score=1.0),
                                                    dict(image_id=77, bbox=[1, 1, 5, 5], score=1.0),
                                                    dict(image_id=78, bbox=[1, 1, 5, 5], score=1.0)]))
    with pytest.raises(ValueError, match=r'dets\.json.*2 image id\(s\).*\[77, 78\]'):
        CocoKeypointDataset('ann.json', data_root=str(coco_dir), bbox_file=str(coco_dir / 'dets.json'))
    (coco_dir / 'dets.json').write_text(json.dumps([dict(image_id=1, bbox=[1, 1, 5], score=1.0)]))
    with pytest.raises(ValueError, match=r'detection \[0\].*bbox'):
        CocoKeypointDataset('ann.json', data_root=str(coco_dir), bbox_file=str(coco_dir / 'dets.json'))
