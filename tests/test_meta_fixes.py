"""Review fixes to the dataset-metadata contract (issue 21): COCO/PoseTrack sigmas bit-identical to pycocotools /
poseval, the half-body's upper body from the metadata, more left/right naming conventions (and a refusal when
names look sided but pair with nothing), the keypoint category id stated instead of guessed, a standalone metric
on a 12-keypoint file blamed for its sigmas, ``from_file`` found under ``data_root``, the segmentation metric's
class count checked against any dataset classes, and config metadata mistakes said instead of swallowed."""
from __future__ import annotations

import json
import types

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator

from hrvision.data.metainfo import config_metainfo, parse_metainfo
from hrvision.errors import ConfigError
from hrvision.registry import MODELS, load_tasks
from hrvision.tasks.pose.dataset import CocoKeypointDataset
from hrvision.tasks.pose.metric import CocoKeypointMetric

load_tasks()

NAMES = ['head', 'neck', 'left_shoulder', 'right_shoulder', 'left_hand', 'right_hand', 'left_hip', 'right_hip',
         'left_foot', 'right_foot', 'tail', 'tip']
K = len(NAMES)
SIGMAS = [0.05, 0.04, 0.08, 0.08, 0.06, 0.06, 0.1, 0.1, 0.09, 0.09, 0.03, 0.03]
CATEGORY = 7
HALF_BODY = [dict(type='TopDownHalfBody', input_size=(48, 64), prob=0.3, min_visible=2)]


def _keypoint_file(path, category=CATEGORY, names=NAMES):
    """Two images, three people, one keypoint category of its own (plus an unrelated category listed first)."""
    rng = np.random.default_rng(0)
    images = [dict(id=i, file_name=f'{i}.jpg', width=160, height=120) for i in (1, 2)]
    anns = []
    for img, x0 in ((1, 10.0), (1, 90.0), (2, 30.0)):
        kp = np.stack([rng.uniform(x0 + 2, x0 + 38, len(names)), rng.uniform(12, 88, len(names)),
                       np.full(len(names), 2.0)], 1)
        anns.append(dict(id=len(anns) + 1, image_id=img, category_id=category, bbox=[x0, 10.0, 40.0, 80.0],
                         area=3200.0, iscrowd=0, num_keypoints=len(names), keypoints=kp.ravel().tolist()))
    cats = [dict(id=1, name='person'), dict(id=category, name='robot', keypoints=list(names), skeleton=[[1, 2]])]
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
    return str(path)


def _predictions(ds):
    out = []
    for i in range(len(ds)):
        it = ds.get_data_info(i)
        kp = np.asarray(it['keypoints'], np.float64)
        out.append(dict(img_id=it['img_id'], img_path=it['img_path'], pred_keypoints=kp,
                        keypoint_scores=np.full(len(kp), 0.9 - 0.1 * i), area=it['area'], bbox_score=1.0))
    return out


def _evaluate(metric, meta, preds):
    """The runner's path: an Evaluator with the dataset's metadata, ``evaluate(size)``."""
    ev = Evaluator([metric])
    ev.dataset_meta = meta
    ev.process(preds)
    return ev.evaluate(len(preds))


# ---- 1. sigmas bit for bit -------------------------------------------------------------------------------------
def test_coco_and_posetrack_sigmas_equal_the_official_arrays_bit_for_bit():
    from pycocotools.cocoeval import Params
    coco = parse_metainfo(dict(from_file='_base_/datasets/coco.py'), 'x')['sigmas']
    official = Params(iouType='keypoints').kpt_oks_sigmas
    assert np.asarray(coco, np.float64).tobytes() == np.asarray(official, np.float64).tobytes()
    assert CocoKeypointMetric().sigmas().tobytes() == official.tobytes()   # what COCOeval is given
    # poseval / the former tasks/posetrack/joints.py: COCO's, head_bottom and head_top taking the ears' value
    poseval = np.array([.26, .35, .35, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0
    pt = parse_metainfo(dict(from_file='_base_/datasets/posetrack18.py'), 'x')['sigmas']
    assert np.asarray(pt, np.float64).tobytes() == poseval.tobytes()


# ---- 2. the half-body's upper body ------------------------------------------------------------------------------
def test_upper_body_ids_come_from_the_metadata_and_a_custom_set_without_them_is_refused(tmp_path):
    path = _keypoint_file(tmp_path / 'robots.json')
    with pytest.raises(ConfigError) as e:   # COCO's 0..10 would count this set's hips and feet as upper body
        CocoKeypointDataset(ann_file=path, metainfo=dict(sigmas=SIGMAS), pipeline=HALF_BODY)
    assert 'metainfo.upper_body_ids' in str(e.value) and '\n' not in str(e.value)
    CocoKeypointDataset(ann_file=path, metainfo=dict(sigmas=SIGMAS), pipeline=[dict(HALF_BODY[0], prob=0)])
    ds = CocoKeypointDataset(ann_file=path, metainfo=dict(sigmas=SIGMAS, upper_body_ids=[0, 1, 2, 3, 4, 5]),
                             pipeline=HALF_BODY)
    info = ds.get_data_info(0)
    assert info['upper_body_ids'] == [0, 1, 2, 3, 4, 5]
    from hrvision.tasks.pose.transforms import TopDownHalfBody
    t = TopDownHalfBody(input_size=(48, 64), prob=1.0, min_visible=2)
    kp = np.asarray(info['keypoints'], np.float64)
    upper, lower = kp[:6].mean(0), kp[6:].mean(0)
    centres = set()
    for seed in range(20):
        np.random.seed(seed)
        out = t(dict(info, center=np.zeros(2, np.float32), scale=np.ones(2, np.float32)))
        c = np.asarray(out['center'], np.float64)
        assert np.allclose(c, upper, atol=1e-4) or np.allclose(c, lower, atol=1e-4), c
        centres.add(bool(np.allclose(c, upper, atol=1e-4)))
    assert centres == {True, False}   # both halves drawn, split where the metadata says
    coco = parse_metainfo(dict(from_file='_base_/datasets/coco.py'), 'x')
    assert coco['upper_body_ids'] == list(range(11))
    with pytest.raises(ConfigError, match=r'x: metainfo.upper_body_ids \[12\] outside 0..11'):
        parse_metainfo(dict(keypoint_names=NAMES, upper_body_ids=[0, 12]), 'x')


# ---- 3. flip pairs from more naming conventions ------------------------------------------------------------------
@pytest.mark.parametrize('names, pairs', [
    (('nose', 'l_hand', 'r_hand'), [[1, 2]]),
    (('LeftHand', 'RightHand', 'Head'), [[0, 1]]),
    (('left eye', 'right eye', 'mouth'), [[0, 1]]),
    (('hand-R', 'hand-L'), [[1, 0]]),
    (('nose', 'left_eye', 'right_eye', 'wing_left', 'wing_right'), [[1, 2], [3, 4]]),
])
def test_flip_pairs_follow_common_left_right_conventions(names, pairs):
    assert parse_metainfo(dict(keypoint_names=names), 'x')['flip_pairs'] == pairs


def test_sided_names_that_pair_with_nothing_are_refused_unless_flip_pairs_is_stated():
    names = ('head', 'leftHand', 'hand_right_side')   # sided, but no two pair up
    with pytest.raises(ConfigError) as e:
        parse_metainfo(dict(keypoint_names=names), 'cfg.py')
    msg = str(e.value)
    assert msg.startswith('cfg.py: ') and 'metainfo.flip_pairs' in msg and "'leftHand'" in msg and '\n' not in msg
    assert parse_metainfo(dict(keypoint_names=names, flip_pairs=[]), 'x')['flip_indices'] == [0, 1, 2]
    assert parse_metainfo(dict(keypoint_names=names, flip_pairs=[[1, 2]]), 'x')['flip_indices'] == [0, 2, 1]


# ---- 4. the keypoint category id is stated, never guessed -------------------------------------------------------
def test_format_only_results_and_infer_records_carry_the_files_category(tmp_path):
    path = _keypoint_file(tmp_path / 'robots.json')
    ds = CocoKeypointDataset(ann_file=path, test_mode=True, metainfo=dict(sigmas=SIGMAS))
    assert ds.metainfo['category_id'] == CATEGORY and ds.metainfo['category_ids'] == [1, CATEGORY]
    _evaluate(CocoKeypointMetric(out_dir=str(tmp_path), format_only=True), ds.metainfo, _predictions(ds))
    entries = json.loads((tmp_path / 'keypoints_results.json').read_text())
    assert len(entries) == 3 and {e['category_id'] for e in entries} == {CATEGORY}
    meta = {k: v for k, v in ds.metainfo.items() if k != 'category_id'}   # keypoints, two categories: no guess
    with pytest.raises(ConfigError, match='no category_id'):
        _evaluate(CocoKeypointMetric(out_dir=str(tmp_path), format_only=True), meta, _predictions(ds))

    from hrvision.tasks.pose.inference import PoseInference
    inf = object.__new__(PoseInference)
    inf.model = types.SimpleNamespace(dataset_meta=dict(ds.metainfo))
    r = dict(bboxes=np.array([[0., 0., 10., 10.]]), bbox_scores=np.array([0.9]),
             keypoints=np.zeros((1, K, 2)), keypoint_scores=np.full((1, K), 0.5))
    assert inf.record(r, 1, 'a.jpg')[0]['category_id'] == CATEGORY
    inf.model = types.SimpleNamespace(dataset_meta=meta)
    with pytest.raises(ConfigError, match='category_id'):
        inf.record(r, 1, 'a.jpg')


# ---- 5. a standalone metric on a 12-keypoint file ---------------------------------------------------------------
def test_standalone_metric_on_a_twelve_keypoint_file_blames_the_sigmas_not_the_data(tmp_path):
    path = _keypoint_file(tmp_path / 'robots.json')
    ds = CocoKeypointDataset(ann_file=path, test_mode=True, metainfo=dict(sigmas=SIGMAS))
    with pytest.raises(ConfigError) as e:   # no dataset metadata: COCO's 17 sigmas do not fit 12 keypoints
        _evaluate(CocoKeypointMetric(ann_file=path, out_dir=str(tmp_path)), None, _predictions(ds))
    assert 'state metainfo.sigmas' in str(e.value) and '51' not in str(e.value)


# ---- 6. from_file under data_root -------------------------------------------------------------------------------
def test_a_relative_from_file_is_found_under_data_root_first(tmp_path, monkeypatch):
    root = tmp_path / 'data'
    (root / 'annotations').mkdir(parents=True)
    _keypoint_file(root / 'annotations' / 'robots.json')
    (root / 'annotations' / 'metainfo.json').write_text(json.dumps(dict(sigmas=SIGMAS)))
    monkeypatch.chdir(tmp_path)   # not the data folder: only data_root leads to the file
    ds = CocoKeypointDataset(ann_file='annotations/robots.json', data_root=str(root), test_mode=True,
                             metainfo=dict(from_file='annotations/metainfo.json'))
    assert ds.metainfo['sigmas'] == SIGMAS
    with pytest.raises(ConfigError) as e:
        CocoKeypointDataset(ann_file='annotations/robots.json', data_root=str(root), test_mode=True,
                            metainfo=dict(from_file='annotations/nope.json'))
    assert 'metainfo.from_file' in str(e.value) and f"data_root {str(root)!r}" in str(e.value)


# ---- 7. segmentation: a class count that contradicts the dataset, palette or not --------------------------------
def test_segmentation_metric_refuses_a_contradicting_class_count_without_a_palette():
    from hrvision.tasks.segmentation.metric import SegmentationMetric
    s = dict(pred_sem_seg=torch.zeros(4, 4, dtype=torch.int64), gt_sem_seg=torch.zeros(4, 4, dtype=torch.int64),
             img_path='a.png')
    with pytest.raises(ConfigError, match='num_classes=5 but the dataset has 3 classes'):
        _evaluate(SegmentationMetric(num_classes=5), dict(classes=('a', 'b', 'c')), [s])
    with pytest.raises(ConfigError, match='class_names has 2 names but the dataset has 3 classes'):
        _evaluate(SegmentationMetric(class_names=('a', 'b')), dict(classes=('a', 'b', 'c')), [s])
    m = _evaluate(SegmentationMetric(num_classes=3), dict(classes=('a', 'b', 'c')), [s])
    assert 'seg/IoU.a' in m or any('.a' in k for k in m), m


# ---- 8. config mistakes are said; norm_indices; a head's flip_pairs ---------------------------------------------
def _pose_cfg(metainfo):
    return Config(dict(train_dataloader=dict(dataset=dict(type='CocoKeypointDataset', ann_file='x.json',
                                                          metainfo=metainfo))))


@pytest.mark.parametrize('metainfo, words', [
    (dict(keypoint_names=NAMES, sigmas=SIGMAS[:5]), 'metainfo.sigmas has 5 values but keypoint_names has 12'),
    (dict(keypoint_names=NAMES, flip_pairs=[[0, 12]]), 'metainfo.flip_pairs[0] = (0, 12) is outside 0..11'),
    (dict(sigmas=SIGMAS, sigma=SIGMAS), "unknown metainfo key 'sigma'"),
    (dict(sigmas=SIGMAS[:3] + [-1.0] + SIGMAS[4:]), 'metainfo.sigmas[3] must be a positive number'),
])
def test_config_metainfo_says_a_mistake_in_the_config(metainfo, words):
    with pytest.raises(ConfigError) as e:
        config_metainfo(_pose_cfg(metainfo))
    assert words in str(e.value) and '\n' not in str(e.value)


def test_config_metainfo_leaves_what_only_the_data_file_completes_to_the_data():
    assert config_metainfo(_pose_cfg(dict(sigmas=SIGMAS))) is None   # 12 sigmas for the file's own names
    assert config_metainfo(_pose_cfg(dict(from_file='annotations/absent.json'))) is None   # the data is not here
    assert config_metainfo(_pose_cfg(None))['num_keypoints'] == 17


@pytest.mark.parametrize('meta, words', [
    (dict(keypoint_names=NAMES, norm_indices=[3, 3]), 'metainfo.norm_indices [3, 3] names one keypoint twice'),
    (dict(keypoint_names=NAMES, upper_body_ids=[1, 1]), 'metainfo.upper_body_ids repeats an index'),
    (dict(keypoint_names=NAMES, category_ids=[1, 2], classes=('a', 'b'), category_id=3),
     'metainfo.category_id 3 is not one of category_ids [1, 2]'),
])
def test_parser_refusals(meta, words):
    with pytest.raises(ConfigError) as e:
        parse_metainfo(meta, 'cfg.py')
    assert str(e.value).startswith('cfg.py: ') and words in str(e.value)


def test_head_flip_pairs_out_of_range_is_a_config_error_naming_the_field():
    with pytest.raises(ConfigError, match=r'model.head.flip_pairs \[\(0, 17\)\] name keypoints outside 0..16'):
        MODELS.build(dict(type='PoseHead', in_channels=4, num_keypoints=17, flip_pairs=[[0, 17]]))
    with pytest.raises(ConfigError, match='model.head.flip_pairs must be a list of'):
        MODELS.build(dict(type='PoseHead', in_channels=4, num_keypoints=17, flip_pairs=[[0, 1, 2]]))
