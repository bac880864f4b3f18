"""300W, COFW and AFLW in the official face repo's formats (issue 23, face part).

Readers on files hrvision writes (``hrvision data synth-300w|synth-cofw|synth-aflw``) and on files made here by hand;
the presets' flip pairs and NME normalisers against the official ``MATCHED_PARTS`` / ``compute_nme``; NME through
the runner's ``evaluate(size)`` (perfect -> exactly 0, perturbed -> a hand numpy NME with each dataset's official
normaliser, per subset); each demo config trains a few iterations and tests through the runner; ``hrvision bench``
writes its table and CED; bad input per format through the CLI in a subprocess (one line naming the file, exit 2).
"""
import csv
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
import torch
from mmengine.config import Config

from hrvision.errors import HRVisionError
from tests.conftest import REPO
from tests.test_infer import TINY

NAMES = ('300w', 'cofw', 'aflw')
ITERS = 2
# the official flip pairs (HRNet-Facial-Landmark-Detection lib/utils/transforms.py MATCHED_PARTS, 1-based)
OFFICIAL_PAIRS = {
    '300w': ([1, 17], [2, 16], [3, 15], [4, 14], [5, 13], [6, 12], [7, 11], [8, 10], [18, 27], [19, 26], [20, 25],
             [21, 24], [22, 23], [32, 36], [33, 35], [37, 46], [38, 45], [39, 44], [40, 43], [41, 48], [42, 47],
             [49, 55], [50, 54], [51, 53], [62, 64], [61, 65], [68, 66], [59, 57], [60, 56]),
    'aflw': ([1, 6], [2, 5], [3, 4], [7, 12], [8, 11], [9, 10], [13, 15], [16, 18]),
    'cofw': ([1, 2], [5, 7], [3, 4], [6, 8], [9, 10], [11, 12], [13, 15], [17, 18], [14, 16], [19, 20], [23, 24]),
}
COUNTS = {'300w': 68, 'cofw': 29, 'aflw': 19}
DATASET = {'300w': 'Face300WDataset', 'cofw': 'FaceCOFWDataset', 'aflw': 'FaceAFLWDataset'}


def _cli(*args) -> int:
    from hrvision.cli import main
    return main([str(a) for a in args])


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """The three synthetic sets through the CLI (COFW also as a MATLAB v7.3 file when h5py is there)."""
    root = tmp_path_factory.mktemp('face_official')
    out = {}
    for name in NAMES:
        out[name] = root / name
        assert _cli('data', f'synth-{name}', out[name], '--n-train', 6, '--n-val', 6, '--size', 64, '--seed', 3) == 0
    try:
        import h5py  # noqa: F401
        out['cofw73'] = root / 'cofw73'
        assert _cli('data', 'synth-cofw', out['cofw73'], '--n-train', 6, '--n-val', 6, '--size', 64, '--seed', 3,
                    '--mat-version', '7.3') == 0
    except ImportError:
        pass
    return out


def _dataset(name: str, root, **kw):
    from hrvision.registry import DATASETS
    import hrvision.tasks.face  # noqa: F401
    return DATASETS.build(dict(type=DATASET[name], data_root=str(root), **kw))


def _read_csv(path) -> list[list[str]]:
    with open(path, newline='') as f:
        return list(csv.reader(f))[1:]


# ---- presets ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', NAMES)
def test_presets_have_the_official_flip_pairs_and_normalisers(name, data):
    ds = _dataset(name, data[name], subset='train')
    meta = ds.metainfo
    k = COUNTS[name]
    assert meta['num_keypoints'] == k == len(meta['keypoint_names'])
    perm = list(range(k))
    for a, b in OFFICIAL_PAIRS[name]:
        perm[a - 1], perm[b - 1] = b - 1, a - 1
    assert list(meta['flip_indices']) == perm
    assert ds.get_data_info(0)['flip_indices'] == perm
    norm = {'300w': (36, 45), 'cofw': (8, 9)}.get(name)
    if norm:
        assert tuple(meta['norm_indices']) == norm
    else:
        assert meta['norm'] == 'bbox' and meta.get('norm_indices') is None


# ---- 300W ------------------------------------------------------------------------------------------------------------

def test_300w_csv_subsets_and_the_release_pts_layout_agree(data, tmp_path):
    root = data['300w']
    full = _dataset('300w', root, subset='full')
    common = _dataset('300w', root, subset='common')
    hard = _dataset('300w', root, subset='challenging')
    assert (len(common), len(hard), len(full)) == (5, 1, 6)
    tags = [full.get_data_info(i)['subsets'] for i in range(len(full))]
    assert tags == [('full', 'common')] * 5 + [('full', 'challenging')]
    rows = _read_csv(root / 'face_landmarks_300w_valid_common.csv')
    info = common.get_data_info(2)
    np.testing.assert_array_equal(info['keypoints'], np.float32(rows[2][4:]).reshape(68, 2))
    assert info['scale'] == pytest.approx(float(rows[2][1]) * 1.25)   # x1.25 as the official loader
    assert info['img_path'] == os.path.join(str(root), 'images', rows[2][0]) and os.path.isfile(info['img_path'])
    assert len(_dataset('300w', root, subset='test')) == 3 and len(_dataset('300w', root, subset='train')) == 6

    # without valid.csv: full = the two part lists, tagged; a part face missing from valid.csv is refused
    parts = tmp_path / 'parts'
    parts.mkdir()
    for s in ('train', 'valid_common', 'valid_challenge', 'valid'):
        shutil.copy(root / f'face_landmarks_300w_{s}.csv', parts / f'face_landmarks_300w_{s}.csv')
    valid = (parts / 'face_landmarks_300w_valid.csv').read_text().splitlines()
    (parts / 'face_landmarks_300w_valid.csv').write_text('\n'.join(valid[:2] + valid[3:]) + '\n')
    with pytest.raises(HRVisionError, match=r'face_landmarks_300w_valid_common\.csv: subset entry 2 .*is not in the '
                                            r'full test list'):
        _dataset('300w', parts, subset='full', check_images=False)
    (parts / 'face_landmarks_300w_valid.csv').unlink()
    no_valid = _dataset('300w', parts, subset='full', check_images=False)
    assert [no_valid.get_data_info(i)['subsets'] for i in range(len(no_valid))] == tags
    # an explicit ann_file is read as it is: its faces are not tagged common / challenging
    given = _dataset('300w', root, subset='full', ann_file=str(root / 'face_landmarks_300w_valid.csv'))
    assert [given.get_data_info(i)['subsets'] for i in range(len(given))] == [('full',)] * 6

    # the 300W release: .pts beside the images, no CSVs -> the same faces, crop boxes and tags
    shutil.copytree(root / 'images', tmp_path / 'images')
    for subset, csv_ds in (('full', full), ('test', None), ('train', None)):
        pts_ds = _dataset('300w', tmp_path, subset=subset)
        csv_ds = csv_ds or _dataset('300w', root, subset=subset)
        by_name = {csv_ds.get_data_info(i)['img_id']: csv_ds.get_data_info(i) for i in range(len(csv_ds))}
        assert len(pts_ds) == len(csv_ds)
        for i in range(len(pts_ds)):
            a = pts_ds.get_data_info(i)
            b = by_name[a['img_id']]
            np.testing.assert_array_equal(a['keypoints'], b['keypoints'])
            np.testing.assert_allclose(a['center'], b['center'], atol=1e-5)
            assert a['scale'] == pytest.approx(b['scale'], abs=1e-6) and a['subsets'] == b['subsets']


def test_300w_pts_reader_on_a_hand_made_file(tmp_path):
    from hrvision.tasks.face.official_datasets import read_pts
    pts = np.arange(136, dtype=np.float64).reshape(68, 2) * 1.5 + 0.25
    body = ''.join(f'{x} {y}\n' for x, y in pts)
    (tmp_path / 'a.pts').write_text(f'version: 1\nn_points:  68\n{{\n{body}}}\n')
    np.testing.assert_array_equal(read_pts(str(tmp_path / 'a.pts')), pts.astype(np.float32))
    (tmp_path / 'crlf.pts').write_bytes(f'version: 1\r\nn_points: 68\r\n{{\r\n{body}}}'.replace('\n', '\r\n').encode())
    np.testing.assert_array_equal(read_pts(str(tmp_path / 'crlf.pts')), pts.astype(np.float32))
    bad = {'67.pts': (f'version: 1\nn_points: 67\n{{\n{"".join(body.splitlines(True)[:67])}}}\n',
                      '67 points, expected 68'),
           'count.pts': (f'version: 1\nn_points: 60\n{{\n{body}}}\n', 'n_points says 60 but the block holds 68'),
           'open.pts': (f'version: 1\nn_points: 68\n{{\n{body}', 'no "{ ... }" block of points'),
           'nan.pts': (f'version: 1\nn_points: 68\n{{\n{body.replace("0.25 1.75", "0.25 x")}}}\n',
                       'point 1: x and y must be numbers')}
    for fname, (text, msg) in bad.items():
        (tmp_path / fname).write_text(text)
        with pytest.raises(HRVisionError) as e:
            read_pts(str(tmp_path / fname))
        assert str(e.value).startswith(str(tmp_path / fname)) and msg in str(e.value), str(e.value)


# ---- COFW ------------------------------------------------------------------------------------------------------------

def _official_cofw_box(pts):
    """The official COFW loader's crop box, written out here (floor / ceil of the landmarks' box, x1.25)."""
    import math
    x0, x1 = math.floor(pts[:, 0].min()), math.ceil(pts[:, 0].max())
    y0, y1 = math.floor(pts[:, 1].min()), math.ceil(pts[:, 1].max())
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2]), max(x1 - x0, y1 - y0) / 200 * 1.25


def test_cofw_mat_v5_v73_and_csv(data):
    root = data['cofw']
    mat = scipy.io.loadmat(str(root / 'COFW_test_color.mat'))
    ds = _dataset('cofw', root, subset='test')
    assert len(ds) == len(mat['phisT']) == 6 and mat['phisT'].shape == (6, 87) and mat['IsT'].shape == (6, 1)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        pts = mat['phisT'][i, :58].reshape(2, 29).T
        np.testing.assert_array_equal(info['keypoints'], pts.astype(np.float32))
        np.testing.assert_array_equal(info['occluded'], mat['phisT'][i, 58:].astype(int))
        center, scale = _official_cofw_box(pts)
        np.testing.assert_allclose(info['center'], center)
        assert info['scale'] == pytest.approx(scale)
        img = mat['IsT'][i, 0]
        want = np.repeat(img[..., None], 3, 2) if img.ndim == 2 else img   # grey images -> 3 channels
        np.testing.assert_array_equal(info['img'], want)
        assert not os.path.exists(info['img_path']) and 'img_file' not in info
    assert mat['IsT'][4, 0].ndim == 2   # the writer's grey image
    piped = _dataset('cofw', root, subset='test', pipeline=[   # the in-memory image through the test pipeline
        dict(type='LoadFaceImage'), dict(type='FaceCrop', input_size=(64, 64)), dict(type='PackFaceInputs')])
    sample = piped[4]
    assert tuple(sample['inputs'].shape) == (3, 64, 64) and sample['data_samples'].metainfo['ori_shape'] == \
        mat['IsT'][4, 0].shape
    csv_ds = _dataset('cofw', root, subset='test', ann_file='face_landmarks_cofw_test.csv')
    for i in range(len(ds)):
        np.testing.assert_allclose(csv_ds.get_data_info(i)['keypoints'], ds.get_data_info(i)['keypoints'], atol=1e-3)
        assert os.path.isfile(csv_ds.get_data_info(i)['img_file'])


def test_cofw_mat_v73_reads_as_the_v5_file(data):
    """The same faces written as MATLAB v7.3 (HDF5, h5py) read back identical to the v5 file."""
    if 'cofw73' not in data:
        pytest.skip('h5py not installed: the v7.3 (HDF5) reading is not exercised')
    from hrvision.data.matfile import is_mat73
    root = data['cofw']
    ds = _dataset('cofw', root, subset='test')
    path73 = data['cofw73'] / 'COFW_test_color.mat'
    assert is_mat73(str(path73)) and not is_mat73(str(root / 'COFW_test_color.mat'))
    with pytest.raises(NotImplementedError):   # scipy.io cannot read it (the official loader uses hdf5storage)
        scipy.io.loadmat(str(path73))
    ds73 = _dataset('cofw', data['cofw73'], subset='test')
    for i in range(len(ds)):
        a, b = ds.get_data_info(i), ds73.get_data_info(i)
        for key in ('img', 'keypoints', 'occluded', 'center', 'rect'):
            np.testing.assert_array_equal(a[key], b[key])


def test_cofw_hand_made_mat(tmp_path):
    """A .mat written here with scipy: 2 faces (one grey), values checked against the file's own numbers."""
    from hrvision.tasks.face.official_datasets import read_cofw_mat
    rng = np.random.default_rng(0)
    imgs = np.empty((2, 1), dtype=object)
    imgs[0, 0] = rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)
    imgs[1, 0] = rng.integers(0, 255, (30, 20), dtype=np.uint8)
    phis = np.concatenate([rng.uniform(5, 18, (2, 58)), (rng.random((2, 29)) < 0.3)], 1)
    boxes = np.array([[1, 2, 30, 20], [3, 4, 10, 12]], np.float64)
    path = str(tmp_path / 'COFW_train_color.mat')
    scipy.io.savemat(path, dict(IsTr=imgs, phisTr=phis, bboxesTr=boxes))
    rows = read_cofw_mat(path, 'train')
    assert len(rows) == 2 and rows[1]['img'].shape == (30, 20, 3)
    np.testing.assert_array_equal(rows[1]['img'][..., 2], imgs[1, 0])
    np.testing.assert_array_equal(rows[0]['keypoints'][:, 0], phis[0, :29].astype(np.float32))
    np.testing.assert_array_equal(rows[0]['keypoints'][:, 1], phis[0, 29:58].astype(np.float32))
    np.testing.assert_array_equal(rows[1]['rect'], [3, 4, 13, 16])
    c, s = _official_cofw_box(phis[1, :58].reshape(2, 29).T)
    np.testing.assert_allclose(rows[1]['center'], c)
    assert rows[1]['scale'] == pytest.approx(s)
    with pytest.raises(HRVisionError, match=r'COFW_train_color\.mat: no variable IsT \(the images.*found: IsTr, '
                                            r'bboxesTr, phisTr'):
        read_cofw_mat(path, 'test')
    scipy.io.savemat(path, dict(IsTr=imgs, phisTr=phis[:, :50]))
    with pytest.raises(HRVisionError, match=r'phisTr has shape \(2, 50\), expected \(faces, 87\)'):
        read_cofw_mat(path, 'train')
    imgs[1, 0] = imgs[1, 0].astype(np.float64)   # a double copy of 8-bit pixels: read as such
    scipy.io.savemat(path, dict(IsTr=imgs, phisTr=phis))
    np.testing.assert_array_equal(read_cofw_mat(path, 'train')[1]['img'][..., 0], imgs[1, 0].astype(np.uint8))
    imgs[1, 0] = imgs[1, 0] / 255.0   # 0..1 floats: refused, not clipped to black
    scipy.io.savemat(path, dict(IsTr=imgs, phisTr=phis))
    with pytest.raises(HRVisionError, match=r'IsTr entry 2 is float64, not 8-bit pixel values \(integers 0..255; min 0.0078\d*, max 0.996'):
        read_cofw_mat(path, 'train')


def test_cofw_v73_without_h5py_is_one_line(data, monkeypatch):
    from hrvision.tasks.face.official_datasets import read_cofw_mat
    path = tmp = data.get('cofw73')
    if path is None:   # no h5py here: a v7.3-style header is enough to reach the refusal
        tmp = data['cofw'].parent / 'fake73'
        tmp.mkdir(exist_ok=True)
        (tmp / 'COFW_test_color.mat').write_bytes(b'MATLAB 7.3 MAT-file'.ljust(512, b' ') + b'\x89HDF\r\n\x1a\n')
    monkeypatch.setitem(sys.modules, 'h5py', None)   # import h5py -> ImportError
    with pytest.raises(HRVisionError, match=r'COFW_test_color\.mat: a MATLAB v7\.3 \(HDF5\) file, which needs h5py '
                                            r'\(pip install h5py\)') as e:
        read_cofw_mat(str(tmp / 'COFW_test_color.mat'), 'test')
    assert '\n' not in str(e.value)


# ---- AFLW ------------------------------------------------------------------------------------------------------------

def test_aflw_box_size_and_the_frontal_subset(data, tmp_path):
    root = data['aflw']
    full = _dataset('aflw', root, subset='full')
    rows = _read_csv(root / 'face_landmarks_aflw_test.csv')
    frontal_rows = _read_csv(root / 'face_landmarks_aflw_test_frontal.csv')
    assert len(full) == len(rows) == 6 and 0 < len(frontal_rows) < 6
    frontal_names = {r[0] for r in frontal_rows}
    for i, r in enumerate(rows):
        info = full.get_data_info(i)
        assert info['box_size'] == float(r[2]) and info['scale'] == pytest.approx(float(r[1]) * 1.25)
        np.testing.assert_array_equal(info['center'], np.float32(r[3:5]))
        np.testing.assert_array_equal(info['keypoints'], np.float32(r[5:]).reshape(19, 2))
        assert info['subsets'] == (('full', 'frontal') if r[0] in frontal_names else ('full',))
    frontal = _dataset('aflw', root, subset='frontal')
    assert len(frontal) == len(frontal_rows) and all(
        frontal.get_data_info(i)['subsets'] == ('frontal',) for i in range(len(frontal)))

    # hand-made: two faces on one image, the box_size column read as written
    pts = np.arange(38, dtype=np.float64).reshape(19, 2) + 10
    head = 'image_name,scale,box_size,center_w,center_h,' + ','.join(f'p{i}' for i in range(38)) + '\n'
    line = lambda bs, off: ','.join(['test/test_00000.jpg', '0.3', str(bs), '30', '31'] + [str(v) for v in (
        pts + off).ravel()]) + '\n'  # noqa: E731
    (tmp_path / 'two.csv').write_text(head + line(41.5, 0) + line(12.25, 2))
    two = _dataset('aflw', root, subset='full', ann_file=str(tmp_path / 'two.csv'))
    assert [two.get_data_info(i)['box_size'] for i in range(2)] == [41.5, 12.25]
    # an explicit ann_file is read as it is: no frontal tags, even for the official test CSV itself
    given = _dataset('aflw', root, subset='full', ann_file=str(root / 'face_landmarks_aflw_test.csv'))
    assert [given.get_data_info(i)['subsets'] for i in range(len(given))] == [('full',)] * len(rows)
    np.testing.assert_array_equal(two.get_data_info(1)['keypoints'], (pts + 2).astype(np.float32))


def test_reader_refusals_in_process(data, tmp_path):
    from hrvision.tasks.face.official_datasets import read_aflw_csv
    root = data['aflw']
    text = (root / 'face_landmarks_aflw_test.csv').read_text().splitlines()
    no_box = [text[0].replace('box_size,', '')] + [','.join(r[:2] + r[3:]) for r in csv.reader(text[1:])]
    (tmp_path / 'nobox.csv').write_text('\n'.join(no_box) + '\n')
    with pytest.raises(HRVisionError, match=r'nobox\.csv: no box_size column; an AFLW CSV has the header'):
        read_aflw_csv(str(tmp_path / 'nobox.csv'))
    zero = [text[0]] + [','.join(r[:2] + ['0'] + r[3:]) for r in csv.reader(text[1:2])]
    (tmp_path / 'zero.csv').write_text('\n'.join(zero) + '\n')
    with pytest.raises(HRVisionError, match=r'zero\.csv, row 1: box_size must be > 0'):
        read_aflw_csv(str(tmp_path / 'zero.csv'))
    # a frontal face that is not in the full test list
    other = tmp_path / 'aflw'
    shutil.copytree(root, other)
    lines = (other / 'face_landmarks_aflw_test_frontal.csv').read_text().splitlines()
    lines[1] = lines[1].replace('test/', 'test/x', 1)
    (other / 'face_landmarks_aflw_test_frontal.csv').write_text('\n'.join(lines) + '\n')
    with pytest.raises(HRVisionError, match=r'face_landmarks_aflw_test_frontal\.csv: subset entry 1 .*is not in the '
                                            r'full test list'):
        _dataset('aflw', other, subset='full')
    with pytest.raises(HRVisionError, match=r"Face300WDataset subset='val'; expected one of"):
        _dataset('300w', data['300w'], subset='val')


# ---- through the runner ----------------------------------------------------------------------------------------------

def _cfg(name: str, root, work_dir) -> Config:
    """The shipped demo config at the tiny width, 64x64 crops, batch 4, ITERS iterations."""
    cfg = Config.fromfile(str(REPO / 'configs' / 'face' / f'demo_synthetic_{name}.py'))
    codec = dict(type='FaceHeatmapCodec', input_size=(64, 64), heatmap_size=(16, 16), sigma=1.5)
    cfg.model.backbone.extra = TINY
    cfg.model.codec = codec
    train = [dict(type='LoadFaceImage'),
             dict(type='FaceRandomAugment', scale_factor=0.1, rot_factor=10, rot_prob=0.5, flip_prob=0.5),
             dict(type='FaceCrop', input_size=(64, 64)), dict(type='FaceHeatmapTargets', codec=codec),
             dict(type='PackFaceInputs')]
    test = [dict(type='LoadFaceImage'), dict(type='FaceCrop', input_size=(64, 64)), dict(type='PackFaceInputs')]
    for key, pipe in (('train_dataloader', train), ('val_dataloader', test), ('test_dataloader', test)):
        cfg[key].dataset.update(data_root=str(root), pipeline=pipe)
        cfg[key].batch_size = 4
    cfg.train_cfg.update(max_iters=ITERS, val_interval=ITERS)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.interval = ITERS
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    return cfg


@pytest.fixture(scope='module')
def trained(data, tmp_path_factory):
    """Each demo config: ITERS training iterations and the runner's test -> (cfg path, checkpoint, test metrics)."""
    from hrvision.engine.runner import build_runner, prepare_config
    out = {}
    for name in NAMES:
        work = tmp_path_factory.mktemp(f'work_{name}')
        cfg = prepare_config(_cfg(name, data[name], work))
        runner = build_runner(cfg)
        runner.train()
        metrics = runner.test()
        path = str(work / 'cfg.py')
        cfg.dump(path)
        out[name] = (path, str(work / f'iter_{ITERS}.pth'), metrics)
    return out


@pytest.mark.parametrize('name', NAMES)
def test_demo_config_trains_and_tests_with_the_official_subsets(name, trained):
    _, ckpt, metrics = trained[name]
    assert os.path.isfile(ckpt)
    subsets = {'300w': ('full', 'common', 'challenging'), 'cofw': ('test',), 'aflw': ('full', 'frontal')}[name]
    for s in subsets:
        for key in ('NME', 'FR@0.08', 'FR@0.10', 'AUC@0.08', 'AUC@0.10'):
            assert np.isfinite(metrics[f'face/{key}_{s}']), (s, key)
    assert metrics[f'face/NME_{subsets[0]}'] == metrics['face/NME'] > 0
    meta = torch.load(ckpt, map_location='cpu', weights_only=False)['meta']['dataset_meta']
    assert meta['num_keypoints'] == COUNTS[name]


def _hand_nme(name: str, gt: np.ndarray, pred: np.ndarray, box_size) -> float:
    """The official compute_nme, written out: 300W ||gt[36]-gt[45]||, COFW ||gt[8]-gt[9]||, AFLW box_size."""
    d = {'300w': lambda: np.linalg.norm(gt[36] - gt[45]), 'cofw': lambda: np.linalg.norm(gt[8] - gt[9]),
         'aflw': lambda: float(box_size)}[name]()
    return float(np.linalg.norm(pred - gt, axis=1).sum() / (d * len(gt)))


def _file_truth(name: str, root, ann) -> list[tuple[np.ndarray, float | None]]:
    """(landmarks, box_size) per face straight from the annotation files (not through the reader); the landmarks
    in float32 as the official loaders keep them (``meta['pts'] = torch.Tensor(pts)``)."""
    if name == 'cofw':
        phis = scipy.io.loadmat(str(root / 'COFW_test_color.mat'))['phisT']
        return [(np.float32(p[:58].reshape(2, 29).T).astype(np.float64), None) for p in phis]
    lead = 5 if name == 'aflw' else 4
    return [(np.float32(r[lead:]).astype(np.float64).reshape(-1, 2), float(r[2]) if name == 'aflw' else None)
            for path in ann for r in _read_csv(path)]


@pytest.mark.parametrize('name', NAMES)
def test_nme_through_the_runner_per_normalisation(name, data, trained, tmp_path):
    """Perfect predictions -> NME exactly 0 (every subset too); a perturbed prediction -> the hand NME with the
    dataset's official normaliser, overall and per subset. 300W and AFLW: a second face on an image (more faces
    than images)."""
    from hrvision.engine.runner import build_runner, prepare_config
    root = tmp_path / 'data'   # a copy: the second faces stay out of the other tests' data
    shutil.copytree(data[name], root)
    cfg = Config.fromfile(trained[name][0])
    cfg.test_dataloader.dataset.data_root = str(root)
    if name == '300w':   # full = valid.csv; a second face on the first image, listed in valid and valid_common
        r = (root / 'face_landmarks_300w_valid_common.csv').read_text().splitlines()[1].split(',')
        extra = ','.join(r[:4] + [f'{float(v) + 2.5:.3f}' for v in r[4:]]) + '\n'
        for f in ('face_landmarks_300w_valid.csv', 'face_landmarks_300w_valid_common.csv'):
            (root / f).write_text((root / f).read_text() + extra)
        ann = [root / 'face_landmarks_300w_valid.csv']
    elif name == 'aflw':
        lines = (root / 'face_landmarks_aflw_test.csv').read_text().splitlines()
        r = lines[1].split(',')
        lines.append(','.join(r[:2] + ['17.5'] + r[3:5] + [f'{float(v) - 1.5:.3f}' for v in r[5:]]))
        (root / 'face_landmarks_aflw_test.csv').write_text('\n'.join(lines) + '\n')
        ann = [root / 'face_landmarks_aflw_test.csv']
    else:
        ann = None
    truth = _file_truth(name, root, ann)
    cfg.work_dir = str(tmp_path / 'eval')
    runner = build_runner(prepare_config(cfg))
    loop = runner.test_loop
    dataset = loop.dataloader.dataset
    rng = np.random.default_rng(1)
    for perturb in (False, True):
        expect, tags, n = [], [], 0
        for batch in loop.dataloader:
            samples = batch['data_samples']
            for ds in samples:
                gt, box = truth[ds.metainfo['sample_idx']]
                pred = gt + (rng.normal(0, 1.5, gt.shape) if perturb else 0.0)
                ds.pred_keypoints = torch.from_numpy(pred)
                expect.append(_hand_nme(name, gt, pred, box))
                tags.append(ds.metainfo['subsets'])
            loop.evaluator.process(samples, batch)
            n += len(samples)
        res = loop.evaluator.evaluate(n)
        groups = {s: [e for e, t in zip(expect, tags) if s in t] for t in tags for s in t}
        if not perturb:
            assert res['face/NME'] == 0.0 and all(res[f'face/NME_{s}'] == 0.0 for s in groups)
            assert res['face/FR@0.10'] == 0.0 and res['face/AUC@0.10'] == 1.0
        else:
            assert res['face/NME'] == pytest.approx(float(np.mean(expect)), rel=1e-9)
            for s, e in groups.items():
                assert res[f'face/NME_{s}'] == pytest.approx(float(np.mean(e)), rel=1e-9), s
                assert res[f'face/FR@0.10_{s}'] == pytest.approx(float(np.mean(np.asarray(e) > 0.1)))
    assert n == len(dataset) == len(truth)
    if name == '300w':
        assert set(groups) == {'full', 'common', 'challenging'} and len(groups['common']) == 6
    if name == 'aflw':
        assert set(groups) == {'full', 'frontal'}
    if name != 'cofw':
        assert len({dataset.get_data_info(i)['img_path'] for i in range(n)}) == n - 1


def test_metric_writes_a_ced_per_subset(tmp_path):
    from hrvision.tasks.face.metric import FaceNMEMetric
    metric = FaceNMEMetric(out_dir=str(tmp_path))
    metric.on_dataset_meta(dict(norm='bbox', keypoint_names=[f'p{i}' for i in range(19)]))
    gt = np.zeros((19, 2))
    for i, (err, subsets) in enumerate(((0.5, ('full', 'frontal')), (2.0, ('full',)), (1.0, ('full', 'frontal')))):
        metric.process({}, [dict(pred_keypoints=gt + [err, 0], ori_keypoints=gt, box_size=10.0, img_id=str(i),
                                 subsets=subsets)])
    res = metric.compute_metrics(metric.results)
    assert res['NME_full'] == pytest.approx((0.05 + 0.2 + 0.1) / 3) and res['NME_frontal'] == pytest.approx(0.075)
    assert res['FR@0.10_full'] == pytest.approx(1 / 3) and res['AUC@0.10_frontal'] == pytest.approx(0.25)
    assert os.path.getsize(tmp_path / 'ced.png') > 1000


@pytest.mark.parametrize('name', NAMES)
def test_bench_prints_the_official_lines_and_writes_a_ced(name, data, trained, tmp_path, capsys):
    from hrvision.tasks.face.official_bench import run_official_bench
    cfg, ckpt, metrics = trained[name]
    res = run_official_bench(name, cfg, ckpt, str(data[name]), str(tmp_path), device='cpu')
    lines = capsys.readouterr().out.strip().splitlines()
    first = {'300w': 'full', 'cofw': 'test', 'aflw': 'full'}[name]
    assert lines[0].startswith(f'Test Results {first}') and ' nme:' in lines[0] and ' [008]:' in lines[0]
    assert res['metrics'][first]['NME'] == pytest.approx(metrics['face/NME'], rel=1e-6)
    assert res['published_nme_percent'][first] == {'300w': 3.34, 'cofw': 3.45, 'aflw': 1.57}[name]
    for f in res['files'].values():
        assert os.path.getsize(f) > 100


# ---- the CLI ---------------------------------------------------------------------------------------------------------

def test_bad_input_per_format_through_the_cli(data, trained, tmp_path, capsys):
    """``hrvision test``: a .pts with 67 points (300W release layout; in a subprocess), a COFW .mat without the test
    images and an AFLW CSV without box_size (the CLI's ``main`` in this process): one line naming the file, exit 2,
    no traceback."""
    from hrvision.cli import main
    rel = tmp_path / '300w'
    shutil.copytree(data['300w'] / 'images', rel / 'images')   # no CSVs: the release .pts files are read
    bad_pts = sorted((rel / 'images' / 'ibug').glob('*.pts'))[0]
    lines = bad_pts.read_text().splitlines()
    bad_pts.write_text('\n'.join([lines[0], 'n_points: 67', '{'] + lines[3:-2] + ['}']) + '\n')
    cofw = tmp_path / 'cofw'
    cofw.mkdir()
    mat = scipy.io.loadmat(str(data['cofw'] / 'COFW_test_color.mat'))
    scipy.io.savemat(str(cofw / 'COFW_test_color.mat'), dict(phisT=mat['phisT'], bboxesT=mat['bboxesT']))
    aflw = tmp_path / 'aflw'
    shutil.copytree(data['aflw'], aflw)
    text = (aflw / 'face_landmarks_aflw_test.csv').read_text().splitlines()
    rows = [text[0].replace('box_size,', '')] + [','.join(r[:2] + r[3:]) for r in csv.reader(text[1:])]
    (aflw / 'face_landmarks_aflw_test.csv').write_text('\n'.join(rows) + '\n')

    def argv(name, root):
        cfg, ckpt, _ = trained[name]
        return ['test', cfg, ckpt, '--work-dir', str(tmp_path / f'w_{name}'), '--data-root', str(root)]
    r = subprocess.run([sys.executable, '-m', 'hrvision'] + argv('300w', rel), capture_output=True, text=True,
                       cwd=str(REPO), env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=300)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1, (r.returncode, r.stderr[-3000:])
    assert f'{bad_pts}: 67 points, expected 68 (the 300W layout)' in err[0] and 'Traceback' not in r.stderr
    for name, root, want in (
            ('cofw', cofw, f'{cofw / "COFW_test_color.mat"}: no variable IsT (the images, a cell array) for the test '
                           f'split; found: bboxesT, phisT'),
            ('aflw', aflw, f'{aflw / "face_landmarks_aflw_test.csv"}: no box_size column')):
        capsys.readouterr()
        code = main(argv(name, root))
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and want in err[0], (name, code, err)


# ---- the official recipes --------------------------------------------------------------------------------------------

@pytest.mark.parametrize('name, sigma, lr, faces, nme', [('300w', 1.0, 1e-4, 3148, '3.34'),
                                                          ('cofw', 1.5, 1e-4, 1345, '3.45'),
                                                          ('aflw', 1.5, 2e-4, 20000, '1.57')])
def test_w18_configs_are_the_official_recipes(name, sigma, lr, faces, nme, data):
    """experiments/<name>/face_alignment_<name>_hrnet_w18.yaml: sigma, Adam lr, 60 epochs with steps at 30 / 50 of
    batch 16 over the training faces (epoch-based: the last partial batch kept), no flip test; the published NME
    and its source named in the file; the training targets encode with the model's codec (its sigma)."""
    from hrvision.engine.runner import prepare_config
    from hrvision.registry import DATASETS, MODELS
    path = REPO / 'configs' / 'face' / f'hrnetv2_w18_{name}.py'
    text = path.read_text()
    assert f'face_alignment_{name}_hrnet_w18.yaml' in text and nme in text and 'official README' in text
    assert f'{faces:,} training faces / 16 = {-(-faces // 16):,} iterations' in text
    cfg = prepare_config(str(path), data_root=str(data[name]))
    codec = cfg.model.codec
    assert codec.sigma == sigma and codec.input_size == (256, 256) and codec.heatmap_size == (64, 64)
    assert cfg.optim_wrapper.optimizer.type == 'Adam' and cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.0 and cfg.train_dataloader.batch_size == 16
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop' and cfg.train_cfg.max_epochs == 60
    assert cfg.train_dataloader.sampler.type == 'DefaultSampler' and not cfg.train_dataloader.get('drop_last')
    assert cfg.param_scheduler[0].by_epoch and cfg.param_scheduler[0].milestones == [30, 50]
    assert cfg.model.test_cfg.flip_test is False and cfg.test_dataloader.batch_size == 8
    crop = next(t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'FaceCrop')
    assert crop.input_size == (256, 256) and crop.bytescale
    train_set = DATASETS.build(cfg.train_dataloader.dataset)   # the targets the runner's training reads
    targets = next(t for t in train_set.pipeline.transforms if type(t).__name__ == 'FaceHeatmapTargets')
    assert (targets.codec.sigma, targets.codec.heatmap_size, targets.codec.input_size) == (sigma, (64, 64),
                                                                                          (256, 256))
    aug = next(t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'FaceRandomAugment')
    assert (aug.scale_factor, aug.rot_factor, aug.rot_prob, aug.flip_prob) == (0.25, 30, 0.6, 0.5)
    assert cfg.train_dataloader.dataset.type == cfg.test_dataloader.dataset.type == DATASET[name]
    ds = DATASETS.build(dict(cfg.test_dataloader.dataset, data_root=str(data[name]), pipeline=[]))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert all(m.momentum == 0.01 for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    model.check_dataset_meta(ds.metainfo, 'test_dataloader')   # the head's landmark count agrees with the preset
    assert model.num_landmarks == COUNTS[name] and [m for m in model.modules() if isinstance(
        m, torch.nn.Conv2d)][-1].out_channels == COUNTS[name]


def test_official_300w_recipe_trains_by_epochs_and_resumes(data, tmp_path):
    """The shipped 300W recipe (the WFLW file's model and schedule, 300W data, sigma 1.0) through the runner at a tiny
    width: one epoch (6 faces, batch 16: one iteration, the partial batch kept), validation and ``epoch_1.pth``,
    then ``resume`` continues to epoch 2 with the epoch schedule's state."""
    from hrvision.engine.runner import build_runner, prepare_config
    path = REPO / 'configs' / 'face' / 'hrnetv2_w18_300w.py'
    opts = {'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1, 'default_hooks.checkpoint.interval': 1,
            'default_hooks.logger.interval': 1}
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts.update({f'{key}.num_workers': 0, f'{key}.persistent_workers': False})

    def runner(resume: bool, epochs: int):
        cfg = prepare_config(str(path), work_dir=str(tmp_path), data_root=str(data['300w']), resume=resume,
                             cfg_options=dict(opts, **{'train_cfg.max_epochs': epochs}))
        cfg.model.backbone = dict(type='HRNet', extra=TINY, preset='face')
        return build_runner(cfg)
    first = runner(False, 1)
    first.train()
    assert first.train_loop.iter == 1 and first.train_loop.epoch == 1   # ceil(6 / 16): the partial batch kept
    assert (tmp_path / 'epoch_1.pth').is_file() and 'val/face/NME' in first.message_hub.log_scalars
    assert (tmp_path / 'best_face_NME_epoch_1.pth').is_file()   # save_best by epoch
    targets = next(t for t in first.train_dataloader.dataset.pipeline.transforms
                   if type(t).__name__ == 'FaceHeatmapTargets')
    assert targets.codec.sigma == 1.0 and first.model.codec.sigma == 1.0   # the 300W sigma reaches the targets
    second = runner(True, 2)
    second.train()
    assert second.train_loop.epoch == 2 and second.train_loop.iter == 2 and (tmp_path / 'epoch_2.pth').is_file()


def test_targets_codec_other_than_the_models_is_refused_by_the_cli(tmp_path):
    """A config whose training targets state another codec than ``model.codec`` (the heatmaps would be drawn at one
    size and read at another): ``hrvision train`` says so in one line naming the field, exit 2, no traceback, no
    work dir. (The same codec stated twice is accepted: ``_cfg`` above states it in both places.)"""
    cfg = tmp_path / 'bad.py'
    cfg.write_text(
        f"_base_ = [{str(REPO / 'configs' / 'face' / 'demo_synthetic_wflw.py')!r}]\n"
        "train_pipeline = [dict(type='LoadFaceImage'), dict(type='FaceCrop', input_size=(96, 96)),\n"
        "                  dict(type='FaceHeatmapTargets', codec=dict(input_size=(96, 96), heatmap_size=(48, 48))),\n"
        "                  dict(type='PackFaceInputs')]\n"
        "train_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n")
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'train', str(cfg), '--work-dir', str(tmp_path / 'w')],
                       capture_output=True, text=True, cwd=str(REPO), env=dict(os.environ, OMP_NUM_THREADS='1'),
                       timeout=300)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1, (r.returncode, r.stderr[-2000:])
    assert err[0].startswith('hrvision: error: train_dataloader.dataset.pipeline.2.codec encodes ') and \
        'heatmap_size=(48, 48)' in err[0] and 'model.codec decodes' in err[0] and 'heatmap_size=(24, 24)' in err[0]
    assert 'Traceback' not in r.stderr and not (tmp_path / 'w').exists()
