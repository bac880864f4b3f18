"""The face flip test (``model.test_cfg.flip_test``): off by default as the official face test; when on, the
mirrored crop's heatmaps are mirrored back with the WFLW pairs and averaged, without pose's one-pixel shift.

Why no shift: the face pipeline mirrors with ``x' = width - x`` and its codec truncates, so the target of a
mirrored face, mirrored back, peaks on the unmirrored target's cell (``test_ideal_heatmaps_*``); and any shift
breaks the symmetry "mirror image in, mirror-image landmarks out" (``test_mirror_image_*``).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

import hrvision
from hrvision.codecs import flip_back, shift_right
from hrvision.data.keypoints import flip_keypoints, flip_permutation
from hrvision.errors import ConfigError
from hrvision.registry import MODELS
from hrvision.structures import DataSample
from hrvision.tasks.face.transforms import WFLW_FLIP_PAIRS, face_crop
from tests.conftest import REPO, ref_json
from tests.test_face_train import _tiny_cfg
from tests.test_infer import TINY

DEMO = str(REPO / 'configs' / 'face' / 'demo_synthetic_wflw.py')
PERM = flip_permutation(98, WFLW_FLIP_PAIRS)
CODEC = dict(type='FaceHeatmapCodec', input_size=(64, 64), heatmap_size=(16, 16), sigma=1.5)
OFFICIAL_CODEC = dict(type='FaceHeatmapCodec', input_size=(256, 256), heatmap_size=(64, 64), sigma=1.5)


def _tiny_model(flip_test: bool, codec: dict = CODEC):
    """A random tiny face model (64x64 crops); heatmaps made positive so every landmark has a maximum."""
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict({'model.backbone.extra': TINY, 'model.codec': codec, 'model.test_cfg.flip_test': flip_test})
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        model.head.head[-1].bias += 5.0
    return model


def _sample(center, scale):
    return DataSample(metainfo=dict(center=np.asarray(center, np.float64), scale=float(scale)))


# ---- the default ------------------------------------------------------------------------------------------

def test_default_is_the_official_setting():
    """Official face test: TEST.FLIP_TEST false (lib/config/defaults.py, every experiments/*.yaml)."""
    for name in ('hrnetv2_w18_wflw.py', 'demo_synthetic_wflw.py'):
        assert Config.fromfile(str(REPO / 'configs' / 'face' / name)).model.test_cfg.flip_test is False
    cfg = Config.fromfile(DEMO)
    cfg.model.pop('test_cfg')
    cfg.model.backbone.extra = TINY
    assert MODELS.build(cfg.model).test_cfg['flip_test'] is False          # the class default
    official = ref_json('face_tiny_config.json')                           # no TEST section: defaults.py
    assert 'TEST' not in official
    assert hrvision.from_official(official).test_cfg['flip_test'] is False
    flipping = dict(official, TEST=dict(FLIP_TEST=True))
    assert hrvision.from_official(flipping).test_cfg['flip_test'] is True  # the YAML's key is followed


def test_bad_flip_settings_are_refused():
    cfg = Config.fromfile(DEMO)
    cfg.model.backbone.extra = TINY
    with pytest.raises(ConfigError, match=r"model.test_cfg.flip: unknown key; did you mean 'flip_test'"):
        MODELS.build(dict(cfg.model, test_cfg=dict(flip=True)))
    # 68 landmarks and no metadata anywhere (samples, checkpoint, test_cfg): refused at the flip, never guessed
    m68 = MODELS.build(dict(cfg.model, head=dict(cfg.model.head, num_landmarks=68), test_cfg=dict(flip_test=True)))
    with pytest.raises(ConfigError, match='flip_test needs the left/right landmarks of the 68 landmarks'):
        m68.eval().predict_heatmaps(torch.rand(1, 3, 64, 64))
    with pytest.raises(ConfigError, match=r'flip_pairs \(0, 98\) names landmarks outside 0..97'):
        MODELS.build(dict(cfg.model, test_cfg=dict(flip_test=True, flip_pairs=[(0, 98)])))
    with pytest.raises(TypeError, match='flip_test must be True or False'):
        MODELS.build(dict(cfg.model, test_cfg=dict(flip_test='yes')))


# ---- the pixel convention ---------------------------------------------------------------------------------

def test_ideal_heatmaps_give_the_same_landmarks_with_and_without_flip():
    """A perfect network outputs the codec's targets: for the crop, and for the mirrored crop the targets of the
    face pipeline's mirrored sample (x' = W - x, pairs swapped, centre mirrored). Averaged without a shift they
    decode to the unflipped landmarks exactly; pose's one-pixel shift would move them.

    Landmarks inside the face box (the crop is the box x1.25), official heatmap size 64: the official target
    drawing truncates its window corner toward zero, which draws peaks within 4.5 cells of the left/top border
    one cell off (a quirk of the targets themselves, mirrored or not)."""
    model = _tiny_model(flip_test=True, codec=OFFICIAL_CODEC)
    codec, width = model.codec, 300
    rng = np.random.default_rng(1)
    center, scale = np.array([143.3, 120.7]), 1.0                    # a 200-pixel crop, a 160-pixel face box
    kp = center + rng.uniform(-80, 80, (98, 2))
    ideal = torch.from_numpy(codec.encode(kp, center=center, scale=scale)['heatmaps'])
    mkp, _ = flip_keypoints(kp, np.ones(98), width, WFLW_FLIP_PAIRS, offset=0)
    mirrored = np.array([width - center[0], center[1]])
    ideal_m = torch.from_numpy(codec.encode(mkp, center=mirrored, scale=scale)['heatmaps'])
    back = flip_back(ideal_m[None], WFLW_FLIP_PAIRS)[0]
    assert torch.equal(back.flatten(1).argmax(1), ideal.flatten(1).argmax(1))   # peak on peak, no shift

    crops = torch.rand(1, 3, 64, 64)

    def network(x):   # the flipped crop comes in the same batch, after the crop
        assert x.shape[0] == 2 and torch.equal(x[1:], crops.flip(3))
        return torch.stack([ideal, ideal_m])

    model.tensor_forward = network
    flipped = model.predict(crops, [_sample(center, scale)])[0]
    plain, _ = codec.decode(ideal[None], torch.tensor(center[None]), torch.tensor([scale]))
    np.testing.assert_array_equal(flipped.pred_keypoints.numpy(), plain[0].numpy())
    shifted = (ideal + shift_right(flip_back(ideal_m[None], WFLW_FLIP_PAIRS))[0]) * 0.5
    moved, _ = codec.decode(shifted[None], torch.tensor(center[None]), torch.tensor([scale]))
    assert (moved[0] != plain[0]).any()   # the test sees a wrong convention


def test_mirror_image_gives_mirrored_landmarks():
    """Through hrvision.Inferencer: an image and its mirror (box mirrored) give mirror-image landmarks with the
    flip test, for any network. The official decode truncates to integer pixels (1-based), so a landmark at x on
    the image is at W + 1 - x on the mirror, exactly. (The box is one whose official crop of the mirror image is the
    mirrored crop; the crop's integer box rounding makes that so only for some boxes.)"""
    model = _tiny_model(flip_test=True)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (80, 90, 3), dtype=np.uint8)
    mirror = np.ascontiguousarray(img[:, ::-1])
    width, (cx, cy), side = 90, (40.3, 41.2), 32 / 1.25
    box = [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]
    mbox = [width - box[2], box[1], width - box[0], box[3]]
    crop = face_crop(img, (cx, cy), 32 / 200, (64, 64))
    assert np.array_equal(face_crop(mirror, (width - cx, cy), 32 / 200, (64, 64)), crop[:, ::-1])

    # the averaged heatmaps are exact mirrors; pose's shift would break that
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = model.predict_heatmaps(x), model.predict_heatmaps(x.flip(3))
        torch.testing.assert_close(flip_back(b, WFLW_FLIP_PAIRS), a, atol=1e-6, rtol=0)
        both = model.tensor_forward(torch.cat([x, x.flip(3)]))
        s_a = (both[:1] + shift_right(flip_back(both[1:], WFLW_FLIP_PAIRS))) * 0.5
        s_b = (both[1:] + shift_right(flip_back(both[:1], WFLW_FLIP_PAIRS))) * 0.5
        assert (flip_back(s_b, WFLW_FLIP_PAIRS) - s_a).abs().max() > 1e-3

    results = _infer_with(model, [img, mirror], [[box], [mbox]])
    k, km = results[0]['keypoints'][0], results[1]['keypoints'][0][PERM]
    np.testing.assert_array_equal(km[:, 0], width + 1 - k[:, 0])
    np.testing.assert_array_equal(km[:, 1], k[:, 1])
    np.testing.assert_array_equal(results[1]['keypoint_scores'][0][PERM], results[0]['keypoint_scores'][0])


def _infer_cfg() -> Config:
    """The config of :func:`_tiny_model` (flip test on) with a 64x64 test pipeline."""
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict({'model.backbone.extra': TINY, 'model.codec': CODEC, 'model.test_cfg.flip_test': True})
    cfg.test_dataloader.dataset.pipeline = [dict(type='LoadFaceImage'), dict(type='FaceCrop', input_size=(64, 64)),
                                            dict(type='PackFaceInputs')]
    return cfg


def _infer_with(model, images, boxes, **options):
    """hrvision.Inferencer on ``images`` with ``model``'s weights (saved to a temp checkpoint)."""
    import tempfile

    from hrvision.inference import Inferencer
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'w.pth')
        torch.save({'state_dict': model.state_dict()}, path)
        return Inferencer(_infer_cfg(), path, device='cpu', batch_size=2, **options)(images, boxes=boxes)


def test_flip_test_with_the_onnxruntime_backend(tmp_path):
    """The exported network runs both crops of the flip test (one batch of two): the torch backend's landmarks."""
    pytest.importorskip('onnxruntime')
    from hrvision.export import export_model
    model = _tiny_model(flip_test=True)
    path = str(tmp_path / 'face.onnx')
    export_model(model, path, (64, 64), 'onnx')
    img = np.random.default_rng(2).integers(0, 255, (70, 80, 3), dtype=np.uint8)
    a = _infer_with(model, [img], None)[0]
    b = _infer_with(model, [img], None, backend='onnxruntime', onnx=path)[0]
    np.testing.assert_allclose(b['keypoints'], a['keypoints'], atol=1e-2)
    np.testing.assert_allclose(b['keypoint_scores'], a['keypoint_scores'], atol=1e-4)


# ---- a trained model through the user paths ---------------------------------------------------------------

@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """The face training test's tiny setup (64x64 crops, synthetic WFLW), a few iterations: (config, checkpoint,
    NME of the runner's test loop without flip)."""
    from hrvision.engine.runner import build_runner, prepare_config
    from hrvision.tasks.face import synth as face_synth
    root = tmp_path_factory.mktemp('face_flip')
    face_synth.write_synthetic(str(root / 'data'), n_train=32, n_val=12, seed=1, size=(96, 96))
    iters = 40
    cfg = prepare_config(_tiny_cfg(str(root / 'data'), str(root / 'work'), iters))
    runner = build_runner(cfg)
    runner.train()
    nme = runner.test()['face/NME']
    cfg_path = str(root / 'cfg.py')
    cfg.dump(cfg_path)
    return cfg_path, str(root / 'work' / f'iter_{iters}.pth'), nme, root


def test_flip_test_through_hrvision_test_and_the_inferencer(trained):
    cfg_path, ckpt, nme_plain, root = trained
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'test', cfg_path, ckpt, '--work-dir', str(root / 'test'),
                        '--cfg-options', 'model.test_cfg.flip_test=True'], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=600, cwd=str(REPO))
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads(r.stdout[r.stdout.rindex('\n{'):])
    nme_flip = metrics['face/NME']
    print(f'face flip test: NME {nme_plain:.4f} without flip, {nme_flip:.4f} with')
    assert np.isfinite(nme_flip) and nme_flip <= nme_plain

    from hrvision.inference import Inferencer
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict({'model.test_cfg.flip_test': True})
    inf = Inferencer(cfg, ckpt, device='cpu')
    image = sorted(str(p) for p in (root / 'data' / 'WFLW_images').rglob('*.jpg'))[:4]   # whole-image boxes
    res = inf(image)
    assert inf.model.test_cfg['flip_test'] is True and len(res) > 0
    kp = np.concatenate([r['keypoints'] for r in res])
    assert kp.shape[1:] == (98, 2) and np.isfinite(kp).all()
    inf.model.test_cfg['flip_test'] = False
    plain = np.concatenate([r['keypoints'] for r in inf(image)])
    assert (plain != kp).any()   # the flip path ran

