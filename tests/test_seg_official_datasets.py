"""The official repos' other segmentation datasets (issue 23): PASCAL-Context (59 / 60 classes), LIP (20 classes, the
left/right swap of the flip) and ADE20K (150 classes).

Readers on ``hrvision data synth-*`` output and on hand-made layouts; mIoU through mmengine's
``Evaluator.evaluate(size)`` (the runner's path) against a numpy computation; the flip test on a model whose forward
is a known function; each demo config trained a few iterations and evaluated through the runner; bad input through
the CLI in subprocesses (one line, exit 2).
"""
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from PIL import Image

import hrvision.tasks.segmentation  # noqa: F401  (registration)
from hrvision.backbones.hrnet import tiny_extra
from hrvision.data.io import write_image
from hrvision.data.metainfo import config_metainfo, parse_metainfo
from hrvision.engine.runner import build_runner, prepare_config
from hrvision.errors import ConfigError, DataError, MissingFileError
from hrvision.registry import MODELS
from hrvision.structures import DataSample
from hrvision.tasks.segmentation.ade20k import ADE20KDataset, write_ade20k
from hrvision.tasks.segmentation.lip import LIPDataset, write_lip
from hrvision.tasks.segmentation.metric import SegmentationMetric
from hrvision.tasks.segmentation.pascal_context import PascalContextDataset, write_pascal_context

REPO = Path(__file__).resolve().parents[1]
SEG = REPO / 'configs' / 'segmentation'
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
LOAD = [dict(type='LoadSegmentationFolder'), dict(type='PackSegmentationInputs')]
FLIP = [dict(type='LoadSegmentationFolder'), dict(type='SegmentationRandomFlip', prob=1.0),
        dict(type='PackSegmentationInputs')]
LIP_SWAP = list(range(14)) + [15, 14, 17, 16, 19, 18]
TINY_BACKBONE = dict(_delete_=True, type='HRNet', extra=tiny_extra(4), preset='segmentation')


def _raw(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def _gt(ds, i, flip=False) -> np.ndarray:
    return ds[i]['data_samples'].gt_sem_seg.numpy()


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp('seg_official')
    write_pascal_context(str(root / 'pc'), n_train=3, n_val=2, size=(40, 48), seed=1)
    write_lip(str(root / 'lip'), n_train=3, n_val=2, size=(56, 40), seed=2)
    write_ade20k(str(root / 'ade'), n_train=3, n_val=2, size=(40, 48), seed=3)
    return root


# ------------------------------------------------------------------------------------------------ metadata
def test_presets_state_the_classes_and_lip_pairs_come_from_the_names():
    pc = parse_metainfo(dict(from_file='_base_/datasets/pascal_context.py'), 'pc')
    pc60 = parse_metainfo(dict(from_file='_base_/datasets/pascal_context_60.py'), 'pc60')
    lip = parse_metainfo(dict(from_file='_base_/datasets/lip.py'), 'lip')
    ade = parse_metainfo(dict(from_file='_base_/datasets/ade20k.py'), 'ade')
    assert (len(pc['classes']), len(pc60['classes']), len(lip['classes']), len(ade['classes'])) == (59, 60, 20, 150)
    assert pc60['classes'] == ('background',) + pc['classes']
    assert lip['flip_class_pairs'] == [[14, 15], [16, 17], [18, 19]] and lip['flip_class_indices'] == LIP_SWAP
    assert 'flip_class_indices' not in pc and 'flip_class_indices' not in ade   # nothing sided: metadata unchanged
    # derived, not hard-coded: other sided names pair the same way; a stated permutation must agree
    own = parse_metainfo(dict(classes=['bg', 'hand_L', 'hand_R', 'LeftFoot', 'RightFoot']), 'own')
    assert own['flip_class_indices'] == [0, 2, 1, 4, 3]
    with pytest.raises(Exception, match='flip_class_indices .* contradicts'):
        parse_metainfo(dict(classes=['bg', 'left-arm', 'right-arm'], flip_class_indices=[0, 1, 2]), 'own')
    # stated pairs for names without sides; a bad pair is one line naming the field
    assert parse_metainfo(dict(classes=['bg', 'a', 'b'], flip_class_pairs=[[1, 2]]), 'own')['flip_class_indices'] \
        == [0, 2, 1]
    with pytest.raises(ConfigError, match=r'metainfo\.flip_class_pairs\[0\] = \[1, 3\]: expected .* 0\.\.2'):
        parse_metainfo(dict(classes=['bg', 'a', 'b'], flip_class_pairs=[[1, 3]]), 'own')
    for bad in (5, ['x', 'y', 'z']):   # one line naming the field, not a TypeError from int()
        with pytest.raises(ConfigError, match=r'metainfo\.flip_class_indices must be a list of class indices'):
            parse_metainfo(dict(classes=['bg', 'left-arm', 'right-arm'], flip_class_indices=bad), 'own')
    # a config's own classes replace the preset's: LIP's pairs do not follow onto other names
    other = LIPDataset._load_metainfo(dict(classes=[f'c{i}' for i in range(20)]))
    assert 'flip_class_indices' not in other and 'flip_class_pairs' not in other


# ------------------------------------------------------------------------------------------------ readers
def test_readers_on_their_synth_output(synth):
    pc = PascalContextDataset(str(synth / 'pc'), split='val', pipeline=LOAD)
    pc60 = PascalContextDataset(str(synth / 'pc'), split='val', num_classes=60, pipeline=LOAD)
    assert len(pc) == len(pc60) == 2 and len(PascalContextDataset(str(synth / 'pc'), pipeline=LOAD)) == 3
    for i in range(2):
        raw = _raw(pc.get_data_info(i)['seg_path'])
        assert raw.max() <= 59 and (raw == 0).any()
        np.testing.assert_array_equal(_gt(pc, i), np.where(raw == 0, 255, raw.astype(np.int64) - 1))
        np.testing.assert_array_equal(_gt(pc60, i), raw)
    lip = LIPDataset(str(synth / 'lip'), split='val', pipeline=LOAD)
    assert len(lip) == 2
    for i in range(2):
        raw = _raw(lip.get_data_info(i)['seg_path'])
        assert set(range(14, 20)) <= set(np.unique(raw).tolist())   # both sides of every sided part
        sample = lip[i]['data_samples']
        np.testing.assert_array_equal(sample.gt_sem_seg.numpy(), raw)
        assert sample.metainfo['flip_class_indices'] == LIP_SWAP
    ade = ADE20KDataset(str(synth / 'ade'), split='validation', pipeline=LOAD)
    assert len(ade) == 2 and len(ADE20KDataset(str(synth / 'ade'), split='train', pipeline=LOAD)) == 3
    for i in range(2):
        raw = _raw(ade.get_data_info(i)['seg_path'])
        np.testing.assert_array_equal(_gt(ade, i), np.where(raw == 0, 255, raw.astype(np.int64) - 1))
        assert 'flip_class_indices' not in ade[i]['data_samples'].metainfo


def test_pascal_context_class_count_and_metadata_must_agree(synth):
    """num_classes decides the label shift (59: stored 0 ignored, k -> k-1), the metadata names the classes: a
    60-class preset with the default num_classes=59 would train every class shifted by one, so it is refused."""
    with pytest.raises(ConfigError, match=r'num_classes=59 but its metainfo has 60 classes \(background, '):
        PascalContextDataset(str(synth / 'pc'), split='val', pipeline=LOAD,
                             metainfo=dict(from_file='_base_/datasets/pascal_context_60.py'))
    with pytest.raises(ConfigError, match=r'num_classes=60 but its metainfo has 59 classes'):
        PascalContextDataset(str(synth / 'pc'), split='val', num_classes=60, pipeline=LOAD,
                             metainfo=dict(from_file='_base_/datasets/pascal_context.py'))


def test_readers_with_a_relative_data_root(synth, monkeypatch):
    """data_root relative to the working directory (what configs write): list files and folders found once."""
    monkeypatch.chdir(synth)
    assert len(PascalContextDataset('pc', split='train', pipeline=LOAD)) == 3
    lip = LIPDataset('lip', split='val', pipeline=LOAD)
    assert len(lip) == 2 and lip[0]['data_samples'].gt_sem_seg.shape == (56, 40)
    assert len(ADE20KDataset('ade', split='validation', pipeline=LOAD)) == 2


def test_lip_reads_the_official_repos_pair_lists(tmp_path):
    """data/list/lip/valList.txt of the official HRNet repo: ``val_images/<id>.jpg val_segmentations/<id>.png``
    below lip/TrainVal_images and lip/TrainVal_parsing_annotations."""
    labs = [np.array([[0, 14, 15], [19, 18, 13]], np.uint8), np.array([[1, 2], [16, 17]], np.uint8)]
    root = _hand_lip_release(tmp_path / 'data' / 'lip', labs)
    lst = tmp_path / 'data' / 'list' / 'lip' / 'valList.txt'
    lst.parent.mkdir(parents=True)
    lst.write_text('val_images/77_471474.jpg val_segmentations/77_471474.png\n'
                   'val_images/77_4714741.jpg val_segmentations/77_4714741.png\n')
    ds = LIPDataset(str(root), split='../list/lip/valList.txt', pipeline=LOAD)
    assert len(ds) == 2
    for i in range(2):
        np.testing.assert_array_equal(_gt(ds, i), labs[i])
    assert ds[1]['data_samples'].metainfo['flip_class_indices'] == LIP_SWAP
    lst.write_text('val_images/77_471474.jpg val_segmentations/77_471474.png\nval_images/9.jpg val_segmentations/9.png\n')
    with pytest.raises(MissingFileError, match=r'valList\.txt line 2: image .*val_images/9\.jpg not found'):
        LIPDataset(str(root), split='../list/lip/valList.txt', pipeline=LOAD)


def _all_classes_mask(n_stored: int, first: int, shape) -> np.ndarray:
    """Every stored id first..n_stored-1 at least once, the rest filled with ``first``."""
    ids = np.full(shape[0] * shape[1], first, np.uint8)
    ids[:n_stored - first] = np.arange(first, n_stored)
    return np.random.default_rng(0).permutation(ids).reshape(shape)


def _labs(lab) -> list:
    return list(lab) if isinstance(lab, (list, tuple)) else [lab]


def _hand_pc(root: Path, lab, name='2010_000001') -> Path:
    """``lab``: one label map or a list (names 2010_000001, 2010_000002, ...)."""
    names = []
    for k, one in enumerate(_labs(lab)):
        stem = name if k == 0 else f'{name[:-1]}{k + 1}'
        write_image(str(root / 'JPEGImages' / f'{stem}.jpg'), np.full(one.shape + (3,), 90, np.uint8))
        write_image(str(root / 'SegmentationClassContext' / f'{stem}.png'), one)
        names.append(stem)
    (root / 'ImageSets' / 'SegmentationContext').mkdir(parents=True, exist_ok=True)
    (root / 'ImageSets' / 'SegmentationContext' / 'val.txt').write_text(''.join(f'{n}\n' for n in names))
    return root


def _hand_lip_release(root: Path, lab, name='77_471474') -> Path:
    """The LIP release's nesting: TrainVal_images/val_images, TrainVal_parsing_annotations/val_segmentations."""
    names = []
    for k, one in enumerate(_labs(lab)):
        stem = name if k == 0 else f'{name}{k}'
        write_image(str(root / 'TrainVal_images' / 'val_images' / f'{stem}.jpg'),
                    np.full(one.shape + (3,), 90, np.uint8))
        write_image(str(root / 'TrainVal_parsing_annotations' / 'val_segmentations' / f'{stem}.png'), one)
        names.append(stem)
    (root / 'TrainVal_images' / 'val_id.txt').write_text(''.join(f'{n}\n' for n in names))
    return root


def _hand_ade(root: Path, lab, name='ADE_val_00000001') -> Path:
    for k, one in enumerate(_labs(lab)):
        stem = f'{name[:-1]}{k + 1}'
        write_image(str(root / 'images' / 'validation' / f'{stem}.jpg'), np.full(one.shape + (3,), 90, np.uint8))
        write_image(str(root / 'annotations' / 'validation' / f'{stem}.png'), one)
    return root


def test_readers_on_hand_made_layouts_and_their_refusals(tmp_path):
    lab = np.array([[0, 1, 59], [255, 2, 0]], np.uint8)
    pc = PascalContextDataset(str(_hand_pc(tmp_path / 'pc', lab)), split='val', pipeline=LOAD)
    np.testing.assert_array_equal(_gt(pc, 0), [[255, 0, 58], [255, 1, 255]])
    pc60 = PascalContextDataset(str(tmp_path / 'pc'), split='val', num_classes=60, pipeline=LOAD)
    np.testing.assert_array_equal(_gt(pc60, 0), lab)
    assert pc60.metainfo['classes'][0] == 'background' and pc.metainfo['classes'][0] == 'aeroplane'
    lab = np.array([[0, 14, 15], [19, 18, 13]], np.uint8)
    lip = LIPDataset(str(_hand_lip_release(tmp_path / 'lip', lab)), split='val', pipeline=LOAD)
    np.testing.assert_array_equal(_gt(lip, 0), lab)
    lab = np.array([[0, 1, 150], [255, 7, 0]], np.uint8)
    ade = ADE20KDataset(str(_hand_ade(tmp_path / 'ade', lab)), split='val', pipeline=LOAD)
    np.testing.assert_array_equal(_gt(ade, 0), [[255, 0, 149], [255, 6, 255]])

    # refusals name the file: a stored id past the classes, a missing list file
    bad = _hand_ade(tmp_path / 'ade_bad', np.array([[0, 151]], np.uint8))
    with pytest.raises(DataError, match=r'ADE_val_00000001\.png: class ids \[151\] .*expected 1-150'):
        ADE20KDataset(str(bad), split='validation', pipeline=LOAD)[0]
    bad = _hand_pc(tmp_path / 'pc_bad', np.array([[0, 60]], np.uint8))
    with pytest.raises(DataError, match=r'2010_000001\.png: class ids \[60\]'):
        PascalContextDataset(str(bad), split='val', pipeline=LOAD)[0]
    with pytest.raises(DataError, match=r'77_471474\.png: class ids \[20\]'):
        LIPDataset(str(_hand_lip_release(tmp_path / 'lip_bad', np.array([[0, 20]], np.uint8))), split='val',
                   pipeline=LOAD)[0]
    with pytest.raises(MissingFileError, match=r'PASCAL-Context split list not found: .*SegmentationContext/train\.txt'):
        PascalContextDataset(str(tmp_path / 'pc'), split='train', pipeline=LOAD)
    with pytest.raises(MissingFileError, match=r'LIP split list not found: .*train_id\.txt'):
        LIPDataset(str(tmp_path / 'lip'), split='train', pipeline=LOAD)


# ------------------------------------------------------------------------------------------------ metric
def _evaluate(ds, preds, batch=2):
    """What the runner's ValLoop / TestLoop does: ``process`` per batch, then ``evaluate(len(dataset))``."""
    ev = Evaluator(SegmentationMetric())                 # classes from the dataset's metadata
    ev.dataset_meta = ds.metainfo
    samples = []
    for i, pred in enumerate(preds):
        s = ds[i]['data_samples']
        s.pred_sem_seg = torch.from_numpy(np.asarray(pred).astype(np.int64))
        samples.append(s)
    for k in range(0, len(samples), batch):
        ev.process(samples[k:k + batch])
    return ev.evaluate(len(preds))


def _numpy_miou(gts, preds, n):
    """The official mIoU by hand: per class |G & P| / |G | P| over labelled pixels, 0 for a class absent from both."""
    ious = []
    for c in range(n):
        inter = union = 0
        for g, p in zip(gts, preds):
            valid = g != 255
            inter += np.sum((g == c) & (p == c) & valid)
            union += np.sum(((g == c) | (p == c)) & valid)
        ious.append(inter / union if union else 0.0)
    return float(np.mean(ious))


def _perturbed(gts, n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for g in gts:
        p = np.where(g == 255, 0, g).astype(np.int64)
        p[rng.random(g.shape) < 0.3] = rng.integers(0, n)
        out.append(p)
    return out


HAND = {   # name: (writer, dataset, stored ids, classes)
    'pascal_context_59': (_hand_pc, lambda r: PascalContextDataset(r, split='val', pipeline=LOAD), 60, 59),
    'pascal_context_60': (_hand_pc, lambda r: PascalContextDataset(r, split='val', num_classes=60, pipeline=LOAD),
                          60, 60),
    'lip': (_hand_lip_release, lambda r: LIPDataset(r, split='val', pipeline=LOAD), 20, 20),
    'ade20k': (_hand_ade, lambda r: ADE20KDataset(r, split='validation', pipeline=LOAD), 151, 150),
}


@pytest.mark.parametrize('name', sorted(HAND))
def test_perfect_and_perturbed_predictions_through_evaluate(tmp_path, name):
    """Three images of different sizes (each class in at least one, none in all), scored through
    ``Evaluator.evaluate(size)``: perfect = exactly 1 over every class, perturbed = the numpy mIoU."""
    write, build, stored, n = HAND[name]
    rng = np.random.default_rng(7)
    labs = [_all_classes_mask(stored, 0, (12, 13))]
    labs += [rng.integers(0, stored, (9, 11)).astype(np.uint8), rng.integers(0, stored // 3, (10, 8)).astype(np.uint8)]
    labs[1][0, :4] = 255                                   # the stored ignore value, in every layout
    ds = build(str(write(tmp_path, labs)))
    assert len(ds) == 3
    gts = [_gt(ds, i) for i in range(3)]
    assert set(np.unique(np.concatenate([g.ravel() for g in gts]))) == set(range(n)) | {255}
    perfect = _evaluate(ds, [np.where(g == 255, 0, g) for g in gts])
    assert perfect['seg/mIoU'] == 1.0, perfect['seg/mIoU']
    assert len([k for k in perfect if k.startswith('seg/IoU.')]) == n
    preds = _perturbed(gts, n, 0)
    want = _numpy_miou(gts, preds, n)
    assert 0.2 < want < 0.9
    from mmengine.logging import MMLogger
    records = []
    handler = logging.Handler()
    handler.emit = lambda r: records.append(r.getMessage())
    MMLogger.get_current_instance().addHandler(handler)
    try:
        assert _evaluate(ds, preds)['seg/mIoU'] == pytest.approx(want, abs=1e-12)
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    # the official test's summary line, the figures of this evaluation
    line = next(m for m in records if m.startswith('MeanIU: '))
    assert line.startswith(f'MeanIU: {want: 4.4f}, Pixel_Acc: ') and 'Class IoU: ' in line
    # one image wrong changes the score: the evaluation sees every image, not only the first
    worse = [preds[0], preds[1], np.zeros_like(preds[2])]
    assert _evaluate(ds, worse)['seg/mIoU'] == pytest.approx(_numpy_miou(gts, worse, n), abs=1e-12) != want


def test_lip_flip_swaps_labels_and_miou_with_the_swap(tmp_path, synth):
    """The training flip on LIP: the mirrored label with left/right swapped. A prediction that mirrors without the
    swap loses the sided classes, by exactly what numpy computes."""
    lab = _all_classes_mask(20, 0, (6, 8))
    ds = LIPDataset(str(_hand_lip_release(tmp_path, lab)), split='val', pipeline=FLIP)
    mirror = lab[:, ::-1]
    swapped = np.asarray(LIP_SWAP)[mirror]
    gt = _gt(ds, 0)
    np.testing.assert_array_equal(gt, swapped)                     # the training flip swaps the labels
    assert set(np.unique(gt)) == set(range(20))
    assert _evaluate(ds, [swapped])['seg/mIoU'] == 1.0
    unswapped = _evaluate(ds, [mirror])['seg/mIoU']
    # a sided pixel is never its own mirror class: the six sided classes score 0, the other 14 stay 1
    assert unswapped == pytest.approx(_numpy_miou([gt], [mirror], 20), abs=1e-12) == pytest.approx(14 / 20)
    preds = _perturbed([gt], 20, 1)
    assert _evaluate(ds, preds)['seg/mIoU'] == pytest.approx(_numpy_miou([gt], preds, 20), abs=1e-12)
    # synthetic people: the same swap on real files
    syn = LIPDataset(str(synth / 'lip'), split='val', pipeline=FLIP)
    raw = _raw(syn.get_data_info(0)['seg_path'])
    np.testing.assert_array_equal(_gt(syn, 0), np.asarray(LIP_SWAP)[raw[:, ::-1]])


# ------------------------------------------------------------------------------------------------ flip test
@pytest.fixture(scope='module')
def lip_model():
    model = MODELS.build(dict(type='SegmentationModel', data_preprocessor=dict(type='HRVDataPreprocessor'),
                              backbone=dict(type='HRNet', extra=tiny_extra(4), preset='segmentation'),
                              neck=dict(type='HRNetV2Concat', mode='bilinear'),
                              head=dict(type='SegmentationHead', num_classes=20, loss='ce'),
                              test_cfg=dict(scales=[1.0], flip=True)))
    model.init_weights()
    return model.eval()


def _predict(model, img, perm):
    meta = dict(img_shape=tuple(img.shape[-2:]), ori_shape=tuple(img.shape[-2:]))
    if perm is not None:
        meta['flip_class_indices'] = perm
    with torch.no_grad():
        return model.predict(img, [DataSample(metainfo=meta)])[0].seg_logits


def test_lip_flip_test_mirrored_image_gives_mirrored_and_swapped_prediction(lip_model):
    torch.manual_seed(0)
    img = torch.randn(1, 3, 32, 24)
    got = _predict(lip_model, img.flip(-1), LIP_SWAP)
    want = _predict(lip_model, img, LIP_SWAP).flip(-1)[LIP_SWAP]
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    # without the swap (no sided classes in the metadata) the relation does not hold: the test sees the swap
    plain = _predict(lip_model, img, None).flip(-1)[LIP_SWAP]
    assert not torch.allclose(_predict(lip_model, img.flip(-1), None), plain, rtol=1e-4, atol=1e-6)


def test_flip_test_on_a_known_forward(lip_model):
    """logits = a fixed function of the input; the flip test must give exp((f(x) + swap(flip(f(flip x)))) / 2)."""
    ramp = torch.linspace(-1, 2, 24)[None, None, None, :] * torch.arange(1, 21.)[None, :, None, None] / 20

    def known(x):
        return x[:, :1] * torch.arange(20.)[None, :, None, None] / 10 + ramp

    object.__setattr__(lip_model, 'logits', known)
    try:
        img = torch.randn(1, 3, 16, 24)
        got = _predict(lip_model, img, LIP_SWAP)
        want = ((known(img) + known(img.flip(-1)).flip(-1)[:, LIP_SWAP]) * 0.5).exp()[0]
        torch.testing.assert_close(got, want)
        # the checkpoint's dataset_meta serves a sample without metadata (hrvision infer)
        lip_model.dataset_meta = dict(flip_class_indices=LIP_SWAP)
        torch.testing.assert_close(_predict(lip_model, img, None), want)
        no_swap = ((known(img) + known(img.flip(-1)).flip(-1)) * 0.5).exp()[0]
        assert not torch.allclose(got, no_swap)
    finally:
        del lip_model.logits
        lip_model.dataset_meta = None


def _official_generic_window(f, img, crop, stride, pad):
    """The official ``BaseDataset.multi_scale_inference`` at one scale, no flip, written out from its description:
    an image no larger than the window runs padded to it; else it is padded up to the window, windows every stride,
    the ones reaching the border padded, overlaps averaged; ``pad``: the per-channel pad value."""
    ch, cw = crop
    sh, sw = stride
    h, w = img.shape[-2:]

    def padded(x):
        out = pad.view(1, -1, 1, 1).repeat(1, 1, max(x.shape[-2], ch), max(x.shape[-1], cw))
        out[..., :x.shape[-2], :x.shape[-1]] = x
        return out

    if max(h, w) <= min(ch, cw):
        return f(padded(img)).exp()[..., :h, :w]
    x = padded(img) if h < ch or w < cw else img
    H, W = x.shape[-2:]
    rows, cols = int(np.ceil((H - ch) / sh)) + 1, int(np.ceil((W - cw) / sw)) + 1
    preds, count = torch.zeros(1, 20, H, W), torch.zeros(1, 1, H, W)
    for r in range(rows):
        for c in range(cols):
            h0, w0 = r * sh, c * sw
            h1, w1 = min(h0 + ch, H), min(w0 + cw, W)
            win = x[..., h0:h1, w0:w1]
            if h1 == H or w1 == W:
                win = padded(win)
            preds[..., h0:h1, w0:w1] += f(win).exp()[..., :h1 - h0, :w1 - w0]
            count[..., h0:h1, w0:w1] += 1
    return (preds / count)[..., :h, :w]


def test_padded_sliding_window_is_the_official_generic_test(lip_model):
    """test_cfg.window='pad' (the PASCAL-Context / LIP / ADE20K test configs) on a forward that sees its
    neighbourhood, so the padding shows: equal to the official loop; the Cityscapes-style shifted windows differ."""
    gain = (torch.arange(20.) / 10 + 0.1)[None, :, None, None]

    def known(x):
        return F.avg_pool2d(x, 5, stride=1, padding=2)[:, [k % 3 for k in range(20)]] * gain

    pre = lip_model.data_preprocessor
    pad = (-pre.mean / pre.std).view(-1)
    saved = dict(lip_model.test_cfg)
    object.__setattr__(lip_model, 'logits', known)
    try:
        torch.manual_seed(1)
        for shape in [(20, 30), (10, 8), (10, 30), (12, 12)]:   # slid, padded whole, padded then slid, one window
            img = torch.randn(1, 3, *shape)
            lip_model.test_cfg.update(flip=False, crop_size=(12, 12), stride=None, window='pad')
            got = _predict(lip_model, img, None)
            torch.testing.assert_close(got, _official_generic_window(known, img, (12, 12), (8, 8), pad)[0])
            if shape != (12, 12):
                lip_model.test_cfg.update(window='shift', stride=(8, 8))
                assert not torch.allclose(_predict(lip_model, img, None), got)
    finally:
        del lip_model.logits
        lip_model.test_cfg.clear()
        lip_model.test_cfg.update(saved)
    with pytest.raises(Exception, match='window'):
        MODELS.build(dict(type='SegmentationModel', backbone=dict(type='HRNet', extra=tiny_extra(4),
                                                                   preset='segmentation'),
                          neck=dict(type='HRNetV2Concat', mode='bilinear'),
                          head=dict(type='SegmentationHead', num_classes=20), test_cfg=dict(window='padded')))


# ------------------------------------------------------------------------------------------------ configs
OFFICIAL = {   # config: (classes, crop, lr, iterations, test scales, flip at test)
    'hrnetv2_w48_pascal_context_59_480x480': (59, (480, 480), 4e-3, 62400, [1.0], False),
    'hrnetv2_w48_pascal_context_59_ms_flip_test': (59, (480, 480), 4e-3, 62400,
                                                   [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], True),
    'hrnetv2_w48_pascal_context_60_480x480': (60, (480, 480), 4e-3, 62400, [1.0], False),
    'hrnetv2_w48_lip_473x473': (20, (473, 473), 7e-3, 114150, [1.0], False),
    'hrnetv2_w48_lip_flip_test': (20, (473, 473), 7e-3, 114150, [1.0], True),
    'hrnetv2_w48_ade20k_520x520': (150, (520, 520), 2e-2, 151560, [1.0], False),
    'hrnetv2_w48_ade20k_ms_flip_test': (150, (520, 520), 2e-2, 151560, [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], True),
}


@pytest.mark.parametrize('name', sorted(OFFICIAL))
def test_official_configs_state_the_official_values(name):
    cfg = Config.fromfile(str(SEG / f'{name}.py'))
    classes, crop, lr, iters, scales, flip = OFFICIAL[name]
    assert len(config_metainfo(cfg)['classes']) == classes == cfg.model.head.num_classes
    crops = [tuple(t['crop_size']) for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'PadRandomCrop']
    assert crops == [crop] and cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.train_cfg.max_iters == iters == cfg.param_scheduler[0]['end']
    assert cfg.model.test_cfg.scales == scales and cfg.model.test_cfg.flip == flip
    # the official generic test: windows of the crop size at stride int(2/3 crop), padded
    assert cfg.model.test_cfg.window == 'pad' and tuple(cfg.model.test_cfg.crop_size) == crop
    assert 'stride' not in cfg.model.test_cfg or tuple(cfg.model.test_cfg.stride) == tuple(int(c * 2 / 3)
                                                                                           for c in crop)
    # MODEL.ALIGN_CORNERS: the ADE20K yaml (OCR branch) keeps the default True, the master LIP / PASCAL yamls False
    assert cfg.model.backbone.get('align_corners', False) is ('ade20k' in name)
    crops = [t['crop_size'] for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'PadRandomCrop']
    assert crops == [crop]


def _tiny_config(tmp_path: Path, demo: str) -> Path:
    """The demo config with a test-sized backbone (what CI can train in a second)."""
    cfg = tmp_path / f'{demo}_tiny.py'
    cfg.write_text(f"_base_ = [{str(SEG / (demo + '.py'))!r}]\n"
                   f"model = dict(backbone={TINY_BACKBONE!r})\n"
                   "train_dataloader = dict(batch_size=2)\n"
                   "default_hooks = dict(logger=dict(interval=1))\n")
    return cfg


@pytest.mark.parametrize('demo,data', [('demo_pascal_context', 'pc'), ('demo_lip', 'lip'), ('demo_ade20k', 'ade')])
def test_demo_configs_train_and_evaluate_through_the_runner(tmp_path, synth, demo, data):
    opts = {f'{k}_dataloader.dataset.data_root': str(synth / data) for k in ('train', 'val', 'test')}
    opts.update({'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2, 'param_scheduler': [],
                 'default_hooks.checkpoint.interval': 2})
    runner = build_runner(prepare_config(str(_tiny_config(tmp_path, demo)), work_dir=str(tmp_path / 'work'),
                                         cfg_options=opts))
    runner.train()
    assert runner.iter == 2
    metrics = runner.test()
    n = runner.model.head.num_classes
    assert 0.0 <= metrics['seg/mIoU'] <= 1.0 and len([k for k in metrics if k.startswith('seg/IoU.')]) == n
    if demo == 'demo_lip':
        assert runner.model.test_cfg['flip'] and 'seg/IoU.left-arm' in metrics


OFFICIAL_RUNS = {   # the configs that give the published numbers: (synthetic data, split of the test)
    'hrnetv2_w48_pascal_context_59_ms_flip_test': 'pc',
    'hrnetv2_w48_pascal_context_60_480x480': 'pc',
    'hrnetv2_w48_lip_flip_test': 'lip',
    'hrnetv2_w48_ade20k_ms_flip_test': 'ade',
}


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(OFFICIAL_RUNS))
def test_official_configs_train_and_run_their_test_protocol_through_the_runner(tmp_path, synth, name):
    """The official recipes as written (pipelines, crops, OHEM, schedule shape, the MS + flip test with padded
    windows), only with a test-sized backbone, one iteration, and the test's sizes scaled down (long side 64,
    48x48 windows: the official 520 / 480 would take minutes on a CPU), on the synthetic data of their layout."""
    data = str(synth / OFFICIAL_RUNS[name])
    ac = Config.fromfile(str(SEG / f'{name}.py')).model.backbone.get('align_corners')
    backbone = dict(TINY_BACKBONE, **({} if ac is None else dict(align_corners=ac)))
    cfg = tmp_path / f'{name}_tiny.py'
    cfg.write_text(f"_base_ = [{str(SEG / (name + '.py'))!r}]\n"
                   f"model = dict(backbone={backbone!r})\n"
                   "sync_bn = None\n")
    opts = {f'{k}_dataloader.dataset.data_root': data for k in ('train', 'val', 'test')}
    opts.update({f'{k}_dataloader.{o}': v for k in ('train', 'val', 'test')
                 for o, v in (('num_workers', 0), ('persistent_workers', False))})
    opts.update({'train_dataloader.batch_size': 1, 'train_cfg.max_iters': 1, 'train_cfg.val_interval': 100,
                 'param_scheduler.0.end': 1, 'default_hooks.checkpoint.interval': 1,
                 'default_hooks.logger.interval': 1,
                 'model.test_cfg.base_size': 64, 'model.test_cfg.crop_size': (48, 48), 'model.test_cfg.stride': None})
    runner = build_runner(prepare_config(str(cfg), work_dir=str(tmp_path / 'work'), cfg_options=opts))
    runner.train()
    assert runner.iter == 1
    metrics = runner.test()
    n = runner.model.head.num_classes
    assert 0.0 <= metrics['seg/mIoU'] <= 1.0 and len([k for k in metrics if k.startswith('seg/IoU.')]) == n
    tc = runner.model.test_cfg
    assert tc['window'] == 'pad' and tc['flip'] == (not name.endswith('480x480'))
    assert tc['scales'] == ([0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0] if 'ms_flip' in name else [1.0])


# ------------------------------------------------------------------------------------------------ CLI
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


SYNTH_RUN = """import sys
from hrvision.cli import main
for argv in (['data', 'synth-lip', 'lip', '--n', '2', '--n-val', '1', '--size', '48x40'],
             ['data', 'synth-pascal-context', 'pc', '--n', '2', '--n-val', '1', '--size', '36x44', '--seed', '3'],
             ['data', 'synth-ade20k', 'ade', '--n', '2', '--n-val', '1', '--size', '40x36'],
             ['data', 'synth-ade20k', 'bad', '--size', '40x0']):
    print('rc', main(argv), flush=True)
"""


@pytest.mark.slow
def test_cli_synth_writes_the_exact_layouts(tmp_path):
    """The three ``hrvision data synth-*`` commands (the CLI's entry function, one process for the three), their
    files read back by the readers; a bad --size is one line, exit 2."""
    r = subprocess.run([sys.executable, '-c', SYNTH_RUN], capture_output=True, text=True, env=ENV, cwd=tmp_path,
                       timeout=600)
    done = [line for line in r.stdout.splitlines() if line.startswith('rc ')]
    assert done == ['rc 0'] * 3, (r.stdout, r.stderr[-3000:])
    # the bad size: one line naming the argument, exit 2, nothing written
    _one_line_error(r, 'synth-ade20k', '--size', "got '40x0'")
    root = tmp_path / 'lip'
    ids = (root / 'train_id.txt').read_text().split()
    assert len(ids) == 2 and all((root / 'train_images' / f'{i}.jpg').is_file() and
                                 (root / 'train_segmentations' / f'{i}.png').is_file() for i in ids)
    assert len((root / 'val_id.txt').read_text().split()) == 1
    lip = LIPDataset(str(root), split='train', pipeline=LOAD)
    assert lip[0]['data_samples'].gt_sem_seg.shape == (48, 40)
    root = tmp_path / 'pc'
    ids = (root / 'ImageSets' / 'SegmentationContext' / 'train.txt').read_text().split()
    assert len(ids) == 2 and all((root / 'JPEGImages' / f'{i}.jpg').is_file() and
                                 (root / 'SegmentationClassContext' / f'{i}.png').is_file() for i in ids)
    assert _raw(root / 'SegmentationClassContext' / f'{ids[0]}.png').shape == (36, 44)
    assert len(PascalContextDataset(str(root), split='val', num_classes=60, pipeline=LOAD)) == 1
    root = tmp_path / 'ade'
    assert sorted(q.name for q in (root / 'images' / 'training').iterdir()) == ['ADE_train_00000001.jpg',
                                                                               'ADE_train_00000002.jpg']
    assert sorted(q.name for q in (root / 'annotations' / 'validation').iterdir()) == ['ADE_val_00000001.png']
    raw = _raw(root / 'annotations' / 'training' / 'ADE_train_00000001.png')
    assert raw.shape == (40, 36) and raw.dtype == np.uint8 and raw.max() <= 150 and (raw == 0).any()
    assert len(ADE20KDataset(str(root), split='training', pipeline=LOAD)) == 2
    assert not (tmp_path / 'bad').exists() or not any((tmp_path / 'bad').rglob('*.png'))


@pytest.mark.slow
def test_cli_refuses_an_ade20k_label_above_150_naming_the_file(tmp_path):
    root = tmp_path / 'ade'
    write_ade20k(str(root), n_train=1, n_val=1, size=(32, 32))
    png = root / 'annotations' / 'training' / 'ADE_train_00000001.png'
    lab = _raw(png).copy()
    lab[3, 3] = 151
    write_image(str(png), lab)
    opts = [f'{k}_dataloader.dataset.data_root={root}' for k in ('train', 'val', 'test')]
    r = _cli('train', _tiny_config(tmp_path, 'demo_ade20k'), '--work-dir', 'work', '--cfg-options', *opts,
             'train_cfg.max_iters=1', 'train_dataloader.batch_size=1', cwd=tmp_path)
    _one_line_error(r, str(png), '[151]', '1-150')


@pytest.mark.slow
def test_cli_refuses_a_missing_list_file(tmp_path):
    root = tmp_path / 'pc'
    write_pascal_context(str(root), n_train=1, n_val=1, size=(32, 32))
    (root / 'ImageSets' / 'SegmentationContext' / 'train.txt').unlink()
    opts = [f'{k}_dataloader.dataset.data_root={root}' for k in ('train', 'val', 'test')]
    r = _cli('train', _tiny_config(tmp_path, 'demo_pascal_context'), '--work-dir', 'work', '--cfg-options', *opts,
             cwd=tmp_path)
    _one_line_error(r, 'PASCAL-Context split list not found', str(root / 'ImageSets/SegmentationContext/train.txt'))
