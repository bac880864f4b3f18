"""Affine crop, flip-with-pairs, box -> (c, s) and the face pixel map against the official vectors."""
import numpy as np
import pytest
import torch

from hrvision.data.keypoints import (affine_matrices, affine_points, box_to_center_scale, face_transform,
                                     flip_keypoints, get_affine_transform, transform_pixel)
from tests.conftest import ref_path


@pytest.fixture(scope='module')
def pose():
    return np.load(ref_path('pose_pipeline.npz'))


def test_get_affine_transform_exact(pose):
    for i in range(len(pose['gat_trans'])):
        t = get_affine_transform(pose['gat_center'][i], pose['gat_scale'][i], pose['gat_rot'][i],
                                 pose['gat_output_size'][i], pose['gat_shift'][i], bool(pose['gat_inv'][i]))
        np.testing.assert_array_equal(t, pose['gat_trans'][i], err_msg=f'case {i}')
        np.testing.assert_allclose(affine_points(pose['at_points'], t), pose['at_out'][i], atol=1e-6)


def test_closed_form_matrices_close(pose):
    keep = ~pose['gat_shift'].any(1)
    for inv in (False, True):
        sel = keep & (pose['gat_inv'] == int(inv))
        for i in np.nonzero(sel)[0]:
            m = affine_matrices(torch.from_numpy(pose['gat_center'][i:i + 1]), pose['gat_scale'][i:i + 1],
                                pose['gat_output_size'][i], pose['gat_rot'][i], inv)
            np.testing.assert_allclose(m[0].numpy(), pose['gat_trans'][i], rtol=2e-6, atol=1e-3)


def test_warp_affine(pose):
    """hrvision's crop (``TopDownAffine``: matrix, size order, interpolation, border) gives the official crop
    bit for bit; its joints follow the official matrix. center/scale/rotation are those that give the official
    ``warp_trans`` (240x320 image centre, 0.9 x 200 px wide, 30 degrees)."""
    from hrvision.tasks.pose.transforms import TopDownAffine
    center, scale = np.array([160.0, 120.0], np.float32), np.array([0.9, 1.2], np.float32)
    joints = np.array([[160.0, 120.0], [100.0, 60.0], [250.0, 200.0]])
    out = TopDownAffine((192, 256))(dict(img=pose['warp_src_image'].copy(), center=center, scale=scale, rotation=30,
                                         keypoints=joints.copy(), keypoints_visible=np.ones(3)))
    assert out['img'].shape == (256, 192, 3) and out['img_shape'] == (256, 192)
    np.testing.assert_array_equal(out['img'], pose['warp_out'])
    expect = joints @ pose['warp_trans'][:, :2].T + pose['warp_trans'][:, 2]
    np.testing.assert_allclose(out['keypoints'], expect, atol=1e-4)
    np.testing.assert_allclose(out['keypoints'][0], [96.0, 128.0], atol=1e-4)   # the centre lands mid-crop


def test_fliplr_joints(pose):
    j, v = flip_keypoints(pose['flj_joints'], pose['flj_vis'], int(pose['flj_width']), pose['coco_flip_pairs'])
    np.testing.assert_array_equal(j, pose['flj_out_joints'])
    np.testing.assert_array_equal(v, pose['flj_out_vis'])


def test_face_flip():
    f = np.load(ref_path('face_pipeline.npz'))
    j, _ = flip_keypoints(f['flip_pts'], np.ones(len(f['flip_pts'])), int(f['flip_width']),
                          f['wflw_matched_parts'], offset=0)
    np.testing.assert_allclose(j, f['flip_out'])


@pytest.mark.parametrize('size', ['256x192', '384x288'])
def test_box_to_center_scale(pose, size):
    h, w = (int(v) for v in size.split('x'))
    for i, box in enumerate(pose['box2cs_boxes_xywh']):
        c, s = box_to_center_scale(box, w / h)
        np.testing.assert_allclose(c, pose[f'box2cs_center_{size}'][i])
        np.testing.assert_allclose(s, pose[f'box2cs_scale_{size}'][i], rtol=1e-6)


def test_face_transform_pixel():
    f = np.load(ref_path('face_pipeline.npz'))
    for i in range(len(f['tpx_pt'])):
        args = (f['tpx_center'][i], f['tpx_scale'][i], f['tpx_output_size'][i])
        out = transform_pixel(f['tpx_pt'][i], *args, invert=bool(f['tpx_invert'][i]), rot=f['tpx_rot'][i])
        np.testing.assert_array_equal(out, f['tpx_out'][i])
        np.testing.assert_allclose(face_transform(*args, rot=f['tpx_rot'][i]), f['gtf_matrix'][i], atol=1e-12)
