"""HRNetV2 / HRNetV2p necks, segmentation head options, and the shipped segmentation configs."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import hrvision
from hrvision.heads.segmentation import SegmentationHead
from hrvision.necks import HRNetV2Concat, HRNetV2p
from hrvision.registry import MODELS

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'


def _feats(h, w, ch=(4, 8, 16, 32)):
    sizes = [(h, w)]
    for _ in range(3):
        sizes.append((math.ceil(sizes[-1][0] / 2), math.ceil(sizes[-1][1] / 2)))
    return [torch.randn(1, c, *s) for c, s in zip(ch, sizes)]


@pytest.mark.parametrize('hw', [(24, 32), (25, 33)])
def test_hrnetv2_concat(hw):
    neck = MODELS.build(dict(type='HRNetV2Concat', in_channels=[4, 8, 16, 32], align_corners=False))
    out = neck(_feats(*hw))
    assert out.shape == (1, 60, *hw) and neck.out_channels == 60
    # the first 4 channels are the stride-4 branch itself
    f = _feats(*hw)
    assert torch.equal(HRNetV2Concat([4, 8, 16, 32])(f)[:, :4], f[0])


@pytest.mark.parametrize('hw', [(32, 48), (25, 33)])
def test_hrnetv2p_pyramid(hw):
    neck = HRNetV2p([4, 8, 16, 32], out_channels=16, num_outs=5)
    out = neck(_feats(*hw))
    assert list(out) == ['p2', 'p3', 'p4', 'p5', 'p6'] and neck.strides == [4, 8, 16, 32, 64]
    for i, level in enumerate(out.values()):
        assert level.shape[1] == 16
        assert level.shape[-2:] == (math.ceil(hw[0] / 2 ** i), math.ceil(hw[1] / 2 ** i))


@pytest.mark.parametrize('kind', ['lovasz', 'dice'])
def test_seg_head_smp_aux_loss_respects_ignore(kind):
    """Features at ignored pixels (label 255) change neither the losses nor any gradient; elsewhere they do.
    Labels at feature size and eval-mode BatchNorm keep every pixel independent of the others."""
    torch.manual_seed(0)
    head = SegmentationHead(12, 5, aux_loss=dict(type=kind, weight=0.5)).eval()
    labels = torch.randint(0, 5, (2, 8, 8))
    labels[:, :3] = 255

    def run(x):
        x = x.clone().requires_grad_(True)
        losses = head.loss(x, labels)
        head.zero_grad()
        sum(losses.values()).backward()
        return losses, x.grad, [p.grad.clone() for p in head.parameters()]

    x = torch.randn(2, 12, 8, 8)
    losses, gx, grads = run(x)
    assert set(losses) == {'loss_ce', f'loss_{kind}'}
    assert gx[:, :, :3].abs().max() == 0 and gx[:, :, 3:].abs().max() > 0
    moved = x.clone()
    moved[:, :, :3] = 100 * torch.randn(2, 12, 3, 8)   # only ignored pixels
    losses2, _, grads2 = run(moved)
    for k in losses:
        torch.testing.assert_close(losses2[k], losses[k], rtol=1e-6, atol=1e-7, msg=k)
    for g, g2 in zip(grads, grads2):
        torch.testing.assert_close(g2, g, rtol=1e-5, atol=1e-7)
    labelled = x.clone()
    labelled[:, :, 5] += 3.0                            # a labelled row: the losses must move
    losses3, _, _ = run(labelled)
    assert all((losses3[k] - losses[k]).abs() > 1e-4 for k in losses)
    with pytest.raises(ValueError, match='aux_loss.type'):
        SegmentationHead(12, 5, aux_loss=dict(type='focal'))


@pytest.mark.parametrize('name, params', [('hrnetv2_w48_cityscapes_512x1024.py', 65859379),
                                          ('hrnetv2_w18_small_v1_cityscapes_512x1024.py', 1540819),
                                          ('hrnetv2_w18_small_v2_cityscapes_512x1024.py', 3939579)])
def test_seg_configs_build_official_sizes(name, params):
    cfg = Config.fromfile(str(CONFIGS / 'segmentation' / name))
    assert cfg.optim_wrapper.optimizer.lr == 0.01 and cfg.optim_wrapper.optimizer.weight_decay == 5e-4
    assert cfg.train_cfg.max_iters == 484 * 247 and cfg.train_dataloader.batch_size == 3
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) == params
    ms = Config.fromfile(str(CONFIGS / 'segmentation' / 'hrnetv2_w48_cityscapes_ms_flip_test.py'))
    assert ms.model.test_cfg.scales == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75] and ms.model.test_cfg.flip
