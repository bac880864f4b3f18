"""Boundary IoU beside mIoU in the Cityscapes metric (scikit-image morphology): a hand-computed case,
ignore handling, and through mmengine's ``evaluate(size)``."""
import numpy as np
import pytest
import torch

from hrvision.errors import InputError
from hrvision.tasks.segmentation.metric import SegmentationMetric, boundary_band, boundary_counts


def halves(split):
    """8x8 map: class 0 left of column ``split``, class 1 from it on."""
    m = np.zeros((8, 8), np.int64)
    m[:, split:] = 1
    return m


def test_band_by_hand():
    # disk(2) reaches two columns: the band of a vertical edge between columns 3|4 is columns 2..5
    assert np.array_equal(np.flatnonzero(boundary_band(halves(4), 2)[0]), [2, 3, 4, 5])
    assert np.array_equal(np.flatnonzero(boundary_band(halves(4), 1)[0]), [3, 4])
    assert not boundary_band(np.zeros((8, 8), np.int64), 2).any()  # the image frame is no boundary


def test_boundary_iou_by_hand():
    """gt edge 3|4, prediction edge 4|5, d=2. Class 0: gt band cols 2-3, pred band cols 3-4 -> 8 / 24.
    Class 1: gt band cols 4-5, pred band cols 5-6 -> 8 / 24. Plain IoU would be 32/40 and 24/32."""
    inter, union = boundary_counts(torch.from_numpy(halves(5)), torch.from_numpy(halves(4)), 2, 2)
    assert inter.tolist() == [8, 8] and union.tolist() == [24, 24]
    m = SegmentationMetric(num_classes=2, class_names=('a', 'b'), boundary_width=2)
    m.process({}, [dict(pred_sem_seg=torch.from_numpy(halves(5)), gt_sem_seg=torch.from_numpy(halves(4)))])
    out = m.evaluate(1)
    assert out['seg/mBIoU'] == pytest.approx(1 / 3) and out['seg/BIoU.a'] == pytest.approx(1 / 3)
    assert out['seg/IoU.a'] == pytest.approx(0.8) and out['seg/IoU.b'] == pytest.approx(0.75)


def test_ignored_pixels_neither_count_nor_make_a_boundary():
    gt = halves(8)              # all class 0 ...
    gt[:, 6:] = 255             # ... with an ignored strip: its edge is not a boundary
    pred = halves(6)            # the prediction calls the strip class 1
    inter, union = boundary_counts(torch.from_numpy(pred), torch.from_numpy(gt), 2, 1)
    # gt has no band; the prediction's band inside the valid area is column 5 (class 0)
    assert inter.tolist() == [0, 0] and union.tolist() == [8, 0]


def test_width_as_fraction_of_diagonal():
    a = boundary_counts(torch.from_numpy(halves(5)), torch.from_numpy(halves(4)), 2, 2)
    b = boundary_counts(torch.from_numpy(halves(5)), torch.from_numpy(halves(4)), 2, 2 / np.hypot(8, 8))
    assert np.array_equal(a, b)


@pytest.mark.parametrize('bad', [0, -1, 'wide', float('nan')])
def test_bad_width_refused(bad):
    with pytest.raises(InputError, match='boundary_width'):
        SegmentationMetric(num_classes=2, boundary_width=bad)


def _evaluate(wrong_last, n=3):
    metric = SegmentationMetric(num_classes=2, class_names=('a', 'b'), boundary_width=1)
    for i in range(n):
        gt = torch.from_numpy(halves(4))
        gt[0, 0] = 255
        pred = torch.from_numpy(halves(5 if wrong_last and i == n - 1 else 4))
        metric.process({}, [dict(pred_sem_seg=pred, gt_sem_seg=gt, img_path=f'{i}.png')])
    return metric.evaluate(n)


def test_through_evaluate_perfect_is_one_and_every_image_counts():
    perfect = _evaluate(False)
    assert 'seg/mBIoU' in perfect and all(v == 1.0 for v in perfect.values()), perfect
    assert _evaluate(True)['seg/mBIoU'] < 0.99
