"""The shared heatmap codec against the official pose and face vectors (SPEC §3.1, §3.2)."""
import numpy as np
import pytest
import torch

from hrvision.codecs import FaceHeatmapCodec, PoseHeatmapCodec, build_codec, flip_back, get_max_preds, heatmap_to_image, shift_right
from hrvision.codecs.heatmap import draw_gaussians, face_get_preds
from hrvision.registry import TASK_UTILS
from tests.conftest import load_ref, ref_path


@pytest.fixture(scope='module')
def pose():
    return np.load(ref_path('pose_pipeline.npz'))


@pytest.fixture(scope='module')
def face():
    return np.load(ref_path('face_pipeline.npz'))


def test_registered():
    codec = TASK_UTILS.build(dict(type='PoseHeatmapCodec', input_size=(192, 256), heatmap_size=(48, 64), sigma=2))
    assert isinstance(codec, PoseHeatmapCodec) and codec.heatmap_size == (48, 64)
    face = build_codec(dict(type='FaceHeatmapCodec'))
    assert isinstance(face, FaceHeatmapCodec) and face.heatmap_size == (64, 64) and face.sigma == 1.5
    assert build_codec(face) is face and isinstance(build_codec(dict(heatmap_size=(48, 64))), PoseHeatmapCodec)


@pytest.mark.parametrize('i', [0, 1, 2])
def test_pose_targets(pose, i):
    enc = PoseHeatmapCodec(heatmap_size=(48, 64)).encode(pose['gt_joints'][i], pose['gt_joints_vis'][i])
    np.testing.assert_array_equal(enc['heatmaps'], pose['gt_target'][i])
    np.testing.assert_array_equal(enc['keypoint_weights'], pose['gt_target_weight'][i][:, 0])


def test_pose_targets_384_sigma3_and_joint_weights(pose):
    enc = PoseHeatmapCodec((288, 384), (72, 96), 3).encode(pose['gt384_joints'], pose['gt384_joints_vis'])
    np.testing.assert_array_equal(enc['heatmaps'], pose['gt384_target'])
    np.testing.assert_array_equal(enc['keypoint_weights'], pose['gt384_target_weight'][:, 0])
    jw = [1.] * 7 + [1.2, 1.2, 1.5, 1.5, 1, 1, 1.2, 1.2, 1.5, 1.5]
    enc = PoseHeatmapCodec(heatmap_size=(48, 64), joint_weights=jw).encode(torch.from_numpy(pose['gt_joints'][2]), pose['gt_joints_vis'][2])
    np.testing.assert_array_equal(enc['heatmaps'], pose['gt_target_jointsweight_sample2'])
    np.testing.assert_allclose(enc['keypoint_weights'], pose['gt_target_weight_jointsweight_sample2'][:, 0])


def test_get_max_preds(pose):
    coords, maxvals = get_max_preds(torch.from_numpy(pose['gmp_heatmaps']))
    np.testing.assert_array_equal(coords.numpy(), pose['gmp_preds'])
    np.testing.assert_array_equal(maxvals.numpy(), pose['gmp_maxvals'][..., 0])


@pytest.mark.parametrize('mode,key', [('quarter', 'gfp_preds_postprocess'), ('none', 'gfp_preds_no_postprocess')])
def test_final_preds(pose, mode, key):
    codec = PoseHeatmapCodec(heatmap_size=(48, 64), decode_mode=mode)
    kp, scores = codec.decode(torch.from_numpy(pose['gmp_heatmaps']), pose['gfp_center'], pose['gfp_scale'])
    np.testing.assert_allclose(kp.numpy(), pose[key], atol=1e-4, rtol=0)
    np.testing.assert_array_equal(scores.numpy(), pose['gfp_maxvals'][..., 0])


def test_transform_preds(pose):
    out = heatmap_to_image(torch.from_numpy(pose['tp_coords']).double()[None], pose['gfp_center'][:1],
                           pose['gfp_scale'][:1], (48, 64))
    np.testing.assert_allclose(out[0].numpy(), pose['tp_out'], atol=1e-9)


def test_flip_back(pose):
    out = flip_back(torch.from_numpy(pose['fb_in']), pose['coco_flip_pairs'].tolist())
    np.testing.assert_array_equal(out.numpy(), pose['fb_out'])


def test_validate_flip_path(pose):
    io = load_ref('pose_tiny_io.pt')
    pairs = pose['coco_flip_pairs'].tolist()
    back = flip_back(io['output_of_flipped_input'], pairs)
    np.testing.assert_array_equal(back.numpy(), pose['val_flipped_back'])
    shifted = shift_right(back)
    np.testing.assert_array_equal(shifted.numpy(), pose['val_flipped_back_shifted'])
    avg = (io['output'] + shifted) * 0.5
    np.testing.assert_allclose(avg.numpy(), pose['val_averaged'], atol=1e-6)
    kp, sc = PoseHeatmapCodec(heatmap_size=(48, 64)).decode(avg, pose['val_center'], pose['val_scale'])
    np.testing.assert_allclose(kp.numpy(), pose['val_preds'], atol=1e-4, rtol=0)
    np.testing.assert_allclose(sc.numpy(), pose['val_maxvals'][..., 0], atol=1e-6)


def test_face_generate_target(face):
    hm, _ = draw_gaussians(face['fgt_pts'], float(face['fgt_sigma']), (64, 64), np.ones(len(face['fgt_pts']), bool))
    np.testing.assert_array_equal(hm, face['fgt_out'])
    enc = FaceHeatmapCodec((256, 256), (64, 64), 1.5).encode(face['fgt_pts'])
    np.testing.assert_array_equal(enc['heatmaps'], face['fgt_out'])


def test_face_decode(face):
    hm = torch.from_numpy(face['dp_heatmaps'])
    coords, _ = face_get_preds(hm)
    np.testing.assert_array_equal(coords.numpy(), face['dp_get_preds'])
    codec = FaceHeatmapCodec((256, 256), (64, 64), 1.5)
    kp, _ = codec.decode(hm, face['dp_center'], face['dp_scale'])
    np.testing.assert_array_equal(kp.numpy(), face['dp_preds'])


def test_face_dataset_targets(face):
    codec = FaceHeatmapCodec((256, 256), (64, 64), 1.5)
    enc = codec.encode(face['ds_row_pts'], center=face['ds_test_center'], scale=face['ds_test_scale'])
    np.testing.assert_array_equal(enc['heatmaps'], face['ds_test_target'])
    np.testing.assert_array_equal(enc['heatmap_keypoints'], face['ds_test_tpts'])


def test_dark_is_subpixel_and_quarter_is_not():
    """A Gaussian at a known non-integer spot: DARK recovers it to < 0.05 px, the quarter shift cannot."""
    h, w = 64, 48
    true = torch.tensor([[[20.3, 30.7], [10.6, 41.2]]], dtype=torch.float64)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing='ij')
    hm = torch.exp(-((xs - true[..., 0, None, None]) ** 2 + (ys - true[..., 1, None, None]) ** 2) / 8).float()
    dark, _ = PoseHeatmapCodec(heatmap_size=(48, 64), decode_mode='dark').decode(hm)
    quarter, _ = PoseHeatmapCodec(heatmap_size=(48, 64)).decode(hm)
    assert (dark.double() - true).abs().max() < 0.05
    assert (quarter.double() - true).abs().max() > 0.1


def test_bad_input():
    with pytest.raises(KeyError, match="'HandHeatmapCodec' is not a registered codec.*PoseHeatmapCodec"):
        build_codec(dict(type='HandHeatmapCodec'))
    with pytest.raises(TypeError):   # the face convention decodes only with its official quarter shift
        FaceHeatmapCodec(decode_mode='dark')
    with pytest.raises(ValueError, match=r'\(N, K, H, W\)'):
        PoseHeatmapCodec(heatmap_size=(48, 64)).decode(torch.zeros(17, 64, 48))
    with pytest.raises(ValueError, match='built for'):
        PoseHeatmapCodec(heatmap_size=(48, 64)).decode(torch.zeros(1, 17, 32, 24))
    with pytest.raises(ValueError, match='one row per'):
        PoseHeatmapCodec(heatmap_size=(48, 64)).decode(torch.zeros(2, 17, 64, 48), np.zeros((1, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match='keypoints must be'):
        PoseHeatmapCodec(heatmap_size=(48, 64)).encode(np.zeros(17))
