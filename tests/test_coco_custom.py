"""COCO files of the user's own (issue 21) through the one COCO reader (issue 22): a 12-keypoint category scored by
pycocotools with the dataset's sigmas (metric and OKS-NMS), a pose subset scored on its own images, a box file with
its own category ids and names, and one image-folder key word (``data_prefix=dict(img=...)``) in every COCO-style
dataset, the wrong one refused with a did-you-mean."""
import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

from hrvision.errors import ConfigError
from hrvision.registry import DATASETS, load_tasks
from hrvision.tasks.pose.dataset import CocoKeypointDataset
from hrvision.tasks.pose.metric import CocoKeypointMetric

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')

# ---- a 12-keypoint category of its own ----------------------------------------------------------------------------
NAMES = ['head', 'neck', 'left_shoulder', 'right_shoulder', 'left_hand', 'right_hand', 'left_hip', 'right_hip',
         'left_foot', 'right_foot', 'tail', 'tip']
K = len(NAMES)
SIGMAS = [0.05, 0.04, 0.08, 0.08, 0.06, 0.06, 0.1, 0.1, 0.09, 0.09, 0.03, 0.03]
CATEGORY = 7
PEOPLE = {1: 2, 2: 2, 3: 1}   # image id -> people: 5 people on 3 images


def _joints(img, p, k):
    rng = np.random.default_rng(100 * img + p)
    x0, y0 = 10.0 + 70.0 * p, 10.0
    kp = np.stack([rng.uniform(x0 + 2, x0 + 38, k), rng.uniform(y0 + 2, y0 + 78, k), np.full(k, 2.0)], 1)
    if (img, p) == (1, 0):   # two joints not labelled, one labelled but occluded
        kp[10:] = 0
        kp[3, 2] = 1
    return [x0, y0, 40.0, 80.0], kp


def _keypoint_file(path, people, category=None, k=K):
    images = [dict(id=i, file_name=f'{i:04d}.jpg', width=160, height=120) for i in people]
    anns = []
    for i, n in people.items():
        for p in range(n):
            box, kp = _joints(i, p, k)
            anns.append(dict(id=len(anns) + 1, image_id=i, category_id=CATEGORY if category else 1, bbox=box,
                             area=box[2] * box[3], iscrowd=0, num_keypoints=int((kp[:, 2] > 0).sum()),
                             keypoints=kp.ravel().tolist()))
    cats = [category or dict(id=1, name='person')]   # no keypoint names of its own: COCO's preset
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
    return str(path)


def _custom_file(path):
    return _keypoint_file(path, PEOPLE, dict(id=CATEGORY, name='robot', keypoints=NAMES,
                                             skeleton=[[1, 2], [2, 3], [2, 4], [3, 5], [4, 6], [2, 11], [11, 12]]))


def _score(i):
    """Distinct person scores (ties would leave the matching order to the sort)."""
    return 0.95 - 0.05 * i


def _predictions(ds, shift=None, extra=()):
    """Ground truth (or shifted ground truth) as the model's predictions, one data sample per dataset item."""
    out = []
    for i in range(len(ds)):
        it = ds.get_data_info(i)
        kp = np.asarray(it['keypoints'], np.float64) + (0 if shift is None else shift(i))
        out.append(dict(img_id=it['img_id'], img_path=it['img_path'], pred_keypoints=kp,
                        keypoint_scores=np.full(len(kp), _score(i)), area=it['area'], bbox_score=1.0))
    return out + list(extra)


def _evaluate(ds, preds, out_dir):
    """The runner's path: one Evaluator, ``dataset_meta`` from the dataset, ``evaluate(size)``."""
    ev = Evaluator([CocoKeypointMetric(out_dir=str(out_dir))])
    ev.dataset_meta = ds.metainfo
    ev.process(preds)
    return {k.split('/', 1)[1]: v for k, v in ev.evaluate(len(preds)).items()}


@pytest.fixture(scope='module')
def custom(tmp_path_factory):
    path = _custom_file(tmp_path_factory.mktemp('kp12') / 'robots.json')
    ds = CocoKeypointDataset(ann_file=path, test_mode=True, metainfo=dict(sigmas=SIGMAS))
    return path, ds


def test_twelve_keypoints_perfect_predictions_score_one(custom, tmp_path):
    path, ds = custom
    assert len(ds) == 5 > len(PEOPLE) and list(ds.metainfo['sigmas']) == SIGMAS
    # a near copy of one person with lower scores: OKS-NMS with the dataset's 12 sigmas removes it
    dup = dict(_predictions(ds)[0])
    dup.update(pred_keypoints=dup['pred_keypoints'] + 0.5, keypoint_scores=np.full(K, 0.5))
    stats = _evaluate(ds, _predictions(ds, extra=[dup]), tmp_path)
    assert stats['AP'] == 1.0 and stats['AR'] == 1.0
    res = json.loads((tmp_path / 'keypoints_results.json').read_text())
    assert len(res) == 5 and {r['category_id'] for r in res} == {CATEGORY} and len(res[0]['keypoints']) == 3 * K


def test_twelve_keypoints_shifted_predictions_score_what_pycocotools_gives_with_those_sigmas(custom, tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    path, ds = custom
    rng = np.random.default_rng(0)
    shifts = [rng.normal(0, 3.0, (K, 2)) for _ in range(len(ds))]
    preds = _predictions(ds, shift=lambda i: shifts[i])
    ap = _evaluate(ds, preds, tmp_path)['AP']

    def pycocotools_ap(sigmas):
        with contextlib.redirect_stdout(io.StringIO()):
            gt = COCO(path)
            dt = gt.loadRes([dict(image_id=int(p['img_id']), category_id=CATEGORY, score=_score(i),
                                  keypoints=np.concatenate([p['pred_keypoints'], np.ones((K, 1))], 1).ravel().tolist())
                             for i, p in enumerate(preds)])
            ev = COCOeval(gt, dt, 'keypoints')
            ev.params.kpt_oks_sigmas = np.array(sigmas)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return ev.stats[0]

    expected = pycocotools_ap(SIGMAS)
    assert 0.0 < ap < 1.0 and ap == pytest.approx(expected, abs=1e-12)
    assert abs(pycocotools_ap(np.array(SIGMAS) * 0.5) - expected) > 0.05   # the sigmas decide the score


def test_twelve_keypoints_without_sigmas_are_refused(custom, tmp_path):
    path, _ = custom
    ds = CocoKeypointDataset(ann_file=path, test_mode=True)   # the file's 12 names, no sigmas: never COCO's 17
    with pytest.raises(ConfigError, match='12 keypoint_names but no sigmas'):
        _evaluate(ds, _predictions(ds), tmp_path)


def test_pose_subset_is_scored_on_its_own_images(tmp_path):
    path = _keypoint_file(tmp_path / 'four.json', {1: 1, 2: 1, 3: 1, 4: 1}, k=17)   # COCO's preset
    ds = CocoKeypointDataset(ann_file=path, test_mode=True, indices=2)
    assert len(ds) == 2 and ds.metainfo['img_ids'] == [1, 2]
    stats = _evaluate(ds, _predictions(ds), tmp_path)
    assert stats['AP'] == 1.0 and stats['AR'] == 1.0   # was about 0.5: the other two images' people counted missed


# ---- one image-folder key word ------------------------------------------------------------------------------------
def test_cli_refuses_the_old_image_folder_key_with_a_did_you_mean(tmp_path):
    cfg = tmp_path / 'det.py'
    cfg.write_text(f"_base_ = [{str(REPO / 'configs/detection/hrnetv2p_tiny_fcos_synth.py')!r}]\n"
                   "train_dataloader = dict(dataset=dict(data_prefix=dict(_delete_=True, img_path='train2017/')))\n")
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'train', str(cfg), '--work-dir', str(tmp_path / 'w')],
                       capture_output=True, text=True, env=ENV, timeout=600)
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert lines[-1].startswith('hrvision: error: CocoDetectionDataset.data_prefix.img_path: unknown key; '
                                "did you mean 'img'?"), lines[-1]


@pytest.mark.parametrize('dataset, kwargs, words', [
    ('CocoKeypointDataset', dict(data_prefix=dict(img_path='val/')),
     "data_prefix.img_path: unknown key; did you mean 'img'?"),
    ('CocoMultiTaskDataset', dict(data_prefix=dict(img_dir='val/')),
     "data_prefix.img_dir: unknown key; did you mean 'img'?"),
    ('PoseTrackDataset', dict(data_prefix=dict(images='')), "data_prefix.images: unknown key; did you mean 'img'?"),
    ('CocoDetectionDataset', dict(filter_empty_gts=True), "unknown argument 'filter_empty_gts'; did you mean "
                                                         "'filter_empty_gt'?"),
    ('CocoMultiTaskDataset', dict(kpt_files='a.json'), "unknown argument 'kpt_files'; did you mean 'kpt_file'?"),
    ('CocoKeypointDataset', dict(bbox_files='a.json'), "unknown argument 'bbox_files'; did you mean 'bbox_file'?"),
])
def test_datasets_refuse_unknown_keys_before_reading_files(dataset, kwargs, words):
    load_tasks()   # registers every task's datasets
    with pytest.raises(ConfigError) as e:
        DATASETS.build(dict(type=dataset, ann_file='/nonexistent/ann.json', **kwargs))
    assert str(e.value).startswith(f'{dataset}') and words in str(e.value) and '\n' not in str(e.value)


# ---- a box file with its own categories ---------------------------------------------------------------------------
IDS = {1: 5, 3: 9, 4: 42, 7: 42}   # the synthetic set's ids -> this file's
CATEGORIES = [dict(id=42, name='wedge'), dict(id=5, name='disc'), dict(id=9, name='box')]   # file order, not sorted
NAME = {c['id']: c['name'] for c in CATEGORIES}


@pytest.fixture(scope='module')
def boxes(tmp_path_factory):
    """The synthetic shapes relabelled into a 3-category file (ids 5, 9, 42), and a detector trained on it for 2
    iterations by the Runner."""
    from hrvision.engine.runner import build_runner, prepare_config
    from hrvision.tasks.detection import synth as det_synth
    from tests.test_infer import TINY
    tmp = tmp_path_factory.mktemp('det3')
    root = str(tmp / 'data') + '/'
    det_synth.write_synthetic(root, n_train=4, n_val=3, seed=5, size=(64, 80))
    for split in ('train', 'val'):
        path = Path(root) / 'annotations' / f'instances_{split}2017.json'
        data = json.loads(path.read_text())
        for a in data['annotations']:
            a['category_id'] = IDS[a['category_id']]
        data['categories'] = CATEGORIES
        path.write_text(json.dumps(data))
    pipe = [dict(type='LoadDetectionImage'), dict(type='DetectionResize', scale=(64, 64)), dict(type='PackDetectionInputs')]
    opts = {'train_dataloader.dataset.data_root': root, 'train_dataloader.batch_size': 2,
            'train_dataloader.dataset.pipeline': pipe, 'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
            'default_hooks.checkpoint.interval': 2, 'val_dataloader': None, 'val_cfg': None, 'val_evaluator': None,
            'model.backbone.extra': TINY, 'model.detector.score_thresh': 0.0, 'model.detector.num_classes': 3}
    torch.manual_seed(0)
    config = str(REPO / 'configs/detection/hrnetv2p_tiny_fcos_synth.py')
    build_runner(prepare_config(config, work_dir=str(tmp / 'work'), cfg_options=opts)).train()
    return dict(root=Path(root), ckpt=str(tmp / 'work' / 'iter_2.pth'), config=config, opts=opts)


def test_box_file_with_its_own_ids_perfect_predictions_score_one(boxes, tmp_path):
    from hrvision.tasks.detection.dataset import CocoDetectionDataset
    from hrvision.tasks.detection.metric import CocoDetectionMetric
    root = boxes['root']
    ds = CocoDetectionDataset(ann_file=str(root / 'annotations/instances_val2017.json'), test_mode=True,
                              data_prefix=dict(img=str(root / 'val2017')), pipeline=[])
    assert ds.metainfo['cat_ids'] == [5, 9, 42] and ds.metainfo['classes'] == ('disc', 'box', 'wedge')
    preds = []
    for i in range(len(ds)):
        it = ds.get_data_info(i)
        n = len(it['gt_labels'])
        preds.append(dict(img_id=it['img_id'], img_path=it['img_path'], pred_instances=dict(
            bboxes=it['gt_bboxes'], labels=it['gt_labels'], scores=np.linspace(1.0, 0.5, n))))
    assert sum(len(p['pred_instances']['labels']) for p in preds) > len(preds)   # more boxes than images
    ev = Evaluator([CocoDetectionMetric(out_dir=str(tmp_path), vis_max=1)])
    ev.dataset_meta = ds.metainfo
    ev.process(preds)
    stats = ev.evaluate(len(preds))
    assert stats['coco/AP'] == 1.0
    gt = json.loads((root / 'annotations/instances_val2017.json').read_text())
    res = json.loads((tmp_path / 'bbox_results.json').read_text())
    assert sorted(r['category_id'] for r in res) == sorted(a['category_id'] for a in gt['annotations'])
    assert len(list((tmp_path / 'vis').glob('*.png'))) == 1


def test_box_file_with_its_own_ids_shifted_predictions_score_what_pycocotools_gives(boxes, tmp_path):
    """Boxes moved by a few pixels and one label swapped, through the runner's ``evaluate(size)``: the AP is
    pycocotools' own on the file and the same detections written with the file's ids by the test."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    from hrvision.tasks.detection.dataset import CocoDetectionDataset
    from hrvision.tasks.detection.metric import CocoDetectionMetric
    root = boxes['root']
    ann = str(root / 'annotations/instances_val2017.json')
    ds = CocoDetectionDataset(ann_file=ann, test_mode=True, data_prefix=dict(img=str(root / 'val2017')), pipeline=[])
    ids = ds.metainfo['cat_ids']
    rng = np.random.default_rng(3)
    preds, mine = [], []
    for i in range(len(ds)):
        it = ds.get_data_info(i)
        b = np.asarray(it['gt_bboxes'], np.float64) + rng.uniform(-3, 3, (len(it['gt_bboxes']), 4))
        labels = np.asarray(it['gt_labels']).copy()
        if i == 0 and len(labels):
            labels[0] = (labels[0] + 1) % len(ids)
        scores = np.linspace(0.9, 0.3, len(labels))
        preds.append(dict(img_id=it['img_id'], img_path=it['img_path'],
                          pred_instances=dict(bboxes=b, labels=labels, scores=scores)))
        mine += [dict(image_id=it['img_id'], category_id=ids[int(c)], score=float(sc),
                      bbox=[float(x1), float(y1), float(x2 - x1), float(y2 - y1)])
                 for (x1, y1, x2, y2), c, sc in zip(b, labels, scores)]
    ev = Evaluator([CocoDetectionMetric(out_dir=str(tmp_path))])
    ev.dataset_meta = ds.metainfo
    ev.process(preds)
    stats = ev.evaluate(len(preds))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann)
        e = COCOeval(gt, gt.loadRes(mine), 'bbox')
        e.evaluate()
        e.accumulate()
        e.summarize()
    assert 0.0 < e.stats[0] < 1.0
    assert stats['coco/AP'] == pytest.approx(float(e.stats[0]), abs=1e-12)


def test_infer_writes_the_files_ids_and_names(boxes, tmp_path):
    from mmengine.config import Config
    assert torch.load(boxes['ckpt'], weights_only=True)['meta']['dataset_meta']['cat_ids'] == [5, 9, 42]
    cfg = Config.fromfile(boxes['config'])
    cfg.merge_from_dict({k: v for k, v in boxes['opts'].items() if k.startswith('model.')})
    cfg.merge_from_dict({'test_dataloader.dataset.data_root': str(tmp_path / 'absent') + '/',
                         'val_dataloader.dataset.data_root': str(tmp_path / 'absent') + '/'})
    cfg.dump(str(tmp_path / 'cfg.py'))   # no data: only the checkpoint knows the ids and names
    imgs = sorted((boxes['root'] / 'val2017').iterdir())
    out = tmp_path / 'out'
    from hrvision.cli import main   # in-process: the subprocess path of the CLI is tested above and in test_infer*
    assert main(['infer', str(tmp_path / 'cfg.py'), boxes['ckpt'], *map(str, imgs), '--out', str(out)]) == 0
    dets = json.loads((out / 'detections.json').read_text())
    assert dets and {d['category_id'] for d in dets} <= set(NAME)
    assert all(d['category_id'] == [5, 9, 42][d['label']] and d['category_name'] == NAME[d['category_id']]
               for d in dets)
