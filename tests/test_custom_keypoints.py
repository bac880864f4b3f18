"""A 12-keypoint model end to end on the dataset metadata (issue 21), and one keypoint flip convention.

The data is a COCO file with a category of its own (``synth-coco-pose --keypoints custom12``: scrambled order,
asymmetric skeleton, category id 3); the config restates nothing the file carries. It trains through the runner,
flip-tests with the file's flip indices (checked against an independent numpy flip test), evaluates (AP), is
exported and ``hrvision infer`` s with the checkpoint's metadata. Refusals: a head that contradicts the metadata,
a dataset ``num_keypoints`` or a transform ``flip_pairs`` that contradicts the file.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from hrvision.errors import ConfigError
from tests.conftest import REPO

ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
TINY = dict(STAGE1=dict(NUM_MODULES=1, BLOCK='BOTTLENECK', NUM_BLOCKS=[1], NUM_CHANNELS=[8]),
            STAGE2=dict(NUM_MODULES=1, BLOCK='BASIC', NUM_BLOCKS=[1, 1], NUM_CHANNELS=[4, 8]),
            STAGE3=dict(NUM_MODULES=1, BLOCK='BASIC', NUM_BLOCKS=[1, 1, 1], NUM_CHANNELS=[4, 8, 16]),
            STAGE4=dict(NUM_MODULES=1, BLOCK='BASIC', NUM_BLOCKS=[1, 1, 1, 1], NUM_CHANNELS=[4, 8, 16, 32]))
# the file's names, written here independently of the code under test
NAMES = ('head', 'right_shoulder', 'left_wrist', 'neck', 'left_shoulder', 'right_elbow', 'left_hip', 'right_wrist',
         'left_elbow', 'right_knee', 'right_hip', 'left_knee')


def _mirror(name):
    return name.replace('left_', 'RIGHT_').replace('right_', 'left_').replace('RIGHT_', 'right_')


PERM = [NAMES.index(_mirror(n)) for n in NAMES]   # flipped[k] = original[PERM[k]]


def _cli(*args, timeout=240):
    return subprocess.run([sys.executable, '-m', 'hrvision', *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=str(REPO), timeout=timeout)


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    """Synthetic custom data (CLI), a tiny config over configs/pose/demo_custom_12kp.py, 3 training iterations
    with validation through the runner."""
    from hrvision.engine.runner import train
    root = tmp_path_factory.mktemp('custom12')
    data = root / 'data'
    r = _cli('data', 'synth-coco-pose', data, '--keypoints', 'custom12', '--n-train', 4, '--n-val', 2, '--seed', 2)
    assert r.returncode == 0, r.stderr
    cfg = root / 'tiny_12kp.py'
    cfg.write_text(
        f"_base_ = [{str(REPO / 'configs' / 'pose' / 'demo_custom_12kp.py')!r}]\n"
        f"model = dict(backbone=dict(_delete_=True, type='HRNet', extra={TINY!r}, multi_scale_output=False, "
        "out_indices=(0,), preset='pose'))\n"
        + ''.join(f"{k} = dict(batch_size=2, dataset=dict(data_root={str(data) + '/'!r}))\n"
                  for k in ('train_dataloader', 'val_dataloader', 'test_dataloader'))
        + "val_evaluator = dict(num_vis=1)\ntest_evaluator = val_evaluator\n"
        "train_cfg = dict(max_iters=3, val_interval=3)\nparam_scheduler = []\n"
        "default_hooks = dict(checkpoint=dict(interval=3), logger=dict(interval=1))\n")
    runner = train(str(cfg), work_dir=str(root / 'work'))
    return dict(root=root, data=data, cfg=str(cfg), runner=runner, work=root / 'work',
                ckpt=str(root / 'work' / 'iter_3.pth'))


def test_metadata_from_the_file_reaches_dataset_checkpoint_and_metric(run):
    ds = run['runner'].train_dataloader.dataset
    meta = ds.metainfo
    assert tuple(meta['keypoint_names']) == NAMES and meta['flip_indices'] == PERM and ds.num_keypoints == 12
    assert meta['skeleton'][0] == [0, 3] and meta['category_ids'] == [3] and len(meta['sigmas']) == 12
    assert ds.get_data_info(0)['flip_indices'] == PERM           # each sample carries the dataset's flip
    ck = torch.load(run['ckpt'], map_location='cpu', weights_only=False)['meta']['dataset_meta']
    assert tuple(ck['keypoint_names']) == NAMES and ck['flip_indices'] == PERM
    assert ck['sigmas'] == [.03, .07, .06, .05, .07, .07, .10, .06, .07, .09, .10, .09]
    res = json.loads((run['work'] / 'keypoints_results.json').read_text())   # the validation through the runner
    assert res and all(len(r['keypoints']) == 36 and r['category_id'] == 3 for r in res)
    assert os.listdir(run['work'] / 'vis')


def test_flip_test_equals_the_official_flip_on_mirrored_inputs(run):
    """Heatmaps of the crop and of the mirrored crop; the mirrored ones reversed in W, each keypoint taken from its
    mirror (the file's left_/right_ names), shifted one pixel right (SHIFT_HEATMAP), averaged: in numpy here."""
    model = run['runner'].model.eval()
    batch = next(iter(run['runner'].test_dataloader))
    data = model.data_preprocessor(batch, False)
    inputs, samples = data['inputs'], data['data_samples']
    assert all(s.metainfo['flip_indices'] == PERM for s in samples)
    with torch.no_grad():
        h = model.heatmaps(inputs).numpy()
        hf = model.heatmaps(inputs.flip(3)).numpy()
        got = model.predict_heatmaps(inputs, flip_test=True, flip_indices=model.flip_indices(samples)).numpy()
        preds = model.predict(inputs, samples)
    back = hf[:, PERM, :, ::-1]
    back = np.concatenate([back[..., :1], back[..., :-1]], -1)
    want = (h + back) / 2
    np.testing.assert_allclose(got, want, atol=1e-6)
    wrong = (h + np.concatenate([hf[..., ::-1][..., :1], hf[..., ::-1][..., :-1]], -1)) / 2   # pairs not swapped
    assert np.abs(got - wrong).max() > 1e-4
    ref = model.bridge.predict(torch.from_numpy(want), samples)   # what predict decodes: the same heatmaps
    for a, b in zip(preds, ref):
        torch.testing.assert_close(a.pred_keypoints, b.pred_keypoints)


def test_export_and_infer_use_the_checkpoint_metadata(run):
    """Export to ONNX, then ``hrvision infer`` on it with the checkpoint: 12 keypoints with the file's category id,
    the flip test (on by default) and the picture from the checkpoint's metadata."""
    out = run['root'] / 'model.onnx'
    r = _cli('export', run['cfg'], run['ckpt'], '--shape', 96, 72, '--format', 'onnx', '--out', out)
    assert r.returncode == 0, r.stderr
    img = sorted((run['data'] / 'val').iterdir())[0]
    r = _cli('infer', run['cfg'], run['ckpt'], img, '--out', run['root'] / 'infer', '--show-dir', run['root'] / 'pics',
             '--backend', 'onnxruntime', '--onnx', out, '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    res = json.loads((run['root'] / 'infer' / 'keypoints.json').read_text())
    assert res and len(res[0]['keypoints']) == 36 and res[0]['category_id'] == 3
    assert os.listdir(run['root'] / 'pics')


def test_a_head_that_contradicts_the_metadata_is_refused_before_training(run):
    r = _cli('train', run['cfg'], '--work-dir', run['root'] / 'bad', '--cfg-options', 'model.head.num_keypoints=17')
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip().splitlines()
    assert 'model.head.num_keypoints=17 but the dataset (train_dataloader) has 12 keypoint_names' in err[-1]
    assert 'Traceback' not in r.stderr and not (run['root'] / 'bad' / 'iter_1.pth').exists()


def test_dataset_and_transform_contradictions_are_refused(run):
    from hrvision.tasks.pose.dataset import CocoKeypointDataset
    from hrvision.tasks.pose.transforms import PoseRandomFlip
    ann = str(run['data'] / 'annotations' / 'person_keypoints_train.json')
    with pytest.raises(ConfigError, match=r'num_keypoints=17 contradicts the dataset metadata \(12 keypoint_names'):
        CocoKeypointDataset(ann_file=ann, num_keypoints=17)
    with pytest.raises(ConfigError, match='metainfo.sigmas has 2 values but keypoint_names has 12'):
        CocoKeypointDataset(ann_file=ann, metainfo=dict(sigmas=[.1, .1]))
    with pytest.raises(ConfigError, match="contradicts the keypoints of .*person_keypoints_train.json"):
        CocoKeypointDataset(ann_file=ann, metainfo=dict(keypoint_names=[f'k{i}' for i in range(12)]))
    ds = CocoKeypointDataset(ann_file=ann, num_keypoints=12)
    info = ds.get_data_info(0)
    info['img'] = np.zeros((160, 192, 3), np.uint8)
    with pytest.raises(ConfigError, match='PoseRandomFlip flip_pairs=.* disagrees with the dataset'):
        PoseRandomFlip(prob=1.0, flip_pairs=[(1, 2), (3, 4)])(dict(info))


def test_pose_and_multitask_flips_agree_in_pixel_indices():
    """One keypoint flip convention: x' = W - 1 - x (pose and multi-task), left/right from flip_indices."""
    from hrvision.tasks.multitask.transforms import MultiTaskRandomFlip
    from hrvision.tasks.pose.transforms import PoseRandomFlip
    rng = np.random.default_rng(0)
    w, h = 40, 30
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    kp = np.c_[rng.uniform(0, w - 1, 12), rng.uniform(0, h - 1, 12)]
    vis = np.ones(12)
    vis[5] = 0
    pose = PoseRandomFlip(prob=1.0)(dict(img=img.copy(), keypoints=kp.copy(), keypoints_visible=vis.copy(),
                                         center=np.array([20., 15.], np.float32), flip_indices=PERM))
    mt = MultiTaskRandomFlip(prob=1.0)(dict(
        img=img.copy(), gt_sem_seg=np.zeros((h, w), np.uint8), gt_bboxes=np.zeros((0, 4), np.float32),
        gt_person_bboxes=np.zeros((1, 4), np.float32), flip_indices=PERM,
        gt_keypoints=np.c_[kp, np.where(vis > 0, 2.0, 0.0)][None].astype(np.float32)))
    np.testing.assert_array_equal(pose['img'], mt['img'])
    want = np.c_[w - 1 - kp[PERM, 0], kp[PERM, 1]] * vis[PERM, None]   # independent: official fliplr_joints
    np.testing.assert_allclose(pose['keypoints'], want)
    np.testing.assert_allclose(mt['gt_keypoints'][0, :, :2], want, atol=1e-4)
    np.testing.assert_array_equal(mt['gt_keypoints'][0, :, 2] > 0, vis[PERM] > 0)
    # the image content under a joint moves with it: the pixel at (x, y) is at (W - 1 - x, y) after the flip
    x, y = int(kp[0, 0]), int(kp[0, 1])
    np.testing.assert_array_equal(pose['img'][y, w - 1 - x], img[y, x])
    with pytest.raises(ConfigError, match='MultiTaskRandomFlip flip_pairs=.* disagrees'):
        MultiTaskRandomFlip(prob=1.0, flip_pairs=[(0, 1)])(dict(mt, flip_indices=PERM))
