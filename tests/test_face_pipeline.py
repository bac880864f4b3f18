"""Face pipeline parity with the official functions (face_pipeline.npz, SPEC §3.2, §2.3)."""
import random

import numpy as np
import pytest
import torch

from tests.conftest import ref_path
from hrvision.codecs import FaceHeatmapCodec, face_get_preds
from hrvision.data.keypoints import face_transform, flip_permutation, transform_pixel
from hrvision.tasks.face import WFLW_FLIP_PAIRS
from hrvision.tasks.face.transforms import FaceCrop, FaceHeatmapTargets, FaceRandomAugment, PackFaceInputs, face_crop

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


@pytest.fixture(scope='module')
def ref():
    return dict(np.load(ref_path('face_pipeline.npz')))


def _row(ref):
    scale, cx, cy = ref['ds_row_scale_center']
    return dict(img=ref['ds_image_rgb'].copy(), keypoints=ref['ds_row_pts'].astype(np.float64),
                center=np.array([cx, cy]), scale=float(scale) * 1.25, rotation=0.0, flip=False,
                flip_indices=flip_permutation(98, WFLW_FLIP_PAIRS))   # what the WFLW dataset puts in every sample


def _official_norm(img_uint8):
    """What the official loader feeds the network: (img/255 - mean)/std, CHW."""
    return ((img_uint8 / 255.0 - MEAN) / STD).transpose(2, 0, 1)


def test_transform_pixel_and_matrix(ref):
    for i in range(len(ref['tpx_pt'])):
        args = (ref['tpx_center'][i], ref['tpx_scale'][i], ref['tpx_output_size'][i])
        out = transform_pixel(ref['tpx_pt'][i], *args, invert=bool(ref['tpx_invert'][i]), rot=ref['tpx_rot'][i])
        np.testing.assert_array_equal(out, ref['tpx_out'][i])
        np.testing.assert_allclose(face_transform(*args, rot=ref['tpx_rot'][i]), ref['gtf_matrix'][i], atol=1e-9)


def test_generate_target(ref):
    codec = FaceHeatmapCodec()
    enc = codec.encode(ref['fgt_pts'])  # no center: points are heatmap pixels, drawn as they are
    np.testing.assert_array_equal(enc['heatmaps'], ref['fgt_out'])


def test_flip_with_wflw_pairs(ref):
    """The WFLW preset's pairs are the official MATCHED_PARTS; the augmentation reads them from the sample's
    ``flip_indices`` (what the dataset puts there) and mirrors as the official ``fliplr_joints``."""
    from hrvision.data.metainfo import parse_metainfo
    preset = parse_metainfo(dict(from_file='_base_/datasets/wflw.py'), 'the WFLW preset')
    assert np.array_equal(np.asarray(WFLW_FLIP_PAIRS), ref['wflw_matched_parts'])
    assert np.array_equal(np.asarray(preset['flip_pairs']), ref['wflw_matched_parts'])
    assert tuple(preset['norm_indices']) == (60, 72)
    width = int(ref['flip_width'])
    img = np.zeros((10, width, 3), np.uint8)
    res = dict(img=img, keypoints=ref['flip_pts'].copy(), center=np.array([100.0, 5.0]), scale=1.0,
               flip_indices=preset['flip_indices'])
    out = FaceRandomAugment().apply(res, 1.0, 0.0, True)
    np.testing.assert_allclose(out['keypoints'], ref['flip_out'])
    assert out['center'][0] == width - 100.0 and out['flip']


def test_decode(ref):
    hm = torch.from_numpy(ref['dp_heatmaps'])
    np.testing.assert_array_equal(face_get_preds(hm)[0].numpy(), ref['dp_get_preds'])
    preds, _ = FaceHeatmapCodec().decode(hm, torch.from_numpy(ref['dp_center']), torch.from_numpy(ref['dp_scale']))
    np.testing.assert_array_equal(preds.numpy(), ref['dp_preds'])


def test_test_mode_sample(ref):
    """Crop bytes equal the official crop() exactly; the normalised image then agrees to float32
    rounding of mean/std (the official normalises in float64 and stores float32: |d| < 1e-6)."""
    res = _row(ref)
    crop = face_crop(res['img'], res['center'].astype(np.float32), res['scale'], (256, 256), 0.0, True)
    np.testing.assert_array_equal(crop, ref['crop_test_uint8'])
    res = FaceHeatmapTargets()(FaceCrop()(res))
    np.testing.assert_allclose(_official_norm(res['img']), ref['ds_test_img'], atol=1e-6)
    np.testing.assert_array_equal(res['gt_heatmaps'], ref['ds_test_target'])
    np.testing.assert_array_equal(res['heatmap_keypoints'], ref['ds_test_tpts'])
    np.testing.assert_allclose(res['center'], ref['ds_test_center'])
    assert res['scale'] == pytest.approx(float(ref['ds_test_scale']))
    packed = PackFaceInputs()(res)
    assert packed['inputs'].shape == (3, 256, 256) and packed['inputs'].dtype == torch.uint8
    assert packed['data_samples'].gt_heatmaps.shape == (98, 64, 64)


def test_train_mode_sample_with_official_draws(ref):
    """Draw (scale, rotation, flip) with Python's random exactly as the official loader does and
    apply them: rotated crop, targets and flipped points match."""
    random.seed(int(ref['ds_train_seed']))
    s = random.uniform(0.75, 1.25)
    r = random.uniform(-30, 30) if random.random() <= 0.6 else 0
    f = random.random() <= 0.5
    assert r != 0 and f  # the stored seed exercises rotation and flip
    res = FaceRandomAugment().apply(_row(ref), s, r, f)
    np.testing.assert_allclose(res['keypoints'], ref['ds_train_pts'], atol=1e-4)
    np.testing.assert_allclose(res['center'], ref['ds_train_center'])
    assert res['scale'] == pytest.approx(float(ref['ds_train_scale']))
    res = FaceHeatmapTargets()(FaceCrop()(res))
    np.testing.assert_allclose(_official_norm(res['img']), ref['ds_train_img'], atol=1e-6)
    np.testing.assert_array_equal(res['gt_heatmaps'], ref['ds_train_target'])
    np.testing.assert_array_equal(res['heatmap_keypoints'], ref['ds_train_tpts'])


def test_bytescale_option():
    """A box of exactly the output size (no resampling) straddling the image border: without
    byte-scaling the crop is the zero-padded window; with it, that window stretched to 0-255."""
    rng = np.random.default_rng(0)
    img = rng.integers(50, 151, (100, 120, 3)).astype(np.uint8)
    center, scale = np.array([20.0, 90.0]), 64 / 200  # 64x64 box, partly outside (left, bottom)
    ul = transform_pixel([0, 0], center, scale, (64, 64), invert=True)
    window = np.zeros((64, 64, 3), np.float64)
    x0, y0 = max(0, ul[0]), max(0, ul[1])
    x1, y1 = min(120, ul[0] + 64), min(100, ul[1] + 64)
    window[y0 - ul[1]:y1 - ul[1], x0 - ul[0]:x1 - ul[0]] = img[y0:y1, x0:x1]
    plain = face_crop(img, center, scale, (64, 64), 0.0, bytescale=False)
    np.testing.assert_array_equal(plain, window.astype(np.uint8))
    stretched = face_crop(img, center, scale, (64, 64), 0.0, bytescale=True)
    expect = (window * (255.0 / window.max()) + 0.5).astype(np.uint8)  # min is 0 (padding)
    assert np.abs(stretched.astype(int) - expect).max() <= 1
    assert stretched.max() == 255 and plain.max() <= 150


def test_border_and_outside_boxes_do_not_crash():
    img = np.full((60, 80, 3), 200, np.uint8)
    for center, scale, rot in (((0, 0), 0.5, 0), ((79, 59), 0.5, 20), ((500, 500), 0.3, 0), ((-300, 10), 0.3, 10),
                               ((40, 30), 3.0, 0), ((40, 30), 40.0, 5)):
        out = face_crop(img, np.array(center, float), scale, (64, 64), rot, True)
        assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    out = face_crop(img, np.array((500.0, 500.0)), 0.3, (64, 64), 0, True)
    assert out.max() == 0  # wholly outside: zeros
    # landmarks outside the image / with y <= 0 still give targets without errors
    res = dict(img=img, keypoints=np.array([[-50.0, 10.0], [40.0, -5.0], [100.0, 100.0]] + [[40.0, 30.0]] * 95),
               center=np.array([40.0, 30.0]), scale=0.4, rotation=0.0)
    res = FaceHeatmapTargets()(FaceCrop()(res))
    assert res['gt_heatmaps'].shape == (98, 64, 64)
    assert res['gt_heatmaps'][1].max() == 0  # y <= 0: no gaussian (official)
    assert res['heatmap_keypoints'][1].tolist() == [40.0, -5.0]  # raw coordinates kept (SPEC §8.27)
