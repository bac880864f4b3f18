"""``hrvision data check``: counts equal the fixture's own numbers, each kind of problem is found in a fixture that
has it (missing image, label outside the classes, keypoint outside the image, metadata contradicting the head),
``--show`` draws the training targets into PNGs under the house rules for ``--out``."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hrvision.cli import main
from hrvision.data.io import read_image, write_image

REPO = Path(__file__).resolve().parents[1]
POSE_CFG = str(REPO / 'configs/pose/demo_synthetic.py')
SEG_CFG = str(REPO / 'configs/segmentation/demo_synthetic.py')
DET_CFG = str(REPO / 'configs/detection/hrnetv2p_tiny_fcos_synth.py')
FACE_CFG = str(REPO / 'configs/face/demo_synthetic_wflw.py')
FOLDER_CFG = str(REPO / 'configs/segmentation/demo_custom_folder.py')
MT_CFG = str(REPO / 'configs/multitask/demo_synthetic.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def _root(split='train'):
    return f'{split}_dataloader.dataset.data_root'


def _check(capsys, cfg, root, *extra, split='train'):
    """``hrvision data check`` in this process (the CLI's own entry point): (exit code, stdout + stderr)."""
    rc = main(['data', 'check', cfg, '--split', split, '--cfg-options', f'{_root(split)}={root}', *extra])
    out = capsys.readouterr()
    return rc, out.out + out.err


def _cli(cfg, root, *extra, split='train'):
    """The same in a subprocess, as a user runs it."""
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'data', 'check', cfg, '--split', split,
                        '--cfg-options', f'{_root(split)}={root}', *extra],
                       capture_output=True, text=True, env=ENV, timeout=300, cwd=str(REPO))
    return r.returncode, r.stdout + r.stderr


def _counts(text):
    """``  name: number`` lines of the report -> {name: int}."""
    return {m[1]: int(m[2]) for m in re.finditer(r'^\s+([^:\n]+): (\d+)$', text, re.M)}


# ---- fixtures: the tasks' synthetic writers at tiny sizes ---------------------------------------------------------
@pytest.fixture(scope='module')
def pose_root(tmp_path_factory):
    from hrvision.tasks.pose import synth
    root = tmp_path_factory.mktemp('pose')
    synth.write_synthetic(str(root), n_train=3, n_val=1, size=(64, 48), seed=3)
    return root


@pytest.fixture(scope='module')
def seg_root(tmp_path_factory):
    from hrvision.tasks.segmentation import synth
    root = tmp_path_factory.mktemp('seg')
    synth.write_synthetic(str(root), n_train=2, n_val=1, size=(64, 128), seed=1)
    return root


@pytest.fixture(scope='module')
def det_root(tmp_path_factory):
    from hrvision.tasks.detection import synth
    root = tmp_path_factory.mktemp('det')
    synth.write_synthetic(str(root), n_train=4, n_val=1, size=(64, 96), seed=2)
    return root


def _copy(src, tmp_path):
    dst = tmp_path / 'data'
    shutil.copytree(src, dst)
    return dst


def _pose_json(root):
    return root / 'annotations' / 'person_keypoints_train.json'


# ---- counts -----------------------------------------------------------------------------------------------------
def test_pose_counts_equal_the_annotation_file(pose_root, capsys):
    data = json.loads(_pose_json(pose_root).read_text())
    names = data['categories'][0]['keypoints']
    kps = np.array([a['keypoints'] for a in data['annotations']], np.float64).reshape(len(data['annotations']), -1, 3)
    rc, out = _check(capsys, POSE_CFG, pose_root)
    assert rc == 0, out
    counts = _counts(out)
    assert counts['people'] == len(data['annotations'])
    assert counts['images'] == len({a['image_id'] for a in data['annotations']})
    visible = (kps[:, :, 2] > 0).sum(0)
    assert [counts[n] for n in names] == visible.tolist()
    assert len(set(visible.tolist())) > 1   # the fixture has unlabelled joints: the count is not just "people"
    assert '0 error(s), 0 warning(s)' in out


def test_segmentation_pixels_per_class(seg_root, capsys):
    from hrvision.tasks.segmentation.labels import label_ids_to_train_ids
    from hrvision.data.io import read_label
    labels = sorted((seg_root / 'gtFine' / 'train').rglob('*_gtFine_labelIds.png'))
    train_ids = np.concatenate([label_ids_to_train_ids(read_label(str(p))).ravel() for p in labels])
    expected = np.bincount(train_ids[train_ids != 255], minlength=19)
    rc, out = _check(capsys, SEG_CFG, seg_root)
    assert rc == 0, out
    counts = _counts(out)
    from hrvision.tasks.segmentation.dataset import CityscapesDataset
    classes = CityscapesDataset.METAINFO.get('classes') or ()
    if not classes:   # a preset file (metadata contract): read what the dataset reads
        classes = re.findall(r'^    (\S[^:]*): \d+$', out.split('pixels per class:')[1], re.M)[:19]
    assert [counts[c] for c in classes] == expected.tolist()
    assert counts['ignored pixels'] == int((train_ids == 255).sum())
    assert counts['labelled images'] == len(labels) == 2


def _folder_data(tmp_path):
    from hrvision.tasks.segmentation import synth
    root = tmp_path / 'folder'
    synth.write_folder_dataset(str(root), n_train=2, n_val=1, size=(32, 48), mask_format='index')
    return root


FOLDER = ['train_dataloader.dataset.mask_format=index']


def test_folder_segmentation_counts_and_a_class_id_outside_the_classes(tmp_path, capsys):
    """The generic folder format (index masks, 5 classes, an ignored band): pixels per class equal the masks';
    a mask holding class 7 is an error naming it."""
    from hrvision.data.io import read_label
    root = _folder_data(tmp_path)
    masks = sorted((root / 'masks' / 'train').glob('*.png'))
    values = np.concatenate([read_label(str(p)).ravel() for p in masks])
    classes = json.loads((root / 'metainfo.json').read_text())['classes']
    rc, out = _check(capsys, FOLDER_CFG, root, *FOLDER)
    assert rc == 0, out
    counts = _counts(out)
    assert [counts[c] for c in classes] == np.bincount(values[values != 255], minlength=5).tolist()
    assert counts['ignored pixels'] == int((values == 255).sum()) > 0
    bad = read_label(str(masks[1]))
    bad[:2, :2] = 7
    write_image(str(masks[1]), bad)
    rc, out = _check(capsys, FOLDER_CFG, root, *FOLDER)
    assert rc == 2, out
    (line,) = [ln for ln in out.splitlines() if ln.startswith('error:')]
    assert str(masks[1]) in line and '7' in line, out


def test_folder_segmentation_head_with_other_classes(tmp_path, capsys):
    root = _folder_data(tmp_path)
    rc, out = _check(capsys, FOLDER_CFG, root, *FOLDER, 'model.head.num_classes=19')
    assert rc == 2, out
    assert re.search(r'^error: .*num_classes=19.*\b5\b', out, re.M), out


def test_multitask_counts(tmp_path, capsys):
    from hrvision.tasks.multitask import synth
    synth.write_synthetic(str(tmp_path), n_train=2, n_val=1, size=(64, 64), seed=0)
    inst = json.loads((tmp_path / 'annotations' / 'instances_train2017.json').read_text())
    rc, out = _check(capsys, MT_CFG, tmp_path)
    assert rc == 0, out
    counts = _counts(out)
    for cat in inst['categories']:
        assert counts[cat['name']] == sum(a['category_id'] == cat['id'] and not a.get('iscrowd')
                                          for a in inst['annotations']), (cat, out)


def test_detection_boxes_per_class(det_root, capsys):
    data = json.loads((det_root / 'annotations' / 'instances_train2017.json').read_text())
    rc, out = _check(capsys, DET_CFG, det_root)
    assert rc == 0, out
    counts = _counts(out)
    for cat in data['categories']:
        n = sum(a['category_id'] == cat['id'] and not a.get('iscrowd') for a in data['annotations'])
        assert counts[cat['name']] == n, (cat, out)
    assert counts['boxes'] == sum(not a.get('iscrowd') for a in data['annotations'])


def test_face_counts(tmp_path, capsys):
    from hrvision.tasks.face import synth
    synth.write_synthetic(str(tmp_path), n_train=3, n_val=1, size=(64, 64), seed=0)
    rc = main(['data', 'check', FACE_CFG, '--data-root', str(tmp_path)])   # as hrvision train --data-root
    out = capsys.readouterr()
    out = out.out + out.err
    assert rc == 0, out
    assert _counts(out)['faces'] == 3
    assert re.search(r'landmarks per face: 98 \(3 faces\)', out), out


# ---- each kind of problem ----------------------------------------------------------------------------------------
def test_missing_image_is_an_error_naming_the_file(pose_root, tmp_path, capsys):
    root = _copy(pose_root, tmp_path)
    gone = sorted((root / 'train').iterdir())[0]
    gone.unlink()
    rc, out = _check(capsys, POSE_CFG, root)
    assert rc == 2, out
    assert f'error: {gone}: file not found (img_path' in out, out
    assert 'Traceback' not in out


def test_every_missing_image_is_listed_not_only_the_first(det_root, tmp_path, capsys):
    """The detection reader stops at the first missing image; data check lists them all."""
    root = _copy(det_root, tmp_path)
    gone = sorted((root / 'train2017').iterdir())[:2]
    for p in gone:
        p.unlink()
    rc, out = _check(capsys, DET_CFG, root)
    assert rc == 2, out
    for p in gone:
        assert f'error: {p}: file not found' in out, out


def test_label_outside_the_classes(seg_root, tmp_path, capsys):
    root = _copy(seg_root, tmp_path)
    label = sorted((root / 'gtFine' / 'train').rglob('*_gtFine_labelIds.png'))[0]
    bad = np.zeros(read_image(str(sorted((root / 'leftImg8bit' / 'train').rglob('*.png'))[0])).shape[:2], np.uint8)
    bad[:4, :4] = 25   # train id 25: there are 19 classes
    train_ids = Path(str(label).replace('_labelIds.png', '_labelTrainIds.png'))
    write_image(str(train_ids), bad)
    rc, out = _check(capsys, SEG_CFG, root)
    assert rc == 2, out
    line = next(ln for ln in out.splitlines() if ln.startswith('error:'))
    assert str(train_ids) in line and '25' in line, out


def test_keypoint_outside_the_image_is_a_warning_naming_annotation_and_joint(pose_root, tmp_path, capsys):
    root = _copy(pose_root, tmp_path)
    path = _pose_json(root)
    data = json.loads(path.read_text())
    ann = data['annotations'][0]
    img = next(i for i in data['images'] if i['id'] == ann['image_id'])
    k = next(j for j in range(len(ann['keypoints']) // 3) if ann['keypoints'][3 * j + 2] > 0)
    ann['keypoints'][3 * k] = img['width'] + 5.0
    path.write_text(json.dumps(data))
    name = data['categories'][0]['keypoints'][k]
    rc, out = _check(capsys, POSE_CFG, root)
    assert rc == 0, out   # a warning: training still runs
    warn = [ln for ln in out.splitlines() if ln.startswith('warning:')]
    assert len(warn) == 1, out
    assert f'annotation id {ann["id"]}' in warn[0] and f'keypoints[{k}] ({name})' in warn[0], warn
    assert f'{img["width"]}x{img["height"]} image' in warn[0]


def test_metadata_contradicting_the_head(pose_root):
    """As a user runs it (a subprocess): exit 2, the contradiction on one line, no traceback."""
    rc, out = _cli(POSE_CFG, pose_root, 'model.head.num_keypoints=12')
    assert rc == 2, out
    line = next(ln for ln in out.splitlines() if ln.startswith('error:'))
    assert 'num_keypoints=12' in line and '17' in line, out
    assert 'Traceback' not in out and out.rstrip().endswith('training on this data would be wrong'), out


def test_bad_split_config_is_one_line(pose_root, capsys):
    rc = main(['data', 'check', POSE_CFG, '--cfg-options', 'train_dataloader.dataset.type=CocoKeypointDataset',
               'train_dataloader.dataset.ann_file=nowhere.json', f'{_root()}={pose_root}'])
    err = capsys.readouterr()
    assert rc == 2
    assert 'nowhere.json' in err.out + err.err


# ---- pictures after the training pipeline -------------------------------------------------------------------------
def _panels_differ(path, n_panels, gap=4):
    """How much each panel after the first (the input) differs from it."""
    img = read_image(str(path))
    w = (img.shape[1] - gap * (n_panels - 1)) // n_panels
    first = img[:, :w].astype(int)
    return [int(np.abs(img[:, i * (w + gap):i * (w + gap) + w].astype(int) - first).sum())
            for i in range(1, n_panels)]


def test_show_draws_the_targets_into_png_files(pose_root, tmp_path, capsys):
    out_dir = tmp_path / 'pictures'
    rc, out = _check(capsys, POSE_CFG, pose_root, '--show', '2', '--out', str(out_dir))
    assert rc == 0, out
    pngs = sorted(out_dir.glob('*.png'))
    assert len(pngs) == 2, (out, list(out_dir.iterdir()))
    manifest = json.loads((out_dir / 'hrvision_manifest.json').read_text())
    assert manifest['status'] == 'complete' and sorted(manifest['files']) == sorted(p.name for p in pngs)
    for p in pngs:
        img = read_image(str(p))
        # input crop | skeleton | heatmaps, 96x72 each, enlarged x2 (pictures are at least 192 high)
        assert img.shape[0] == 2 * 96 and img.shape[1] == 2 * (3 * 72 + 2 * 4)
        assert all(d > 1000 for d in _panels_differ(p, 3, gap=8)), p   # the targets change pixels


def test_show_refuses_a_folder_it_did_not_write(pose_root, tmp_path, capsys):
    out_dir = tmp_path / 'pictures'
    out_dir.mkdir()
    (out_dir / 'mine.txt').write_text('user file')
    rc, out = _check(capsys, POSE_CFG, pose_root, '--show', '1', '--out', str(out_dir))
    assert rc == 2 and str(out_dir) in out, out
    assert sorted(p.name for p in out_dir.iterdir()) == ['mine.txt']
    # an earlier data check's pictures are replaced with --overwrite
    out_dir = tmp_path / 'again'
    assert _check(capsys, POSE_CFG, pose_root, '--show', '2', '--out', str(out_dir))[0] == 0
    rc, out = _check(capsys, POSE_CFG, pose_root, '--show', '1', '--out', str(out_dir), '--overwrite')
    assert rc == 0, out
    assert len(list(out_dir.glob('*.png'))) == 1


def test_show_segmentation_masks(seg_root, tmp_path, capsys):
    out_dir = tmp_path / 'pictures'
    rc, out = _check(capsys, SEG_CFG, seg_root, '--show', '1', '--out', str(out_dir))
    assert rc == 0, out
    (png,) = sorted(out_dir.glob('*.png'))
    assert read_image(str(png)).shape[0] == 2 * 128   # the 128x256 crop, enlarged x2
    assert all(d > 1000 for d in _panels_differ(png, 3, gap=8))


def test_show_needs_out(pose_root, capsys):
    rc, out = _check(capsys, POSE_CFG, pose_root, '--show', '1')
    assert rc == 2 and '--out' in out
