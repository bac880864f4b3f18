"""WFLW readers, synthetic WFLW and bad input (errors naming file and line / path)."""
import os
import os.path as osp

import numpy as np
import pytest

from hrvision.tasks.face import SUBSETS, WFLW_FLIP_PAIRS, WFLWDataset
from hrvision.tasks.face.dataset import LIST_DIR, SUBSET_DIR, center_scale_from_box, read_hrnet_csv
from hrvision.tasks.face.synth import template
from hrvision.tasks.face import synth as face_synth


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('wflw'))
    counts = face_synth.write_synthetic(root, n_train=4, n_val=8, seed=3, size=(80, 80), write_csv=True)
    return root, counts


def _lines(path):
    with open(path) as f:
        return [ln for ln in f if ln.strip()]


def test_synth_layout_and_subsets(synth):
    root, counts = synth
    for split, n in (('train', 4), ('test', 8)):
        lines = _lines(osp.join(root, LIST_DIR, f'list_98pt_rect_attr_{split}.txt'))
        assert len(lines) == n and all(len(ln.split()) == 207 for ln in lines)
        for ln in lines:
            assert osp.isfile(osp.join(root, 'WFLW_images', ln.split()[-1]))
    test = _lines(osp.join(root, LIST_DIR, 'list_98pt_rect_attr_test.txt'))
    for j, name in enumerate(SUBSETS):
        sub = _lines(osp.join(root, SUBSET_DIR, f'list_98pt_test_{name}.txt'))
        flagged = [ln for ln in test if ln.split()[196 + 4 + j] == '1']
        assert sub == flagged and len(sub) >= 1 and counts[f'test_{name}'] == len(sub)


def test_template_is_mirror_consistent():
    """The 98 points follow the WFLW order: mirroring the frontal template with the official flip
    pairs gives the template back (so pairs, eye corners 60/72 etc. mean what they should)."""
    t = template()
    m = t.copy()
    m[:, 0] = -m[:, 0]
    for a, b in WFLW_FLIP_PAIRS:
        m[[a, b]] = m[[b, a]]
    np.testing.assert_allclose(m, t, atol=1e-9)
    assert t[60, 0] < t[64, 0] < t[68, 0] < t[72, 0]  # outer-left, inner-left, inner-right, outer-right


def test_dataset_center_scale_conventions(synth):
    root, _ = synth
    ds = WFLWDataset(root, split='test')
    assert len(ds) == 8
    d = ds.get_data_info(0)
    pts = d['keypoints']
    c, s = center_scale_from_box(*pts.min(0), *pts.max(0))
    np.testing.assert_allclose(d['center'], c, rtol=1e-6)
    assert d['scale'] == pytest.approx(s * 1.25)
    rect = WFLWDataset(root, split='test', box='rect').get_data_info(0)
    assert not np.allclose(rect['center'], d['center'])
    sub = WFLWDataset(root, subset='blur')
    assert len(sub) >= 1 and all(sub.get_data_info(i)['attributes'][5] == 1 for i in range(len(sub)))
    # the HRNet CSV form gives the same faces, center and scale (x1.25 applied on read)
    csv = WFLWDataset(root, ann_file='hrnet_csv/face_landmarks_wflw_test.csv')
    e = csv.get_data_info(0)
    np.testing.assert_allclose(e['center'], d['center'], atol=1e-5)
    assert e['scale'] == pytest.approx(d['scale'], rel=1e-5)
    np.testing.assert_allclose(e['keypoints'], d['keypoints'], atol=1e-5)
    assert e['img_path'] == d['img_path']


def test_pipeline_through_dataset(synth):
    root, _ = synth
    import hrvision.tasks.face  # noqa: F401
    pipeline = [dict(type='LoadFaceImage'), dict(type='FaceRandomAugment'), dict(type='FaceCrop', input_size=(64, 64)),
                dict(type='FaceHeatmapTargets', codec=dict(input_size=(64, 64), heatmap_size=(16, 16))),
                dict(type='PackFaceInputs')]
    ds = WFLWDataset(root, split='train', pipeline=pipeline)
    out = ds[0]
    assert out['inputs'].shape == (3, 64, 64)
    assert out['data_samples'].gt_heatmaps.shape == (98, 16, 16)
    assert out['data_samples'].metainfo['ori_keypoints'].shape == (98, 2)


def _write(path, text):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def test_wrong_field_count_names_file_and_line(synth, tmp_path):
    root, _ = synth
    good = _lines(osp.join(root, LIST_DIR, 'list_98pt_rect_attr_test.txt'))
    bad = str(tmp_path / 'bad.txt')
    _write(bad, good[0] + ' '.join(good[1].split()[:-2]) + '\n')
    with pytest.raises(ValueError, match=r'bad\.txt, line 2: expected 207 fields .* got 205'):
        WFLWDataset(root, ann_file=bad)
    _write(bad, good[0].replace(good[0].split()[5], 'abc', 1))
    with pytest.raises(ValueError, match=r'bad\.txt, line 1: landmark coordinates must be numbers'):
        WFLWDataset(root, ann_file=bad)
    csv = str(tmp_path / 'bad.csv')
    _write(csv, 'image_name,scale,center_w,center_h,x\nimg.jpg,1.0,10,10,1,2\n')
    with pytest.raises(ValueError, match=r'bad\.csv, line 2: expected 200 comma-separated fields'):
        read_hrnet_csv(csv)


def test_missing_image_and_annotation_name_the_path(synth, tmp_path):
    root, _ = synth
    line = _lines(osp.join(root, LIST_DIR, 'list_98pt_rect_attr_test.txt'))[0]
    fields = line.split()
    fields[-1] = 'nowhere/missing.jpg'
    ann = str(tmp_path / 'one.txt')
    _write(ann, ' '.join(fields) + '\n')
    with pytest.raises(FileNotFoundError, match=r'WFLW_images/nowhere/missing\.jpg'):
        WFLWDataset(root, ann_file=ann)
    with pytest.raises(FileNotFoundError, match=r'list_98pt_rect_attr_val\.txt'):
        WFLWDataset(root, split='val')
    with pytest.raises(ValueError, match='unknown WFLW subset'):
        WFLWDataset(root, subset='sunglasses')
    # with check_images=False the image is reported when it is read
    import hrvision.tasks.face  # noqa: F401
    ds = WFLWDataset(root, ann_file=ann, check_images=False, pipeline=[dict(type='LoadFaceImage')])
    with pytest.raises(FileNotFoundError, match=r'missing\.jpg'):
        ds[0]


def test_landmarks_outside_image_are_fine(synth, tmp_path):
    """A face hanging over the image corner (landmarks at negative and too-large coordinates)."""
    root, _ = synth
    fields = _lines(osp.join(root, LIST_DIR, 'list_98pt_rect_attr_test.txt'))[0].split()
    pts = np.array(fields[:196], float).reshape(98, 2)
    pts = pts - pts.mean(0) + np.array([2.0, 2.0])  # centre the face on the top-left corner
    fields[:196] = [f'{v:.3f}' for v in pts.ravel()]
    ann = str(tmp_path / 'edge.txt')
    _write(ann, ' '.join(fields) + '\n')
    import hrvision.tasks.face  # noqa: F401
    pipeline = [dict(type='LoadFaceImage'), dict(type='FaceRandomAugment', rot_prob=1.0),
                dict(type='FaceCrop', input_size=(64, 64)),
                dict(type='FaceHeatmapTargets', codec=dict(input_size=(64, 64), heatmap_size=(16, 16))),
                dict(type='PackFaceInputs')]
    ds = WFLWDataset(root, ann_file=ann, pipeline=pipeline)
    np.random.seed(0)
    for _ in range(3):
        out = ds[0]
        assert out['inputs'].shape == (3, 64, 64)
        assert np.isfinite(out['data_samples'].gt_heatmaps.numpy()).all()


def test_cli_synth_wflw_and_bench_errors(tmp_path, capsys):
    from hrvision.cli import main
    out = str(tmp_path / 'cli_wflw')
    assert main(['data', 'synth-wflw', out, '--train', '2', '--test', '6', '--seed', '5', '--size', '64']) == 0
    assert len(_lines(osp.join(out, LIST_DIR, 'list_98pt_rect_attr_test.txt'))) == 6
    for name in SUBSETS:
        assert osp.isfile(osp.join(out, SUBSET_DIR, f'list_98pt_test_{name}.txt'))
    with pytest.raises(SystemExit) as exit_info:   # a usage error: argparse exits 2 with one line
        main(['data', 'synth-wflw', out, '--train', '0'])
    assert exit_info.value.code == 2
    assert "--train: expected a positive integer, got '0'" in capsys.readouterr().err
    assert main(['bench', 'wflw', '--config', str(tmp_path / 'nope.py'), '--data-root', out]) == 2
    assert 'config file not found' in capsys.readouterr().err
