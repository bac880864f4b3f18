"""Cityscapes reading: real layout, transforms, and clear errors on bad input."""
import shutil
import subprocess
import sys
import warnings

import cv2
import numpy as np
import pytest

from hrvision.engine.runner import prepare_config
from hrvision.tasks.segmentation import transforms as T
from hrvision.tasks.segmentation.dataset import CityscapesDataset
from hrvision.tasks.segmentation.labels import label_ids_to_train_ids
from hrvision.tasks.segmentation import synth as seg_synth

PIPE = [dict(type='LoadCityscapes'), dict(type='PackSegmentationInputs')]


@pytest.fixture()
def root(tmp_path):
    seg_synth.write_synthetic(str(tmp_path / 'cs'), n_train=2, n_val=2, size=(64, 128), seed=3)
    return tmp_path / 'cs'


def _first(root, split='val', kind='gtFine'):
    sub = root / ('gtFine' if kind == 'gtFine' else 'leftImg8bit') / split
    return sorted(sub.rglob('*.png'))[0]


def test_layout_and_all_classes_present(root):
    ds = CityscapesDataset(str(root), 'val', pipeline=PIPE)
    assert len(ds) == 2
    item = ds[0]
    assert item['inputs'].shape == (3, 64, 128) and item['inputs'].dtype.__str__() == 'torch.uint8'
    labels = item['data_samples'].gt_sem_seg.numpy()
    present = set(np.unique(labels).tolist())
    assert set(range(19)) <= present, f'synthetic scenes must show all 19 classes, missing {set(range(19)) - present}'
    assert 255 in present  # ego vehicle / unlabeled map to ignore


def test_train_ids_file_preferred(root):
    lab_path = _first(root)
    train_ids = label_ids_to_train_ids(cv2.imread(str(lab_path), -1))
    cv2.imwrite(str(lab_path).replace('_labelIds.png', '_labelTrainIds.png'), train_ids)
    ds = CityscapesDataset(str(root), 'val', pipeline=PIPE)
    assert ds.get_data_info(0)['seg_path'].endswith('_labelTrainIds.png')
    assert (ds[0]['data_samples'].gt_sem_seg.numpy() == train_ids).all()


def test_train_transforms_shapes_and_ignore_padding(root):
    ds = CityscapesDataset(str(root), 'train', pipeline=[
        dict(type='LoadCityscapes'), dict(type='RandomRescale', base_size=64, scale_range=(0.5, 0.5)),
        dict(type='PadRandomCrop', crop_size=(48, 96)), dict(type='SegmentationRandomFlip', prob=1.0),
        dict(type='PackSegmentationInputs')])
    item = ds[0]
    assert item['inputs'].shape == (3, 48, 96)
    seg = item['data_samples'].gt_sem_seg.numpy()
    assert seg.shape == (48, 96) and (seg[32:, :] == 255).all()  # 32x64 image padded with ignore
    assert (item['inputs'][:, 32:, :] == 0).all()
    assert item['data_samples'].flip


def test_rescale_choices_follow_official_range():
    r = T.RandomRescale(base_size=2048, scale_range=(0.5, 2.1), step=0.1)
    assert len(r.scales) == 17 and r.scales[0] == 0.5 and abs(r.scales[-1] - 2.1) < 1e-9


def test_image_without_label(root):
    _first(root).unlink()
    with pytest.raises(FileNotFoundError, match=r'has no label file: expected .*_gtFine_labelIds.png'):
        CityscapesDataset(str(root), 'val', pipeline=PIPE)


def test_empty_split_folder(root):
    shutil.rmtree(root / 'leftImg8bit' / 'val')
    (root / 'leftImg8bit' / 'val' / 'aachen').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match='empty split folder'):
        CityscapesDataset(str(root), 'val', pipeline=PIPE)
    with pytest.raises(FileNotFoundError, match='image folder not found'):
        CityscapesDataset(str(root), 'test_missing', pipeline=PIPE)


def test_label_of_different_size(root):
    lab = _first(root)
    cv2.imwrite(str(lab), np.zeros((32, 64), np.uint8))
    ds = CityscapesDataset(str(root), 'val', pipeline=PIPE)
    with pytest.raises(ValueError, match=r'label .*labelIds.png is 64x32 \(WxH\) but its image .* is 128x64'):
        ds[0]


def test_unreadable_png(root):
    img = _first(root, kind='img')
    img.write_bytes(b'\x89PNG\r\n\x1a\nthis is not a png')
    ds = CityscapesDataset(str(root), 'val', pipeline=PIPE)
    with pytest.raises(ValueError, match=f'cannot decode image {img}'):
        ds[0]


def test_unknown_label_ids_become_ignore_with_one_warning(root):
    lab = _first(root)
    arr = cv2.imread(str(lab), -1)
    arr[:4, :4] = 77
    cv2.imwrite(str(lab), arr)
    T._warned_ids.clear()
    ds = CityscapesDataset(str(root), 'val', pipeline=PIPE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        seg = ds[0]['data_samples'].gt_sem_seg.numpy()
        ds[0]
    assert (seg[:4, :4] == 255).all()
    msgs = [str(w.message) for w in caught if 'outside 0-33' in str(w.message)]
    assert len(msgs) == 1 and '[77]' in msgs[0]


def test_config_typo_names_the_key(tmp_path):
    cfg = tmp_path / 'typo.py'
    cfg.write_text("_base_ = ['%s']\ntrian_dataloader = dict(batch_size=2)\n"
                   % str((__import__('pathlib').Path(__file__).parent / 'configs' / 'seg_tiny.py')))
    with pytest.raises(KeyError, match="'trian_dataloader'.*did you mean 'train_dataloader'"):
        prepare_config(str(cfg))
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'train', str(cfg)], capture_output=True, text=True)
    assert r.returncode == 2 and 'trian_dataloader' in r.stderr


def test_model_kwarg_typo_names_the_key(tmp_path):
    from hrvision.registry import MODELS
    with pytest.raises(TypeError, match='nun_classes'):
        MODELS.build(dict(type='SegmentationHead', in_channels=8, nun_classes=19))
