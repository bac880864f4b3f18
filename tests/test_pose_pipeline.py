"""Pose pipeline pieces against pose_pipeline.npz: loss, accuracy, half-body, OKS / OKS-NMS; transforms."""
import numpy as np
import pytest
import torch

from hrvision.codecs import PoseHeatmapCodec
from hrvision.heads.pose import PoseHead, heatmap_accuracy, joints_mse_loss
from hrvision.metrics import oks_iou, oks_nms, rescore
from hrvision.tasks.pose.metric import coco_preset_sigmas
from hrvision.tasks.pose.transforms import (PackPoseInputs, PoseHeatmapTargets, PoseRandomFlip, TopDownAffine,
                                            half_body_center_scale)
from tests.conftest import ref_path


@pytest.fixture(scope='module')
def ref():
    return np.load(ref_path('pose_pipeline.npz'))


def test_joints_mse_loss(ref):
    out, tgt = torch.from_numpy(ref['loss_output']), torch.from_numpy(ref['loss_target'])
    w = torch.from_numpy(ref['loss_target_weight'])
    assert joints_mse_loss(out, tgt, w).item() == pytest.approx(float(ref['loss_use_target_weight']), rel=1e-6)
    assert joints_mse_loss(out, tgt).item() == pytest.approx(float(ref['loss_no_target_weight']), rel=1e-6)
    head = PoseHead(4, 17)
    with pytest.raises(ValueError, match='heatmap targets have shape'):
        head.loss(torch.zeros(2, 4, 8, 6), torch.zeros(2, 17, 16, 12), torch.ones(2, 17))


def test_accuracy(ref):
    hm = torch.from_numpy(ref['gmp_heatmaps'])
    acc, avg, cnt = heatmap_accuracy(hm, torch.cat([hm[1:], hm[:1]]))
    np.testing.assert_allclose(acc.numpy(), ref['acc_acc'][1:])
    assert float(avg) == pytest.approx(float(ref['acc_avg'])) and cnt == int(ref['acc_cnt'])
    acc, avg, _ = heatmap_accuracy(hm, hm)       # perfect prediction on joints the official code counts
    assert float(avg) == 1.0


def test_half_body(ref):
    for seed, want in zip(ref['hb_seeds'], ref['hb_center_scale']):
        np.random.seed(int(seed))
        c, s = half_body_center_scale(ref['hb_joints'], ref['hb_vis'], 192 / 256)
        np.testing.assert_allclose(np.r_[c, s], want, rtol=1e-6)


def test_oks_iou_and_nms(ref):
    k, areas, scores = ref['oks_kpts'], ref['oks_areas'], ref['oks_scores']
    sigmas = coco_preset_sigmas()
    np.testing.assert_allclose(oks_iou(k[0], k[1:], areas[0], areas[1:], sigmas), ref['oks_iou_0_vs_rest'], rtol=1e-10)
    assert oks_nms(k, scores, areas, 0.9, sigmas) == ref['oks_nms_keep_thr09'].tolist()
    assert oks_nms(k, scores, areas, 0.5, sigmas) == ref['oks_nms_keep_thr05'].tolist()


def test_rescore():
    assert rescore(0.5, np.array([0.1, 0.4, 0.8])) == pytest.approx(0.5 * 0.6)
    assert rescore(0.9, np.array([0.1, 0.2])) == 0.0


def test_flip_then_crop_keeps_targets_on_the_joints():
    """Flip + rotated affine crop + codec: each visible joint's target peak sits at its crop position / 4,
    and the pairs are swapped (a joint on the image left ends up as its partner on the right)."""
    rng = np.random.RandomState(0)
    img = rng.randint(0, 255, (120, 160, 3), np.uint8)
    kp = np.c_[rng.uniform(40, 120, 17), rng.uniform(20, 100, 17)]
    vis = np.ones(17, np.float32)
    vis[3] = 0
    from hrvision.data.metainfo import parse_metainfo
    perm = parse_metainfo(dict(from_file='_base_/datasets/coco.py'), 'test')['flip_indices']   # what the dataset adds
    res = dict(img=img, keypoints=kp.copy(), keypoints_visible=vis.copy(), center=np.array([80., 60.], np.float32),
               scale=np.array([0.6, 0.8], np.float32), rotation=20.0, flip_indices=perm)
    res = PoseRandomFlip(prob=1.0)(res)
    assert res['flip'] and res['keypoints_visible'][4] == 0 and res['keypoints_visible'][3] == 1
    np.testing.assert_allclose(res['keypoints'][2], [159 - kp[1, 0], kp[1, 1]])
    res = TopDownAffine((192, 256))(res)
    assert res['img'].shape == (256, 192, 3)
    codec = PoseHeatmapCodec(heatmap_size=(48, 64))
    res = PoseHeatmapTargets(codec)(res)
    packed = PackPoseInputs()(res)
    s = packed['data_samples']
    assert packed['inputs'].shape == (3, 256, 192) and packed['inputs'].dtype == torch.uint8
    assert s.gt_heatmaps.shape == (17, 64, 48) and s.target_weight[4] == 0
    peaks, _ = codec.decode(s.gt_heatmaps[None], None, None)
    inside = (s.target_weight > 0).numpy()
    want = np.trunc(s.gt_keypoints.numpy() / 4 + 0.5)
    np.testing.assert_allclose(peaks[0].numpy()[inside], want[inside], atol=0.25 + 1e-6)
    assert s.metainfo['flip'] and s.metainfo['rotation'] == 20.0


def test_random_scale_rotation_ranges():
    from hrvision.tasks.pose.transforms import TopDownRandomScaleRotation
    np.random.seed(0)
    t = TopDownRandomScaleRotation()
    out = [t(dict(scale=np.array([1.0, 1.0], np.float32))) for _ in range(2000)]
    f = np.array([o['scale'][0] for o in out])
    r = np.array([o['rotation'] for o in out])
    assert f.min() >= 0.65 - 1e-6 and f.max() <= 1.35 + 1e-6 and np.isclose(f, 1.35).any()
    assert np.abs(r).max() <= 90 and (np.abs(r) == 90).any()
    assert 0.55 < (r != 0).mean() < 0.65


def test_half_body_only_with_enough_visible_joints(ref):
    from hrvision.tasks.pose.transforms import TopDownHalfBody
    t = TopDownHalfBody(prob=1.0)
    res = dict(keypoints=ref['hb_joints'][:, :2], keypoints_visible=ref['hb_vis'][:, 0],
               center=np.zeros(2, np.float32), scale=np.ones(2, np.float32),
               upper_body_ids=list(range(11)))   # what the COCO dataset puts in each sample
    np.random.seed(0)
    out = t(dict(res))
    assert not np.allclose(out['center'], 0)
    few = dict(res, keypoints_visible=np.r_[np.ones(8), np.zeros(9)].astype(np.float32))
    out = t(few)
    np.testing.assert_array_equal(out['center'], 0)
