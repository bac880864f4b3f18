"""Issue 22, "silent wrong results": settings that disagreed, keys that were missing, ids that were guessed, a
split that had nothing to score -- each gave a wrong result with exit 0. Each is now right or refused in one line.

Metrics go through the runner's path (``process`` per dataset item, ``evaluate(size)``) with more people than
images; CLI behaviour through the CLI in a subprocess."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

import hrvision.tasks.multitask  # noqa: F401  (registration)
from hrvision.errors import ConfigError, DataError, InputError
from hrvision.structures import DataSample, InstanceData
from hrvision.tasks.detection.metric import CocoDetectionMetric
from hrvision.tasks.multitask.metric import MultiTaskKeypointMetric
from hrvision.tasks.pose.dataset import COCO_SIGMAS, CocoKeypointDataset
from hrvision.tasks.pose.metric import CocoKeypointMetric

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
K = len(COCO_SIGMAS)


def _one_line_refusal(r, *texts):
    """Exit 2, no traceback, the last stderr line is hrvision's one-line error holding ``texts``."""
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert r.returncode == 2 and 'Traceback' not in r.stderr and lines, r.stderr[-3000:]
    assert lines[-1].startswith('hrvision: error:') and all(t in lines[-1] for t in texts), lines[-1]


# ============================================================================ 1. the metric's file is the dataset's
PEOPLE = {1: 2, 2: 1, 3: 1, 4: 1}   # image id -> people; the dataset holds images 1 and 2 (3 people)


def _person(img, p):
    rng = np.random.default_rng(10 * img + p)
    x0, y0 = 10.0 + 60.0 * p, 10.0
    joints = np.stack([rng.uniform(x0 + 2, x0 + 38, K), rng.uniform(y0 + 2, y0 + 78, K)], 1)
    return [x0, y0, 40.0, 80.0], joints


def _coco(path, img_ids):
    images = [dict(id=i, file_name=f'{i:06d}.jpg', width=200, height=120) for i in img_ids]
    anns = []
    for i in img_ids:
        for p in range(PEOPLE[i]):
            box, kp = _person(i, p)
            anns.append(dict(id=len(anns) + 1, image_id=i, category_id=1, bbox=box, area=box[2] * box[3], iscrowd=0,
                             num_keypoints=K, keypoints=np.concatenate([kp, np.full((K, 1), 2.0)], 1).ravel().tolist()))
    cats = [dict(id=1, name='person')]   # no keypoint names of its own: COCO's preset (names, sigmas) applies
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
    return str(path)


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('gt')
    return _coco(tmp / 'full.json', [1, 2, 3, 4]), _coco(tmp / 'part.json', [1, 2])


def _pose_eval(metric, dataset, extra=()):
    """Ground truth as predictions, one dataset item (person crop) at a time, as the test loop feeds them."""
    metric.dataset_meta = dataset.metainfo
    items = [dataset.get_data_info(i) for i in range(len(dataset))] + list(extra)
    for it in items:
        metric.process({}, [dict(img_id=it['img_id'], pred_keypoints=it['keypoints'], keypoint_scores=np.ones(K),
                                 area=it['area'])])
    return metric.evaluate(len(items))


def test_pose_metric_scores_against_the_datasets_file(files, tmp_path):
    full, part = files
    dataset = CocoKeypointDataset(ann_file=part, test_mode=True)
    assert len(dataset) == 3 > len({dataset.get_data_info(i)['img_id'] for i in range(3)})
    stats = _pose_eval(CocoKeypointMetric(out_dir=str(tmp_path)), dataset)   # no ann_file: the dataset's
    assert stats['coco/AP'] == 1.0 and stats['coco/AR'] == 1.0


def test_pose_metric_refuses_another_file_than_the_datasets(files, tmp_path):
    full, part = files
    dataset = CocoKeypointDataset(ann_file=part, test_mode=True)
    with pytest.raises(ConfigError, match='full.json is not the evaluated dataset.s ann_file .*part.json'):
        _pose_eval(CocoKeypointMetric(full, out_dir=str(tmp_path)), dataset)   # was AP 0.26, exit 0
    assert _pose_eval(CocoKeypointMetric(part, out_dir=str(tmp_path)), dataset)['coco/AP'] == 1.0   # same file


def test_pose_metric_refuses_images_its_file_does_not_hold(files, tmp_path):
    full, part = files
    other = CocoKeypointDataset(ann_file=full, test_mode=True)
    stray = [other.get_data_info(i) for i in range(len(other)) if other.get_data_info(i)['img_id'] == 3]
    metric = CocoKeypointMetric(part, out_dir=str(tmp_path))
    with pytest.raises(DataError, match=r'part.json: 1 evaluated image id\(s\) are not in this annotation file \(\[3\]'):
        _pose_eval(metric, CocoKeypointDataset(ann_file=part, test_mode=True), extra=stray)


def _whole_image_people(img_ids):
    samples = []
    for i in img_ids:
        people = [_person(i, p) for p in range(PEOPLE[i])]
        samples.append(dict(img_id=i, img_path=f'{i:06d}.jpg', tasks=['pose'], pred_pose=InstanceData(
            keypoints=torch.tensor(np.stack([kp for _, kp in people]), dtype=torch.float64),
            keypoint_scores=torch.ones(len(people), K), scores=torch.ones(len(people)),
            areas=torch.tensor([b[2] * b[3] for b, _ in people]))))
    return samples


def test_multitask_keypoint_metric_follows_the_datasets_kpt_file(files, tmp_path):
    full, part = files
    metric = MultiTaskKeypointMetric(out_dir=str(tmp_path))
    metric.dataset_meta = {'kpt_file': part, 'ann_file': 'instances.json'}
    samples = _whole_image_people([1, 2])
    metric.process({}, samples)
    assert metric.evaluate(len(samples))['coco/AP'] == 1.0
    metric = MultiTaskKeypointMetric(full, out_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="not the evaluated dataset's kpt_file"):
        metric.dataset_meta = {'kpt_file': part}   # refused when the loop is built, on every process


def test_detection_metric_refuses_another_file_than_the_datasets(files, tmp_path):
    full, part = files
    metric = CocoDetectionMetric(full, out_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="full.json is not the evaluated dataset's ann_file"):
        metric.dataset_meta = {'ann_file': part, 'cat_ids': [1], 'classes': ('person',)}   # when the loop is built
    metric = CocoDetectionMetric(part, out_dir=str(tmp_path))
    metric.dataset_meta = {'ann_file': part, 'cat_ids': [1], 'classes': ('person',)}
    s = DataSample(metainfo=dict(img_id=1))
    s.pred_instances = InstanceData(bboxes=torch.tensor([[10., 10., 50., 90.]]), labels=torch.tensor([0]),
                                    scores=torch.ones(1))
    metric.process({}, [s])
    assert 'coco/AP' in metric.evaluate(1)   # the same file is accepted: scored, not refused


# ============================================================================ 2. a multi-task sample without its tasks
def _without(s: DataSample, keys, **meta) -> DataSample:
    """``s`` without the metainfo ``keys`` (what a custom pipeline that forgets them packs), plus ``meta``."""
    out = DataSample(metainfo=dict({k: v for k, v in s.metainfo.items() if k not in keys}, **meta))
    for key in ('gt_sem_seg', 'gt_instances', 'gt_pose'):
        setattr(out, key, getattr(s, key))
    return out


def test_multitask_sample_without_its_task_list_is_refused():
    from tests.test_multitask_model import sample, tiny_model
    m = tiny_model()
    x = torch.randn(2, 3, 64, 64)
    bad = _without(sample(['seg', 'pose', 'det'], seed=1), ['tasks'], img_path='val/000123.jpg', img_id=123)
    with pytest.raises(DataError, match=r'val/000123.jpg \(image id 123\) has no metainfo "tasks"'):
        m(x, [sample(['seg', 'pose', 'det']), bad], mode='loss')   # was: labelled for no head, trained nothing
    losses = m(x, [sample(['seg', 'pose', 'det']), sample(['seg'], seed=1)], mode='loss')
    assert losses['seg.loss_ce'] > 0 and losses['pose.loss_kpt'] > 0


def test_multitask_evaluator_refuses_a_sample_without_its_task_list(tmp_path):
    from hrvision.tasks.multitask.metric import MultiTaskEvaluator
    ev = MultiTaskEvaluator([dict(type='MultiTaskOutputs', task='seg', out_dir=str(tmp_path))])
    with pytest.raises(DataError, match='image id 7 has no metainfo "tasks"'):
        ev.process([dict(img_id=7, pred_sem_seg=torch.zeros(4, 4, dtype=torch.long))])


# ============================================================================ 3. one codec per imported head
def _face_model(seed):
    from hrvision.tasks.face.model import FaceModel
    from tests.test_multitask_model import TINY_BACKBONE
    from tests.test_multitask_weights import randomize
    model = randomize(FaceModel(backbone=TINY_BACKBONE, head=dict(type='FaceHead', num_landmarks=5),
                                        codec=dict(type='FaceHeatmapCodec', input_size=(64, 64),
                                                   heatmap_size=(16, 16))), seed)
    last = [m for m in model.head.modules() if isinstance(m, torch.nn.Conv2d) and m.bias is not None][-1]
    with torch.no_grad():
        last.bias += 1.0   # positive maxima: real peaks, not the codec's no-maximum fallback
    return model


def _face_predict(model, crop):
    """The single-task face model on ``crop``, its box = the whole crop (center = middle, scale = side / 200)."""
    s = DataSample(metainfo=dict(center=np.array([32.0, 32.0]), scale=64 / 200))
    with torch.no_grad():
        return model.predict(crop, [s])[0]


def test_face_weights_give_the_same_landmarks_in_the_multitask_model_and_back():
    from hrvision.tasks.multitask import export_task_model, load_task_weights
    from tests.test_multitask_model import tiny_model
    crop = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    single = _face_model(4)
    ref = _face_predict(single, crop)
    assert (ref.keypoint_scores > 0).all()
    mt = tiny_model(heads=dict(face=dict(type='FaceHead', num_landmarks=5))).eval()
    load_task_weights(mt, 'face', single.state_dict())
    s = DataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), scale_factor=(1.0, 1.0), tasks=['face']))
    with torch.no_grad():
        got = mt.predict(crop, [s])[0]
    assert torch.equal(got.pred_keypoints, ref.pred_keypoints), (got.pred_keypoints, ref.pred_keypoints)
    torch.testing.assert_close(got.keypoint_scores, ref.keypoint_scores)
    back = _face_model(99)
    export_task_model(mt, 'face', back)
    assert torch.equal(_face_predict(back, crop).pred_keypoints, ref.pred_keypoints)


def test_multitask_landmark_targets_are_the_face_codecs():
    """Trained in the multi-task model, the face head learns the face codec's targets (box = the whole input)."""
    from hrvision.codecs import FaceHeatmapCodec
    from hrvision.tasks.multitask.adapters import FaceAdapter, whole_image_targets
    pts = torch.tensor([[[20.3, 20.9], [41.0, 19.5], [30.0, 30.0], [22.7, 42.2], [38.1, 42.6]]])
    s = DataSample(metainfo=dict(tasks=['face']))
    s.gt_face = InstanceData(keypoints=pts, keypoints_visible=torch.ones(1, 5))
    codec = FaceAdapter('face', dict(type='FaceHead', num_landmarks=5)).codec((16, 16), (64, 64))
    target = whole_image_targets([s], 'gt_face', codec, 5)[0].numpy()
    ref = FaceHeatmapCodec(input_size=(64, 64), heatmap_size=(16, 16)).encode(pts[0].numpy(), center=(32.0, 32.0),
                                                                            scale=64 / 200)['heatmaps']
    np.testing.assert_array_equal(target, ref)


# ============================================================================ 4. missing metainfo keys
def test_missing_scale_factor_or_shapes_are_errors_naming_them():
    from tests.test_multitask_model import sample, tiny_model
    from tests.test_multitask_weights import seg_model
    m = tiny_model().eval()
    x = torch.randn(1, 3, 64, 64)
    bad = _without(sample(['seg', 'pose', 'det']), ['scale_factor'], img_path='a.png')   # a pipeline that forgot it
    with torch.no_grad(), pytest.raises(DataError, match='a.png has no metainfo scale_factor.*DetectionResize'):
        m.predict(x, [bad])   # was: boxes and joints left in resized pixels
    seg = seg_model(0)
    with torch.no_grad(), pytest.raises(DataError, match='has no metainfo ori_shape.*loading transform'):
        seg.predict(x, [DataSample(metainfo=dict(img_shape=(64, 64), img_path='b.png'))])   # was: padded size
    with torch.no_grad(), pytest.raises(DataError, match='has no metainfo img_shape'):
        seg.predict(x, [DataSample(metainfo=dict(ori_shape=(64, 64), img_path='c.png'))])


# ============================================================================ 5. detection category ids, never guessed
@pytest.fixture(scope='module')
def det_setup(tmp_path_factory):
    """Synthetic detection data, a tiny detector's weights without any meta, and a config whose data folder does not
    exist: nothing knows the category ids."""
    from hrvision.registry import MODELS
    from hrvision.tasks.detection import synth as det_synth
    from tests.test_infer import TINY
    tmp = tmp_path_factory.mktemp('det_ids')
    det_synth.write_synthetic(str(tmp / 'data'), n_train=1, n_val=2, seed=5, size=(64, 80))
    cfg = Config.fromfile(str(ROOT / 'configs/detection/hrnetv2p_tiny_fcos_synth.py'))
    cfg.merge_from_dict({'model.backbone.extra': TINY, 'model.detector.score_thresh': 0.0,
                         **{f'{k}.dataset.data_root': str(tmp / 'absent') + '/'
                            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')}})
    cfg.dump(str(tmp / 'cfg.py'))
    torch.manual_seed(0)
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, tmp / 'bare.pth')
    (tmp / 'ids.json').write_text('[1, 3, 4, 7]')
    img = str(sorted((tmp / 'data' / 'val2017').iterdir())[0])
    return dict(tmp=tmp, cfg=str(tmp / 'cfg.py'), ckpt=str(tmp / 'bare.pth'), img=img,
                coco=str(tmp / 'data' / 'annotations' / 'instances_val2017.json'))


def _infer(d, out, *extra):
    return subprocess.run([sys.executable, '-m', 'hrvision', 'infer', d['cfg'], d['ckpt'], d['img'], '--out', str(out),
                           *extra], capture_output=True, text=True, env=ENV, timeout=600)


def test_detections_json_without_known_ids_is_refused_and_given_ids_are_written(det_setup, tmp_path):
    r = _infer(det_setup, tmp_path / 'no')
    _one_line_refusal(r, 'detections.json needs the dataset category id of each of the 4 detector labels',
                      "the checkpoint has no dataset_meta['cat_ids']", '--category-ids FILE')
    assert not (tmp_path / 'no' / 'detections.json').exists()   # was: label + 1 with a warning line
    from hrvision.cli import main   # the same command in-process (a second interpreter start costs ~10 s of CPU)
    assert main(['infer', det_setup['cfg'], det_setup['ckpt'], det_setup['img'], '--out', str(tmp_path / 'yes'),
                 '--category-ids', str(det_setup['tmp'] / 'ids.json')]) == 0
    dets = json.loads((tmp_path / 'yes' / 'detections.json').read_text())
    assert dets and all(d['category_id'] == [1, 3, 4, 7][d['label']] for d in dets)


def test_category_ids_from_a_coco_file_and_wrong_counts(det_setup):
    from hrvision.inference import Inferencer
    inf = Inferencer(det_setup['cfg'], det_setup['ckpt'], device='cpu', category_ids=det_setup['coco'])
    assert inf.task.categories.ids == [1, 3, 4, 7] and inf.task.categories.names[0] == 'circle'
    r = inf(det_setup['img'])[0]
    assert (r['category_ids'] == np.array([1, 3, 4, 7])[r['labels']]).all()
    with pytest.raises(InputError, match=r'category_ids \(--category-ids\): 3 category ids for a 4-class model'):
        Inferencer(det_setup['cfg'], det_setup['ckpt'], device='cpu', category_ids=[1, 2, 3])
    with pytest.raises(InputError, match='duplicate category ids'):
        Inferencer(det_setup['cfg'], det_setup['ckpt'], device='cpu', category_ids=[1, 2, 2, 3])


def test_eighty_classes_are_not_given_cocos_ids(det_setup, tmp_path):
    """An 80-class model without dataset_meta: no COCO ids made up; labels and pictures still work."""
    from hrvision.inference import Inferencer
    from hrvision.inference.writers import ResultWriter
    inf = Inferencer(det_setup['cfg'], None, device='cpu', cfg_options={'model.detector.num_classes': 80})
    r = inf(det_setup['img'])[0]
    assert 'category_ids' not in r and len(r['labels'])
    assert inf.task.draw(np.zeros((64, 80, 3), np.uint8), r).shape == (64, 80, 3)   # captions: label indices
    with pytest.raises(InputError, match='of each of the 80 detector labels'):
        ResultWriter(str(tmp_path), inf.task)
    inf = Inferencer(det_setup['cfg'], None, device='cpu', cfg_options={'model.detector.num_classes': 80,
                                                                       'category_ids': list(range(101, 181))})
    assert inf(det_setup['img'])[0]['category_ids'].min() >= 101   # the config's category_ids


def test_multitask_results_json_needs_the_detector_heads_ids(tmp_path):
    from hrvision.inference import Inferencer
    from hrvision.inference.writers import ResultWriter
    from tests.test_infer import _overrides
    base, opts = _overrides('multitask', tmp_path / 'absent')   # the config's annotation files do not exist
    inf = Inferencer(str(ROOT / base), None, device='cpu', cfg_options=opts)
    with pytest.raises(InputError, match=r"results.json \(detector head 'det'\) needs the dataset category id"):
        ResultWriter(str(tmp_path / 'o'), inf.task)
    n = inf.model.heads['det'].num_classes
    inf = Inferencer(str(ROOT / base), None, device='cpu', cfg_options=opts, category_ids=list(range(10, 10 + n)))
    ResultWriter(str(tmp_path / 'o'), inf.task)


# ============================================================================ 6. hrvision test on a split without labels
def test_test_on_a_split_without_labels_is_refused_unless_format_only(tmp_path):
    from hrvision.registry import MODELS
    from hrvision.tasks.segmentation import synth as seg_synth
    cfg = str(ROOT / 'tests' / 'configs' / 'seg_tiny.py')
    seg_synth.write_synthetic(str(tmp_path / 'data'), n_train=1, n_val=2, size=(64, 128), seed=7)
    shutil.copytree(tmp_path / 'data' / 'leftImg8bit' / 'val', tmp_path / 'data' / 'leftImg8bit' / 'test')
    torch.manual_seed(0)
    torch.save({'state_dict': MODELS.build(Config.fromfile(cfg).model).state_dict()}, tmp_path / 'w.pth')
    opts = [f'test_dataloader.dataset.data_root={tmp_path / "data"}', 'test_dataloader.dataset.split=test']

    def run(*extra):
        return subprocess.run([sys.executable, '-m', 'hrvision', 'test', cfg, str(tmp_path / 'w.pth'), '--work-dir',
                               str(tmp_path / 'work'), *extra, '--cfg-options', *opts], capture_output=True,
                              text=True, env=ENV, timeout=600)
    _one_line_refusal(run(), 'no metric was computed: the test split has no labels',
                      'test_evaluator.format_only=True')   # was: prints {} and exits 0
    from hrvision.cli import main   # the same command in-process (a second interpreter start costs ~10 s of CPU)
    assert main(['test', cfg, str(tmp_path / 'w.pth'), '--work-dir', str(tmp_path / 'work'), '--out',
                 str(tmp_path / 'out'), '--cfg-options', *opts, 'test_evaluator.format_only=True']) == 0
    assert len(list((tmp_path / 'out').rglob('*_labelIds.png'))) == 2
