"""Labels-only segmentation: ``upsampled_argmax`` (the class map of bilinearly upsampled scores without upsampling
every class) equals ``F.interpolate`` + the class maximum, and the Inferencer without ``seg_probs`` takes it where
one window covers the image at native size, with the official path's labels."""
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hrvision.tasks.segmentation import model as seg_model
from hrvision.tasks.segmentation.argmax import upsampled_argmax

ROOT = Path(__file__).resolve().parents[1]


def _smooth(c, h, w, cells, seed):
    """Scores whose class map has regions (a border share like a trained model's), not per-pixel noise."""
    g = torch.Generator().manual_seed(seed)
    return F.interpolate(torch.randn(1, c, *cells, generator=g) * 3, size=(h, w), mode='bilinear')[0]


def _assert_same_but_ties(labels, scores):
    """``labels`` equal the maximum of ``scores`` (C, H, W) except where its two best classes tie within float
    rounding (a few ulps: the order of the rounded multiply-adds differs from torch's fused kernel)."""
    want = scores.max(0).indices
    diff = labels != want
    if diff.any():
        top2 = scores[:, diff].topk(2, 0).values
        gap = (top2[0] - top2[1]).abs() / top2[0].abs().clamp(min=1)
        assert gap.max() < 1e-6, f'{int(diff.sum())} labels differ, largest score gap {float(gap.max())}'
    assert labels.dtype == torch.int64 and labels.shape == want.shape


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('size', [(256, 512), (250, 333), (64, 128), (37, 51), (1, 9), (64, 64)])
def test_equals_interpolate_then_max(align_corners, size):
    for scores in (_smooth(19, 64, 128, (6, 10), 0), _smooth(5, 64, 64, (12, 12), 1), torch.randn(3, 1, 9)):
        got = upsampled_argmax(scores, size, align_corners)
        up = F.interpolate(scores[None], size=size, mode='bilinear', align_corners=align_corners)[0]
        _assert_same_but_ties(got, up)


def test_borders_are_interpolated_not_guessed():
    """A class that wins only between the corners of a cell (no corner's maximum) is found: the border cells are
    computed, and the candidate pruning keeps it."""
    scores = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[0.9, 0.9]]])   # classes 0 | 1 at the corners, 2 between
    got = upsampled_argmax(scores, (1, 8), align_corners=True)
    up = F.interpolate(scores[None], size=(1, 8), mode='bilinear', align_corners=True)[0]
    assert (got == up.max(0).indices).all() and (got == 2).any()


def test_noise_falls_back_to_the_full_upsampling(monkeypatch):
    calls = []
    real = F.interpolate
    monkeypatch.setattr(F, 'interpolate', lambda *a, **k: calls.append(1) or real(*a, **k))
    scores = torch.randn(7, 32, 48, generator=torch.Generator().manual_seed(0))
    got = upsampled_argmax(scores, (128, 192), False)
    assert calls, 'a map of per-pixel noise is nearly all border: the full upsampling is cheaper'
    _assert_same_but_ties(got, real(scores[None], size=(128, 192), mode='bilinear')[0])
    smooth = _smooth(7, 32, 48, (3, 4), 2)
    calls.clear()
    upsampled_argmax(smooth, (128, 192), False)
    assert not calls


def test_nan_scores_give_torchs_labels():
    for where in [(2, 5, 7), (0, slice(4, 9), slice(4, 9)), (3, 15, slice(None))]:
        scores = _smooth(4, 16, 16, (3, 3), 3)
        scores[where] = float('nan')
        got = upsampled_argmax(scores, (64, 64), False)
        assert (got == F.interpolate(scores[None], size=(64, 64), mode='bilinear')[0].max(0).indices).all(), where


# ---- through the Inferencer ------------------------------------------------------------------------------------
def _inferencer(seg_probs, **cfg_options):
    from hrvision.inference import Inferencer
    inf = Inferencer(str(ROOT / 'tests/configs/seg_tiny.py'), None, device='cpu', seg_probs=seg_probs,
                     cfg_options=cfg_options or None)
    weight = torch.randn(inf.model.head.num_classes, 3, 1, 1, generator=torch.Generator().manual_seed(5))

    def logits(x):   # several classes in regions (random tiny weights give one class everywhere)
        return F.conv2d(F.avg_pool2d(x, 4), weight) * 3
    inf.model.logits = logits   # as the onnxruntime backend swaps the network (an instance attribute)
    return inf


def _image(seed, hw=(64, 128)):
    import cv2
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 255, (*hw, 3), dtype=np.uint8), (0, 0), 4)


@pytest.mark.parametrize('options', [{}, {'model.test_cfg.flip': True},
                                     {'model.test_cfg.flip': True, 'model.backbone.align_corners': True}])
def test_inferencer_labels_only_equals_the_official_path(monkeypatch, options):
    calls = []
    monkeypatch.setattr(seg_model, 'upsampled_argmax', lambda *a: calls.append(1) or upsampled_argmax(*a))
    fast, official = _inferencer(False, **options), _inferencer(True, **options)
    assert not fast.model.keep_scores and official.model.keep_scores
    for seed in range(2):
        img = _image(seed)
        got = fast(img)[0]['sem_seg']
        scores = torch.from_numpy(official(img)[0]['seg_probs'])
        assert calls, 'the labels-only path was not taken'
        assert len(np.unique(got)) > 2, 'the test needs several classes'
        _assert_same_but_ties(torch.from_numpy(got), scores)
    fast.seg_probs = True   # asked for later: the model keeps the scores again
    assert fast.model.keep_scores and 'seg_probs' in fast(_image(0))[0]


@pytest.mark.parametrize('options', [{'model.test_cfg.scales': [0.75, 1.0]},
                                     {'model.test_cfg.crop_size': (32, 64), 'model.test_cfg.stride': (32, 64)},
                                     {'model.test_cfg.window': 'pad', 'model.test_cfg.crop_size': (80, 160)}])
def test_scales_and_windows_keep_the_official_scores(monkeypatch, options):
    """Several scales or windows add exp-scores: the class map of the sum needs them all (no labels-only)."""
    calls = []
    monkeypatch.setattr(seg_model, 'upsampled_argmax', lambda *a: calls.append(1) or upsampled_argmax(*a))
    img = _image(0)
    got = _inferencer(False, **options)(img)[0]['sem_seg']
    want = _inferencer(True, **options)(img)[0]
    assert not calls and (got == want['sem_seg']).all()
