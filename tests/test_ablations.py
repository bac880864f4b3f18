"""Issue 16: the article's output-resolution (1x-8x) and exchange-unit ablations."""
import json
import os
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

import hrvision
from hrvision.backbones.hrnet import _stage, tiny_extra
from hrvision.configs_path import config_path
from hrvision.errors import ConfigError
from hrvision.registry import MODELS
from hrvision.shape import ShapeSpec

TINY = tiny_extra(4)
# two modules in stages 3 and 4, so that full / across / final differ (tiny_extra has 1/1/2)
EXTRA = dict(STAGE1=_stage(1, [1], [8], 'BOTTLENECK'), STAGE2=_stage(1, [1, 1], [4, 8]),
             STAGE3=_stage(2, [1, 1, 1], [4, 8, 16]), STAGE4=_stage(2, [1, 1, 1, 1], [4, 8, 16, 32]))


def run_cli(*args, timeout=240):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, '-m', 'hrvision', *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def fuse_params(c):
    """Parameters of one module's exchange unit (every row) with branch channels ``c``, from the layer shapes:
    j > i: 1x1 conv c[j]->c[i] + BN(c[i]); j < i: (i-j-1) x [3x3 conv c[j]->c[j] + BN(c[j])], 3x3 conv c[j]->c[i]
    + BN(c[i])."""
    total = 0
    for i in range(len(c)):
        for j in range(len(c)):
            if j > i:
                total += c[j] * c[i] + 2 * c[i]
            elif j < i:
                total += (i - j - 1) * (9 * c[j] * c[j] + 2 * c[j]) + 9 * c[j] * c[i] + 2 * c[i]
    return total


def removed(extra, exchange):
    """Sum of the exchange units a variant drops: 'across' keeps each stage's last module, 'final' only stage 4's."""
    total = 0
    for s in (2, 3, 4):
        st = extra[f'STAGE{s}']
        for k in range(st['NUM_MODULES']):
            stage_last = k == st['NUM_MODULES'] - 1
            keep = (s == 4 and stage_last) or (exchange == 'across' and stage_last)
            total += 0 if keep else fuse_params(st['NUM_CHANNELS'])
    return total


def test_full_exchange_is_todays_hrnet_bit_for_bit():
    torch.manual_seed(0)
    a = hrvision.HRNet(extra=EXTRA).eval()
    b = hrvision.HRNet(extra=EXTRA, exchange='full').eval()
    assert list(a.state_dict()) == list(b.state_dict())
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 64, 64)
    assert all(torch.equal(u, v) for u, v in zip(a(x), b(x)))
    with torch.device('meta'):
        assert list(hrvision.HRNet().state_dict()) == list(hrvision.HRNet(exchange='full').state_dict())


@pytest.mark.parametrize('exchange', ['across', 'final'])
def test_partial_exchange_parameter_counts(exchange):
    full = hrvision.HRNet(extra=EXTRA)
    m = hrvision.HRNet(extra=EXTRA, exchange=exchange)
    assert removed(EXTRA, exchange) > 0
    assert n_params(full) - n_params(m) == removed(EXTRA, exchange)
    keys = m.state_dict().keys()
    assert not any(k.startswith('stage3.0.fuse_layers') for k in keys)        # inside stage 3: gone in both
    assert any(k.startswith('stage4.1.fuse_layers.3.') for k in keys)          # the output fusion stays
    assert any(k.startswith('stage3.1.fuse_layers') for k in keys) == (exchange == 'across')
    # the branches still run and the outputs keep their shapes
    outs = m.eval()(torch.zeros(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [4, 8, 16, 32]


def test_flops_cli_reports_each_variant():
    """W32: params = full minus the exchange units the structure drops, GFLOPs fall; the CLI reports a variant
    (one subprocess for the report, one for the refusal: each costs an import of everything)."""
    from hrvision.backbones.hrnet import VARIANTS
    rows = {}
    for ex in ('full', 'across', 'final'):
        with torch.device('meta'):
            rows[ex] = hrvision.count(hrvision.build_backbone('hrnet_w32', exchange=ex), (256, 192))
    assert rows['full'].params == 29_305_536                                     # today's hrnet_w32 (multi-scale)
    for ex in ('across', 'final'):
        assert rows['full'].params - rows[ex].params == removed(VARIANTS['hrnet_w32'], ex)
    assert rows['full'].gflops > rows['across'].gflops > rows['final'].gflops
    r = run_cli('flops', 'hrnet_w32', '--shape', '256', '192', '--exchange', 'final', '--json')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {'name': 'hrnet_w32', 'exchange': 'final', **rows['final'].as_dict(),
                                    'input_hw': [256, 192]}
    bad = run_cli('flops', 'hrnet_w32', '--exchange', 'within')
    assert bad.returncode == 2 and 'Traceback' not in bad.stderr
    assert "'full', 'across', 'final'" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_exchange_option_validated():
    with pytest.raises(ValueError, match="exchange.*'full', 'across', 'final'.*did you mean 'final'"):
        hrvision.HRNet(extra=TINY, exchange='finall')


@pytest.mark.parametrize('branch', [1, 2, 3])
def test_single_scale_last_module_fuses_into_the_chosen_branch(branch):
    """out_indices=(k,) with multi_scale_output=False = the multi-scale net's output k, with row k's keys."""
    torch.manual_seed(0)
    full = hrvision.HRNet(extra=TINY).eval()
    one = hrvision.HRNet(extra=TINY, multi_scale_output=False, out_indices=(branch,)).eval()
    sd = one.state_dict()
    assert all(k in full.state_dict() for k in sd)
    assert not any(k.startswith(f'stage4.1.fuse_layers.{r}.') for k in sd for r in range(4) if r != branch)
    one.load_state_dict({k: full.state_dict()[k] for k in sd})
    x = torch.randn(1, 3, 64, 64)
    (y,) = one(x)
    assert torch.equal(y, full(x)[branch])
    assert one.output_shape() == {f'stage{branch + 1}': ShapeSpec(4 * 2 ** branch, 4 * 2 ** branch)}


def pose_cfg(branch, heatmap=None):
    stride = 4 * 2 ** branch
    return dict(type='PoseModel', backbone=dict(type='HRNet', extra=TINY, multi_scale_output=False,
                                                out_indices=(branch,)),
                head=dict(type='PoseHead', num_keypoints=17),
                codec=dict(type='PoseHeatmapCodec', input_size=(64, 128),
                           heatmap_size=heatmap or (64 // stride, 128 // stride), sigma=1))


@pytest.mark.parametrize('branch', [0, 1, 2, 3])
def test_pose_model_heatmaps_at_each_stride(branch):
    stride = 4 * 2 ** branch
    m = MODELS.build(pose_cfg(branch)).eval()
    assert m.head.final_layer.in_channels == 4 * 2 ** branch                    # from output_shape
    x = torch.zeros(2, 3, 128, 64)
    assert m(x).shape == (2, 17, 128 // stride, 64 // stride)
    from hrvision.data.metainfo import parse_metainfo   # no data samples: the flip test reads model.dataset_meta
    m.dataset_meta = parse_metainfo(dict(from_file='_base_/datasets/coco.py'), 'test')
    samples = m(x, mode='predict')
    assert samples[0].pred_keypoints.shape == (17, 2)
    assert float(samples[0].pred_keypoints.max()) <= 128


def test_pose_codec_at_the_wrong_stride_is_a_build_error():
    with pytest.raises(ConfigError, match=r'heatmap_size=\[16, 32\].*stride 16.*\[4, 8\]'):
        MODELS.build(pose_cfg(2, heatmap=(16, 32)))


def test_head_in_index_reads_that_map():
    m = MODELS.build(dict(type='PoseModel', backbone=dict(type='HRNet', extra=TINY, out_indices=(0, 1, 2, 3)),
                          head=dict(type='PoseHead', num_keypoints=5, flip_pairs=(), in_index=1),
                          codec=dict(input_size=(64, 64), heatmap_size=(8, 8))))
    assert m.head.final_layer.in_channels == 8
    assert m(torch.zeros(1, 3, 64, 64)).shape == (1, 5, 8, 8)
    with pytest.raises(ConfigError, match='in_index=4'):
        MODELS.build(dict(type='PoseModel', backbone=dict(type='HRNet', extra=TINY),
                          head=dict(type='PoseHead', in_index=4)))


@pytest.mark.parametrize('res,branch', [('2x', 1), ('4x', 2), ('8x', 3)])
def test_shipped_configs_follow_the_bench_rule(res, branch):
    """configs/pose/hrnet_w32_coco_256x192_{2x,4x,8x}.py state what the bench derives from the 1x config."""
    from hrvision.tasks.pose.ablations import at_branch
    one = Config.fromfile(config_path('pose/hrnet_w32_coco_256x192_1x.py'))
    base = Config.fromfile(config_path('pose/hrnet_w32_coco_256x192.py'))
    assert one.model == base.model and one.train_dataloader == base.train_dataloader   # 1x: today's recipe
    cfg = Config.fromfile(config_path(f'pose/hrnet_w32_coco_256x192_{res}.py'))
    derived = at_branch(one, branch)
    from hrvision.engine.runner import complete_config   # heatmap size and sigma follow in code
    complete_config(cfg), complete_config(derived)
    assert cfg.model.to_dict() == derived.model.to_dict()
    assert cfg.train_dataloader.to_dict() == derived.train_dataloader.to_dict()
    stride = 4 * 2 ** branch
    assert tuple(cfg.model.codec.heatmap_size) == (192 // stride, 256 // stride)
    assert cfg.model.codec.sigma == max(2 * 4 / stride, 1.0)


TINY_RUN = ['--width', '4', '--iters', '1', '--batch', '2', '--n-train', '4', '--n-val', '2', '--input-size', '32x32',
            '--image-size', '64x64']


def coco_ap(work, variant):
    """AP and AP50 (0-100) of a variant's saved predictions, scored by pycocotools directly (not by hrvision)."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(os.path.join(work, 'data', 'annotations', 'person_keypoints_val.json'))
        ev = COCOeval(gt, gt.loadRes(os.path.join(work, variant, 'keypoints_results.json')), 'keypoints')
        ev.evaluate(), ev.accumulate(), ev.summarize()
    return 100 * ev.stats[0], 100 * ev.stats[1]


def check_table(r, header, variants, png, work):
    """Table rows, JSON line and PNG; each variant's AP / AP50 is what pycocotools gives for that variant's own
    predictions (a mixed-up variant, a wrong scale or a stale number would differ) and the table prints it."""
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith('| ' + header))
    rows = [line.split('|')[1].strip() for line in lines[i + 2:i + 2 + len(variants)]]
    assert rows == variants
    out = json.loads(lines[-1])
    assert [row['variant'] for row in out['rows']] == variants
    for k, row in enumerate(out['rows']):
        assert (row['AP'], row['AP50']) == pytest.approx(coco_ap(work, row['variant']), abs=1e-9), row['variant']
        assert lines[i + 2 + k].split('|')[-2].strip() == f'{row["AP"]:.1f}'   # the AP column
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert [n for n in os.listdir(os.path.dirname(png)) if '.tmp' in n] == []


def test_ablation_commands_tiny(tmp_path):
    """Both ablations through the CLI in tiny form: tables, JSON line, PNG; bad input refused in one line."""
    work = str(tmp_path / 'res')
    r = run_cli('bench', 'ablation-resolution', *TINY_RUN, '--work-dir', work)
    check_table(r, 'output | stride', ['1x', '2x', '4x', '8x'], str(tmp_path / 'res' / 'ablation_resolution.png'), work)
    assert [row['stride'] for row in json.loads(r.stdout.splitlines()[-1])['rows']] == [4, 8, 16, 32]
    r = run_cli('bench', 'ablation-exchange', *TINY_RUN, '--work-dir', work,   # reuses the data
                '--plot', str(tmp_path / 'ex.png'))
    check_table(r, 'exchange= | final exchange | across-stage | within-stage', ['final', 'across', 'full'],
                str(tmp_path / 'ex.png'), work)
    params = {row['variant']: row['params'] for row in json.loads(r.stdout.splitlines()[-1])['rows']}
    for ex in ('final', 'across'):   # the variant was built: exactly its exchange units are gone (--width 4)
        assert params['full'] - params[ex] == removed(tiny_extra(4), ex)
    assert '| final | x |  |  |' in r.stdout and '| full | x | x | x |' in r.stdout
    bad = run_cli('bench', 'ablation-resolution', '--input-size', '100x64', '--work-dir', str(tmp_path / 'bad'))
    assert bad.returncode == 2 and 'Traceback' not in bad.stderr and 'multiples of 32' in bad.stderr
