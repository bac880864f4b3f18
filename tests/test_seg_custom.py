"""Segmentation on the user's own data (issue 21): the generic folder dataset (``SegmentationFolderDataset``), its metadata
(classes + palette) read by everything downstream, and the refusals of data that would train wrong.

Fixtures are real files (PNG images, index / palette / colour masks, a metainfo JSON); the metric goes through
mmengine's ``Evaluator.evaluate(size)`` (the runner's path); the CLI (``data synth-seg``, ``train``, ``test --out``)
runs in subprocesses.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from PIL import Image

import hrvision.tasks.segmentation  # noqa: F401  (registration)
from hrvision.data.io import read_image, write_image
from hrvision.errors import ConfigError, DataError
from hrvision.tasks.segmentation.dataset import CityscapesDataset
from hrvision.tasks.segmentation.folder import SegmentationFolderDataset
from hrvision.tasks.segmentation.metric import SegmentationMetric
from hrvision.tasks.segmentation.synth import folder_metainfo, write_folder_dataset

REPO = Path(__file__).resolve().parents[1]
CFG = str(REPO / 'configs' / 'segmentation' / 'demo_custom_folder.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
META = folder_metainfo(5)
PAL = np.asarray(META['palette'], np.uint8)
PIPE = [dict(type='LoadSegmentationFolder'), dict(type='PackSegmentationInputs')]


def _cli(*args, cwd):
    return subprocess.run([sys.executable, '-m', 'hrvision', *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=600)


def _one_line_error(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stderr[-3000:])
    err = r.stderr.strip()
    assert 'Traceback' not in err and len(err.splitlines()) == 1, err[-3000:]
    for n in needles:
        assert n in err, err
    return err


def _labels():
    """A 6x8 class map using all 5 classes."""
    lab = np.zeros((6, 8), np.uint8)
    lab[:, 2:4] = 1
    lab[:3, 4:6] = 2
    lab[3:, 4:6] = 3
    lab[:, 6:] = 4
    return lab


def _folder(root: Path, masks: dict, meta=META, split=None) -> Path:
    """images + masks named by ``masks`` ({name: mask array}) and a metainfo.json under ``root``."""
    rng = np.random.default_rng(0)
    for name, mask in masks.items():
        write_image(str(root / 'img' / f'{name}.png'), rng.integers(0, 255, (*mask.shape[:2], 3), dtype=np.uint8))
        write_image(str(root / 'ann' / f'{name}.png'), mask)
    (root / 'meta.json').write_text(json.dumps(meta))
    if split:
        (root / 'split.txt').write_text('\n'.join(split) + '\n')
    return root


def _dataset(root, **kw):
    kw = dict(dict(data_root=str(root), data_prefix=dict(img='img', seg='ann'), img_suffix='.png',
                   metainfo=dict(from_file='meta.json'), pipeline=PIPE), **kw)
    return SegmentationFolderDataset(**kw)


def _gt(ds, i):
    return ds[i]['data_samples'].gt_sem_seg.numpy()


# ------------------------------------------------------------------------------------------------ reading
def test_colour_index_and_palette_masks_read_as_class_ids(tmp_path):
    lab = _labels()
    _folder(tmp_path / 'c', {'a': PAL[lab]})
    ds = _dataset(tmp_path / 'c')
    assert ds.metainfo['classes'] == tuple(META['classes']) and ds.metainfo['palette'] == META['palette']
    np.testing.assert_array_equal(_gt(ds, 0), lab)

    idx = lab.copy()
    idx[0, 0] = 255                                  # the default ignore value stays ignore
    _folder(tmp_path / 'i', {'a': idx, 'b': lab}, split=['b'])
    ds = _dataset(tmp_path / 'i', mask_format='index')
    np.testing.assert_array_equal(_gt(ds, 0), idx)
    ds = _dataset(tmp_path / 'i', split='split.txt')   # only the listed name
    assert len(ds) == 1 and ds[0]['data_samples'].img_path.endswith('b.png')

    im = Image.fromarray(lab, mode='P')              # a palette PNG (VOC style): the indices are the classes
    im.putpalette(PAL.reshape(-1).tolist() + [0] * (768 - PAL.size))
    im.save(tmp_path / 'i' / 'ann' / 'a.png')
    np.testing.assert_array_equal(_gt(_dataset(tmp_path / 'i'), 0), lab)


def test_reduce_zero_label_and_custom_ignore_index(tmp_path):
    lab = _labels()
    stored = lab + 1                                 # class k stored as k + 1, 0 = "other" (ignored)
    stored[0, :2] = 0
    stored[1, 0] = 255
    _folder(tmp_path, {'a': stored})
    want = lab.copy()
    want[0, :2] = 255
    want[1, 0] = 255
    np.testing.assert_array_equal(_gt(_dataset(tmp_path, reduce_zero_label=True), 0), want)

    custom = lab.copy()
    custom[2, 3] = 9                                 # this dataset's "no label" value
    write_image(str(tmp_path / 'ann' / 'a.png'), custom)
    want = lab.copy()
    want[2, 3] = 255
    np.testing.assert_array_equal(_gt(_dataset(tmp_path, ignore_index=9), 0), want)
    with pytest.raises(DataError, match=r'a\.png.*class ids \[9\]'):   # without it, 9 is a class id above 4
        _dataset(tmp_path)[0]


def test_cityscapes_is_a_preset_of_the_same_metadata():
    meta = CityscapesDataset._load_metainfo(None)
    assert len(meta['classes']) == 19 and meta['classes'][0] == 'road' and meta['palette'][0] == [128, 64, 128]
    pal = [[i, i, i] for i in range(19)]             # a config's metainfo overrides the preset
    assert CityscapesDataset._load_metainfo(dict(palette=pal))['palette'] == pal


# ------------------------------------------------------------------------------------------------ refusals
def test_refusals_name_the_file_and_field(tmp_path):
    lab = _labels()
    bad = PAL[lab].copy()
    bad[2, 5] = (1, 2, 3)
    _folder(tmp_path / 'c', {'a': bad})
    with pytest.raises(DataError, match=r"a\.png: colour \[1, 2, 3\] at pixel \(x=5, y=2\) is not in metainfo"):
        _dataset(tmp_path / 'c')[0]

    above = lab.copy()
    above[1, 1] = 7
    _folder(tmp_path / 'i', {'a': above})
    with pytest.raises(DataError, match=r'a\.png: class ids \[7\].*0-4 \(5 classes\)'):
        _dataset(tmp_path / 'i')[0]
    with pytest.raises(DataError, match=r'a\.png: class ids \[7\]'):
        _dataset(tmp_path / 'i').read_mask(0)          # the check data tools call

    with pytest.raises(ConfigError, match='palette has 4 colours but classes has 5 names'):
        _dataset(tmp_path / 'i', metainfo=dict(classes=META['classes'], palette=META['palette'][:4]))
    with pytest.raises(ConfigError, match='classes is required'):
        _dataset(tmp_path / 'i', metainfo=None)
    with pytest.raises(ConfigError, match='ignore_index=2 is a class id'):
        _dataset(tmp_path / 'i', ignore_index=2)

    from hrvision.tasks.segmentation.model import SegmentationModel
    model = SegmentationModel(backbone=dict(type='HRNet', arch='hrnet_w18_small_v1', preset='segmentation'),
                              neck=dict(type='HRNetV2Concat', mode='bilinear'),
                              head=dict(type='SegmentationHead', num_classes=19))
    model.check_dataset_meta(dict(classes=[str(i) for i in range(19)]), 'train_dataloader')
    with pytest.raises(ConfigError, match=r'model.head.num_classes=19 but the dataset \(train_dataloader\) has 5'):
        model.check_dataset_meta(META, 'train_dataloader')
    metric = SegmentationMetric(num_classes=19)
    metric.dataset_meta = dict(META)
    with pytest.raises(ConfigError, match='num_classes=19 but the dataset has 5 classes'):
        metric.process({}, [])


# ------------------------------------------------------------------------------------------------ metric
def _evaluate(ds, preds):
    ev = Evaluator(SegmentationMetric())                 # classes from the dataset's metadata
    ev.dataset_meta = ds.metainfo
    for i, pred in enumerate(preds):
        s = ds[i]['data_samples']
        s.pred_sem_seg = torch.from_numpy(pred.astype(np.int64))
        ev.process([s])
    return ev.evaluate(len(preds))


def _numpy_miou(gts, preds, n):
    ious = []
    for c in range(n):
        inter = union = 0
        for g, p in zip(gts, preds):
            valid = g != 255
            inter += np.sum((g == c) & (p == c) & valid)
            union += np.sum(((g == c) | (p == c)) & valid)
        ious.append(inter / union if union else 0.0)
    return float(np.mean(ious)), ious


def test_perfect_and_perturbed_predictions_through_evaluate(tmp_path):
    write_folder_dataset(str(tmp_path), n_train=1, n_val=4, size=(32, 48), seed=3, mask_format='index')
    ds = SegmentationFolderDataset(data_root=str(tmp_path), data_prefix=dict(img='images/val', seg='masks/val'),
                                   img_suffix='.png', metainfo=dict(from_file='metainfo.json'), pipeline=PIPE)
    gts = [_gt(ds, i) for i in range(len(ds))]
    assert set(np.unique(np.concatenate([g.ravel() for g in gts]))) == {0, 1, 2, 3, 4, 255}
    perfect = _evaluate(ds, [np.where(g == 255, 0, g) for g in gts])
    assert perfect['seg/mIoU'] == 1.0 and perfect['seg/IoU.triangle'] == 1.0, perfect

    rng = np.random.default_rng(0)
    preds = []
    for g in gts:
        p = np.where(g == 255, 1, g)
        p[rng.random(g.shape) < 0.2] = rng.integers(0, 5)
        p[:6, :10] = 2
        preds.append(p)
    got = _evaluate(ds, preds)
    want, ious = _numpy_miou(gts, preds, 5)
    assert 0.3 < want < 0.95
    assert got['seg/mIoU'] == pytest.approx(want, abs=1e-12)
    for name, iou in zip(META['classes'], ious):
        assert got[f'seg/IoU.{name}'] == pytest.approx(iou, abs=1e-12)


# ------------------------------------------------------------------------------------------------ CLI
def _loader_root(root):
    return [f'{k}_dataloader.dataset.data_root={root}' for k in ('train', 'val', 'test')]


def test_cli_synth_train_test_out_with_the_users_palette(tmp_path):
    r = _cli('data', 'synth-seg', 'data', '--n-train', 4, '--n-val', 2, '--size', '48x64', '--classes', 5,
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    meta = json.loads((tmp_path / 'data' / 'metainfo.json').read_text())
    assert meta == META
    opts = ['--cfg-options', *_loader_root('data'), 'train_cfg.max_iters=2', 'param_scheduler=[]',
            'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2']
    r = _cli('train', CFG, '--work-dir', 'work', *opts, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    ckpt = torch.load(tmp_path / 'work' / 'iter_2.pth', map_location='cpu', weights_only=True)
    assert ckpt['meta']['dataset_meta'] == dict(classes=tuple(META['classes']), palette=META['palette'])

    r = _cli('test', CFG, 'work/iter_2.pth', '--work-dir', 'work', '--out', 'out', '--cfg-options',
             *_loader_root('data'), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    scores = json.loads(r.stdout[r.stdout.rindex('\n{\n') + 1:])   # the metrics, printed last
    assert set(f'seg/IoU.{n}' for n in META['classes']) <= set(scores), scores
    out = tmp_path / 'out'
    names = sorted(p.name for p in (out / 'labels').iterdir())
    assert names == ['0000_labels.png', '0001_labels.png'] and not (out / 'labelIds').exists()
    for n in names:
        labels = np.asarray(Image.open(out / 'labels' / n))
        colour = read_image(str(out / 'color' / n.replace('_labels', '_color')))
        assert labels.ndim == 2 and labels.max() <= 4
        np.testing.assert_array_equal(colour, PAL[labels])   # the user's palette, pixel for pixel

    # the model's class count contradicting the dataset's metadata: one line, exit 2, before any iteration
    r = _cli('test', CFG, 'work/iter_2.pth', '--work-dir', 'work', '--cfg-options', *_loader_root('data'),
             'model.head.num_classes=19', '--allow-partial', cwd=tmp_path)
    _one_line_error(r, 'model.head.num_classes=19', 'has 5 classes')

