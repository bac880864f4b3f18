"""House fixes (issue 22, "The house"): ``data_root`` reaches every path however it is given (``init_model`` /
``hrvision infer --cfg-options data_root=``, a child config's ``data_root``); the heatmap size of nested datasets'
targets follows the model (no silent 48x64); PoseTrack's config moves with ``--data-root``; the multi-task detector
sees each image's valid size; a codec's missing sizes are named; the core names no task's keys or layouts."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import hrvision
from hrvision.configs_path import config_path
from hrvision.engine.runner import build_runner, check_override_keys, code_keys, prepare_config
from hrvision.errors import ConfigError
from hrvision.tasks.detection import synth as det_synth
from tests.test_infer import TINY

REPO = Path(__file__).resolve().parents[1]
DET = str(REPO / 'configs/detection/hrnetv2p_tiny_fcos_synth.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1')
SYNTH_IDS = {1, 3, 4, 7}


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, '-m', 'hrvision', *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=300)


@pytest.fixture(scope='module')
def det(tmp_path_factory):
    """Synthetic detection data in a folder the config does not name, the config with tiny widths (its data_root
    still the shipped one), and a checkpoint without meta (category ids can only come from the annotations)."""
    tmp = tmp_path_factory.mktemp('house')
    root = str(tmp / 'my data') + '/'
    det_synth.write_synthetic(root, n_train=1, n_val=2, seed=5, size=(64, 80))
    cfg = Config.fromfile(DET)
    cfg.merge_from_dict({'model.backbone.extra': TINY, 'model.detector.score_thresh': 0.0})
    cfg.dump(str(tmp / 'tiny.py'))
    torch.manual_seed(0)
    torch.save({'state_dict': hrvision.init_model(str(tmp / 'tiny.py'), None, 'cpu').state_dict()}, tmp / 'bare.pth')
    return dict(tmp=tmp, root=root, cfg=str(tmp / 'tiny.py'), ckpt=str(tmp / 'bare.pth'))


def test_init_model_data_root_moves_every_path(det):
    model = hrvision.init_model(det['cfg'], None, 'cpu', cfg_options={'data_root': det['root']})
    cfg = model.cfg
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.data_root == det['root'], key
    from hrvision.tasks.detection.categories import _ann_file
    assert _ann_file(cfg).startswith(det['root']) and os.path.isfile(_ann_file(cfg))


@pytest.mark.parametrize('how', ['--cfg-options data_root=', 'child config'])
def test_infer_reads_category_ids_from_the_moved_annotations(det, how, tmp_path):
    img = sorted(Path(det['root'], 'val2017').iterdir())[0]
    if how == 'child config':   # what docs/custom_data.md tells users: set data_root in a config of their own
        child = tmp_path / 'mine.py'
        child.write_text(f"_base_ = [{det['cfg']!r}]\ndata_root = {det['root']!r}\n")
        args = [child, det['ckpt'], img]
    else:
        args = [det['cfg'], det['ckpt'], img, '--cfg-options', f"data_root={det['root']}"]
    r = run_cli('infer', *args, '--out', tmp_path / 'out', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    import json
    dets = json.loads((tmp_path / 'out' / 'detections.json').read_text())
    assert dets and {d['category_id'] for d in dets} <= SYNTH_IDS


def test_child_config_data_root_moves_datasets_and_metrics(tmp_path):
    child = tmp_path / 'mine.py'
    child.write_text(f"_base_ = [{config_path('pose/demo_synthetic.py')!r}]\ndata_root = '/my/coco/'\n")
    cfg = prepare_config(str(child))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.data_root == '/my/coco/', key
    # --data-root still wins over the child's
    assert prepare_config(str(child), data_root='/other/').test_dataloader.dataset.data_root == '/other/'
    # a child of a config reading two roots cannot say which one it means: refused in one line, naming the file
    two = tmp_path / 'two.py'
    two.write_text(f"_base_ = [{config_path('multitask/demo_mixed_cityscapes_coco.py')!r}]\ndata_root = '/x/'\n")
    with pytest.raises(ConfigError, match=r"data_root = '/x/' of config .*two\.py: config .* reads several data "
                                          r'roots'):
        prepare_config(str(two))


def test_nested_pose_datasets_get_the_models_heatmap_size():
    """The 2x config (head on branch 1, stride 8) with a ConcatDataset / MultiSourceDataset train set: every
    targets codec gets the model's 24x32 and the σ scaled with it, never the codec's old default 48x64."""
    path = config_path('pose/hrnet_w32_coco_256x192_2x.py')
    base = Config.fromfile(path)
    ds = base.train_dataloader.dataset.to_dict()
    for wrapped in (dict(type='ConcatDataset', datasets=[ds, ds]),
                    dict(type='RepeatDataset', times=2, dataset=ds),
                    dict(type='MultiSourceDataset', sources=[dict(dataset=ds, ratio=1)])):
        cfg = prepare_config(path, cfg_options={'train_dataloader.dataset': wrapped})
        from hrvision.engine.runner import loader_datasets
        codecs = [t['codec'] for _, d in loader_datasets(cfg) for t in d.get('pipeline') or ()
                  if t['type'] == 'PoseHeatmapTargets']
        assert codecs and all(tuple(c['heatmap_size']) == (24, 32) for c in codecs), (wrapped['type'], codecs)
        assert all(c['sigma'] == 1.0 for c in codecs)
        assert tuple(cfg.model.codec.heatmap_size) == (24, 32)


def test_codec_sizes_are_filled_or_refused_in_one_line():
    from hrvision.codecs import PoseHeatmapCodec
    with pytest.raises(ConfigError, match='PoseHeatmapCodec heatmap_size is not set'):
        PoseHeatmapCodec(input_size=(192, 256))
    pose = config_path('pose/demo_synthetic.py')
    for opt, msg in (('model.codec.input_size=None', r'model\.codec\.input_size: expected \(W, H\)'),
                     ('model.codec.sigma=None', r'model\.codec\.sigma: expected a positive number'),
                     ('model.codec.input_size=(66,96)', r'model\.codec\.input_size \(66, 96\) is not a multiple of '
                                                        r'the stride 4')):
        key, value = opt.split('=')
        with pytest.raises(ConfigError, match=msg):
            prepare_config(pose, cfg_options={key: eval(value)})


def test_codec_refusal_through_the_cli(tmp_path):
    r = run_cli('train', config_path('pose/demo_synthetic.py'), '--cfg-options', 'model.codec.sigma=None',
                '--work-dir', tmp_path / 'wd', cwd=tmp_path)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert 'model.codec.sigma: expected a positive number' in r.stderr.strip().splitlines()[-1]


def test_posetrack_config_moves_with_data_root_and_has_no_test_loop(tmp_path):
    path = config_path('posetrack/hrnet_w32_posetrack18_256x192.py')
    cfg = prepare_config(path, data_root='/my/posetrack18/')
    assert cfg.train_dataloader.dataset.data_root == cfg.test_dataloader.dataset.data_root == '/my/posetrack18/'
    assert cfg.test_dataloader.dataset.type == 'PoseTrackDataset' and cfg.test_cfg is None
    (tmp_path / 'ckpt.pth').write_bytes(b'')
    r = run_cli('test', path, tmp_path / 'ckpt.pth', '--data-root', tmp_path, cwd=tmp_path)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert 'has no test loop' in r.stderr.strip().splitlines()[-1]


def test_a_test_pipeline_without_test_loop_builds_a_runner(tmp_path):
    """test_cfg / test_evaluator None with a test_dataloader (a test pipeline for inference): the Runner builds."""
    cfg = prepare_config(config_path('pose/demo_synthetic.py'), work_dir=str(tmp_path),
                         cfg_options={'test_cfg': None, 'test_evaluator': None,
                                      'model.backbone.extra': TINY})
    runner = build_runner(cfg)
    assert runner._test_loop is None and cfg.test_dataloader is not None


def test_tasks_register_their_config_keys_and_the_core_names_none():
    assert {'posetrack_joints', 'category_ids'} <= set(code_keys())
    check_override_keys(Config(dict(model=dict())), {'category_ids': [1, 3], 'posetrack_joints': 'coco'})
    core = {p: p.read_text() for p in [REPO / 'hrvision/engine/runner.py', REPO / 'hrvision/engine/loading.py',
                                       REPO / 'hrvision/weights.py']}
    for p, text in core.items():
        for word in ('posetrack_joints', 'category_ids', 'head.detector', 'detection layout'):
            assert word not in text, (p.name, word)


def test_multitask_detector_gets_each_images_valid_size():
    """Image 0 is 64x32 inside a 64x64 padded batch: the detector's raw boxes stay inside its 32 valid rows (the
    padded size let them reach the padding, where the bridge clamped them into zero-height scored boxes)."""
    from tests.test_multitask_model import HEADS, sample, tiny_model
    mt = tiny_model(dict(HEADS, det=dict(HEADS['det'], score_thresh=0.0))).eval()
    samples = [sample(['det'], size=64, seed=0), sample(['det'], size=64, seed=1)]
    samples[0].set_metainfo(dict(img_shape=(32, 64), ori_shape=(32, 64)))
    head = mt.heads['det']
    seen = []
    predict = head.predict
    head.predict = lambda feats, images: seen.append((images.image_sizes, predict(feats, images))) or seen[-1][1]
    torch.manual_seed(0)
    with torch.no_grad():
        mt(torch.randn(2, 3, 64, 64), samples, mode='predict')
    sizes, dets = seen[0]
    assert [tuple(s) for s in sizes] == [(32, 64), (64, 64)]
    boxes = dets[0]['boxes']
    assert len(boxes) and (boxes[:, 3] <= 32).all() and (boxes[:, 2] <= 64).all()


def test_per_dataset_roots_carry_to_the_top_level_so_a_dumped_config_reloads_the_same(tmp_path):
    """Moving each dataset with --cfg-options leaves the top-level data_root stale; the runner dumps the config, and
    reloading that dump must not move the data back to the stale root (a child config's data_root is applied)."""
    opts = {f'{k}_dataloader.dataset.data_root': '/per/dataset/' for k in ('train', 'val', 'test')}
    cfg = prepare_config(config_path('pose/demo_synthetic.py'), cfg_options=opts)
    cfg.dump(str(tmp_path / 'dumped.py'))
    again = prepare_config(str(tmp_path / 'dumped.py'))
    assert again.train_dataloader.dataset.data_root == again.test_dataloader.dataset.data_root == '/per/dataset/'
