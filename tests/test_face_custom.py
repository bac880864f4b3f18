"""A face set with its own landmarks (issue 21): 68 landmarks stated once in the config's metainfo, read by the flip
augmentation, the flip test, the NME normaliser (``norm_indices``), the checkpoint and ``hrvision infer``.

The set is ``hrvision data synth-wflw --landmarks 68`` (the WFLW list format with 68 points, ``metainfo.json``) and
the config is the shipped ``configs/face/demo_custom_68.py`` (the 300W preset's metadata) at a tiny width. The tests
use NME normalised by the *inner* eye corners (39, 42), which is no official rule for 68 points (300W: 36, 45), so a
normaliser taken from anywhere but the metadata is seen.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO
from tests.test_infer import TINY

CUSTOM = str(REPO / 'configs' / 'face' / 'demo_custom_68.py')
NORM = (39, 42)
ITERS = 4


def _cfg(root: str, work_dir: str) -> Config:
    """demo_custom_68.py with the tiny HRNet, 64x64 crops, always-on flip augmentation, flip test on."""
    cfg = Config.fromfile(CUSTOM)
    codec = dict(type='FaceHeatmapCodec', input_size=(64, 64), heatmap_size=(16, 16), sigma=1.5)
    cfg.model.backbone.extra = TINY
    cfg.model.codec = codec
    cfg.model.test_cfg = dict(flip_test=True)
    train = [dict(type='LoadFaceImage'),
             dict(type='FaceRandomAugment', scale_factor=0.1, rot_factor=10, rot_prob=0.5, flip_prob=1.0),
             dict(type='FaceCrop', input_size=(64, 64)), dict(type='FaceHeatmapTargets', codec=codec),
             dict(type='PackFaceInputs')]
    test = [dict(type='LoadFaceImage'), dict(type='FaceCrop', input_size=(64, 64)), dict(type='PackFaceInputs')]
    for key, pipe in (('train_dataloader', train), ('val_dataloader', test), ('test_dataloader', test)):
        cfg[key].dataset.update(data_root=root, pipeline=pipe)
        cfg[key].dataset.metainfo.norm_indices = NORM
        cfg[key].batch_size = 4
    cfg.train_cfg.update(max_iters=ITERS, val_interval=ITERS)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.interval = ITERS
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    return cfg


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Synthetic 68-landmark set through the CLI, a few training iterations (flip augmentation with the custom
    pairs on every sample), the runner's test with the flip test: (root, cfg path, checkpoint, test metrics)."""
    from hrvision.engine.runner import build_runner, prepare_config
    root = tmp_path_factory.mktemp('face68')
    from hrvision.cli import main
    assert main(['data', 'synth-wflw', str(root / 'data'), '--landmarks', '68', '--train', '8', '--test', '5',
                 '--size', '72']) == 0
    cfg = prepare_config(_cfg(str(root / 'data'), str(root / 'work')))
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.test()
    cfg_path = str(root / 'cfg.py')
    cfg.dump(cfg_path)
    return root, cfg_path, str(root / 'work' / f'iter_{ITERS}.pth'), metrics


def test_synth_writes_the_wflw_list_format_with_68_points(trained):
    root = trained[0] / 'data'
    meta = json.loads((root / 'metainfo.json').read_text())
    assert len(meta['keypoint_names']) == 68 and 'flip_pairs' not in meta   # pairs follow from the names
    line = (root / 'annotations' / 'train.txt').read_text().splitlines()[0].split()
    assert len(line) == 2 * 68 + 4 + 6 + 1 and (root / 'images' / line[-1]).is_file()


def test_trains_flip_tests_and_keeps_the_metadata(trained):
    root, cfg_path, ckpt, metrics = trained
    assert np.isfinite(metrics['face/NME']) and metrics['face/NME'] > 0
    meta = torch.load(ckpt, map_location='cpu', weights_only=False)['meta']['dataset_meta']
    assert len(meta['keypoint_names']) == 68 and list(meta['norm_indices']) == list(NORM)
    names = meta['keypoint_names']
    perm = meta['flip_indices']   # derived from left_/right_ names: every left_x is swapped with right_x
    assert names[perm[names.index('left_eye_outer')]] == 'right_eye_outer'
    assert names[perm[names.index('chin')]] == 'chin' and len(meta['flip_pairs']) == 29


def test_flip_augmentation_uses_the_custom_pairs(trained):
    """A flipped sample's landmarks are the mirror of the original ones with the metadata's pairs swapped."""
    from hrvision.registry import DATASETS
    from hrvision.tasks.face.transforms import FaceRandomAugment, LoadFaceImage
    cfg = Config.fromfile(trained[1])
    ds = DATASETS.build(dict(cfg.train_dataloader.dataset, pipeline=[]))
    info = ds.get_data_info(0)
    res = LoadFaceImage()(dict(info))
    width = res['img'].shape[1]
    out = FaceRandomAugment().apply(dict(res, keypoints=res['keypoints'].copy()), 1.0, 0.0, True)
    perm = np.asarray(ds.metainfo['flip_indices'])
    np.testing.assert_allclose(out['keypoints'][:, 0], width - res['keypoints'][perm, 0])
    np.testing.assert_allclose(out['keypoints'][:, 1], res['keypoints'][perm, 1])
    with pytest.raises(Exception, match='FaceRandomAugment flip_pairs=.* disagrees with the dataset'):
        FaceRandomAugment(flip_pairs=[(0, 16)]).apply(dict(res), 1.0, 0.0, True)


def test_nme_through_the_runner_uses_norm_indices(trained):
    """Perfect predictions score exactly 0 through the runner's evaluator (``evaluate(size)``); a perturbed
    prediction scores the NME computed by hand with the metadata's norm_indices. Two faces share one image (more
    faces than images, as in WFLW's lists)."""
    from hrvision.engine.runner import build_runner, prepare_config
    ann = trained[0] / 'data' / 'annotations'
    lines = (ann / 'test.txt').read_text().splitlines()
    f = lines[0].split()
    second = [f'{float(v) + 3.0:.6f}' for v in f[:2 * 68]] + [str(int(v) + 3) for v in f[2 * 68:2 * 68 + 4]] + f[140:]
    (ann / 'test_two_faces.txt').write_text('\n'.join(lines + [' '.join(second)]) + '\n')
    cfg = Config.fromfile(trained[1])
    cfg.test_dataloader.dataset.ann_file = 'annotations/test_two_faces.txt'
    cfg.work_dir = str(trained[0] / 'eval')
    runner = build_runner(prepare_config(cfg))
    loop = runner.test_loop
    rng = np.random.default_rng(0)
    for perturb in (False, True):
        expect, n = [], 0
        for batch in loop.dataloader:
            samples = batch['data_samples']
            for ds in samples:
                gt = np.asarray(ds.metainfo['ori_keypoints'], np.float64)
                pred = gt + (rng.normal(0, 2.0, gt.shape) if perturb else 0.0)
                ds.pred_keypoints = torch.from_numpy(pred)
                d = np.linalg.norm(gt[NORM[0]] - gt[NORM[1]])
                expect.append(np.linalg.norm(pred - gt, axis=1).sum() / (68 * d))
            loop.evaluator.process(samples, batch)
            n += len(samples)
        res = loop.evaluator.evaluate(n)
        if perturb:
            assert res['face/NME'] == pytest.approx(float(np.mean(expect)), rel=1e-9)
        else:
            assert res['face/NME'] == 0.0
    assert n == len(loop.dataloader.dataset) == 6
    assert len({loop.dataloader.dataset.get_data_info(i)['img_path'] for i in range(n)}) == 5


def test_mirror_image_gives_mirrored_landmarks(trained):
    """Flip test in the Inferencer (metadata from the checkpoint): an image and its mirror give mirror-image
    landmarks under the custom, asymmetric 68-point pairs (``W + 1 - x`` in the official 1-based decode)."""
    from hrvision.inference import Inferencer
    _, cfg_path, ckpt, _ = trained
    inf = Inferencer(cfg_path, ckpt, device='cpu', batch_size=2)
    assert inf.model.test_cfg['flip_test'] is True
    with torch.no_grad():   # every landmark a positive maximum (the official decode zeroes the others, unmirrored)
        inf.model.head.head[-1].bias += 5.0
    perm = np.asarray(inf.model.dataset_meta['flip_indices'])
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (80, 90, 3), dtype=np.uint8)
    mirror = np.ascontiguousarray(img[:, ::-1])
    width, (cx, cy), side = 90, (40.3, 41.2), 32 / 1.25   # a box whose crop of the mirror is the mirrored crop
    box = [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]
    mbox = [width - box[2], box[1], width - box[0], box[3]]
    res = inf([img, mirror], boxes=[[box], [mbox]])
    k, km = res[0]['keypoints'][0], res[1]['keypoints'][0][perm]
    np.testing.assert_array_equal(km[:, 0], width + 1 - k[:, 0])
    np.testing.assert_array_equal(km[:, 1], k[:, 1])


def test_export_and_infer_end_to_end(trained, tmp_path, capsys):
    """``hrvision export`` to ONNX (the metadata goes into the file), ``hrvision infer`` in a subprocess with the
    checkpoint; the exported network through onnxruntime gives the same 68 landmarks (flip test from the metadata)."""
    pytest.importorskip('onnxruntime')
    from hrvision.cli import main
    from hrvision.inference import Inferencer
    root, cfg_path, ckpt, _ = trained
    onnx = tmp_path / 'face68.onnx'
    assert main(['export', cfg_path, ckpt, '--shape', '64', '64', '--out', str(onnx), '--format', 'onnx']) == 0
    img = sorted((root / 'data' / 'images' / 'test').glob('*.jpg'))[0]
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'infer', cfg_path, ckpt, str(img), '--out',
                        str(tmp_path / 'out'), '--show-dir', str(tmp_path / 'pics')], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=300, cwd=str(REPO))
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads((tmp_path / 'out' / 'landmarks.json').read_text())
    assert got[0]['order'] == '300w' and len(got[0]['faces'][0]['landmarks']) == 68
    assert any(p.stat().st_size > 100 for p in (tmp_path / 'pics').rglob('*.*'))
    ort = Inferencer(cfg_path, None, device='cpu', backend='onnxruntime', onnx=str(onnx))([str(img)])
    assert ort[0]['keypoints'].shape == (1, 68, 2)
    np.testing.assert_allclose(ort[0]['keypoints'][0], got[0]['faces'][0]['landmarks'], atol=1e-2)


# ---- refusals: one line, exit 2 ------------------------------------------------------------------------------

def _bad_cfg(trained, tmp_path, name, edit) -> str:
    cfg = Config.fromfile(trained[1])
    edit(cfg)
    path = str(tmp_path / f'{name}.py')
    cfg.dump(path)
    return path


def _refused_in_process(capsys, argv, text):
    from hrvision.cli import main
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and text in err[0], (code, err)


def test_bad_metadata_is_refused(trained, tmp_path, capsys):
    ckpt = trained[2]

    def pairs(cfg):
        cfg.test_dataloader.dataset.metainfo.flip_pairs = [(0, 68)]

    def norm(cfg):
        cfg.test_dataloader.dataset.metainfo.norm_indices = (36, 70)

    def head(cfg):
        cfg.model.head.num_landmarks = 98

    def count(cfg):
        cfg.test_dataloader.dataset.num_landmarks = 98

    _refused_in_process(capsys, ['test', _bad_cfg(trained, tmp_path, 'pairs', pairs), ckpt],
                        'metainfo.flip_pairs[0] = (0, 68) is outside 0..67')
    _refused_in_process(capsys, ['test', _bad_cfg(trained, tmp_path, 'norm', norm), ckpt],
                        'metainfo.norm_indices [36, 70] is outside 0..67')
    _refused_in_process(capsys, ['test', _bad_cfg(trained, tmp_path, 'count', count), ckpt],
                        'num_landmarks=98 but its metainfo has 68 keypoint_names')
    _refused_in_process(capsys, ['train', _bad_cfg(trained, tmp_path, 'head', head), '--work-dir',
                                 str(tmp_path / 'w')],
                        'model.head.num_landmarks=98 but the dataset (train_dataloader) has 68 keypoint_names')


def test_metadata_without_a_normaliser_is_refused(trained, tmp_path, capsys):
    meta = json.loads((trained[0] / 'data' / 'metainfo.json').read_text())
    meta.pop('norm_indices')
    (tmp_path / 'meta.json').write_text(json.dumps(meta))

    def no_norm(cfg):
        cfg.test_dataloader.dataset.metainfo = dict(from_file=str(tmp_path / 'meta.json'))
    _refused_in_process(capsys, ['test', _bad_cfg(trained, tmp_path, 'nonorm', no_norm), trained[2]],
                        'the dataset metainfo has no norm_indices')


def test_a_json_face_file_is_refused_naming_the_accepted_formats(trained, tmp_path, capsys):
    """A JSON file (through the CLI in a subprocess) and a CSV with the wrong column count for the metadata's 68
    landmarks: one line naming the file and the formats the reader accepts, exit 2."""
    root = trained[0] / 'data'
    (root / 'annotations' / 'test.json').write_text(json.dumps({'images': [], 'annotations': []}))
    (root / 'annotations' / 'short.csv').write_text('image_name,scale,center_w,center_h,x0,y0\n'
                                                    'test/test_00000.jpg,0.3,30,30,1,2\n')

    def ann(name):
        def edit(cfg):
            cfg.test_dataloader.dataset.ann_file = name
        return _bad_cfg(trained, tmp_path, name.replace('/', '_').replace('.', '_'), edit)
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'test', ann('annotations/test.json'), trained[2],
                        '--work-dir', str(tmp_path / 'w')], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=300, cwd=str(REPO))
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1, (r.returncode, r.stderr[-2000:])
    assert 'test.json: a .json file is not a face annotation format hrvision reads; accepted: a WFLW release ' \
           'list (.txt' in err[0] and 'or an HRNet CSV (.csv' in err[0]
    _refused_in_process(capsys, ['test', ann('annotations/short.csv'), trained[2], '--work-dir', str(tmp_path / 'w2')],
                        'short.csv, line 2: expected 140 comma-separated fields for 68 landmarks')
