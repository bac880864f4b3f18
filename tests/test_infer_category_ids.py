"""``detections.json`` (and the Inferencer's ``category_ids``) carry the training data's category ids, not
label + 1: the user's, else from the checkpoint mmengine wrote (``meta.dataset_meta``), else the config's annotation
file; never guessed (no COCO 80 for an 80-class model, no label + 1): without them ``detections.json`` is refused.
The synthetic set's ids are 1, 3, 4, 7 (more in tests/test_silent_results.py)."""
import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from hrvision.engine.runner import build_runner, prepare_config
from hrvision.inference import Inferencer
from hrvision.tasks.detection import synth as det_synth
from hrvision.tasks.detection.categories import resolve
from tests.test_infer import TINY

CONFIG = str(Path(__file__).resolve().parents[1] / 'configs/detection/hrnetv2p_tiny_fcos_synth.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
SYNTH_IDS = {1, 3, 4, 7}


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A detector trained 2 iterations by the Runner on the synthetic set (its checkpoint has mmengine's meta),
    the data root, and a copy of the config whose data folder does not exist (only the checkpoint knows ids)."""
    tmp = tmp_path_factory.mktemp('det_ids')
    root = str(tmp / 'data') + '/'
    det_synth.write_synthetic(root, n_train=4, n_val=2, seed=5, size=(64, 80))
    pipe = [dict(type='LoadDetectionImage'), dict(type='DetectionResize', scale=(64, 64)), dict(type='PackDetectionInputs')]
    opts = {'train_dataloader.dataset.data_root': root, 'train_dataloader.batch_size': 2,
            'train_dataloader.dataset.pipeline': pipe, 'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
            'default_hooks.checkpoint.interval': 2, 'val_dataloader': None, 'val_cfg': None, 'val_evaluator': None,
            'model.backbone.extra': TINY, 'model.detector.score_thresh': 0.0}
    torch.manual_seed(0)
    runner = build_runner(prepare_config(CONFIG, work_dir=str(tmp / 'work'), cfg_options=opts))
    runner.train()
    ckpt = tmp / 'work' / 'iter_2.pth'
    assert torch.load(ckpt, weights_only=True)['meta']['dataset_meta']['cat_ids'] == [1, 3, 4, 7]
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict({'model.backbone.extra': TINY, 'model.detector.score_thresh': 0.0,
                         'test_dataloader.dataset.data_root': str(tmp / 'absent') + '/',
                         'val_dataloader.dataset.data_root': str(tmp / 'absent') + '/'})
    cfg.dump(str(tmp / 'cfg_no_data.py'))
    cfg.merge_from_dict({'test_dataloader.dataset.data_root': root, 'val_dataloader.dataset.data_root': root})
    cfg.dump(str(tmp / 'cfg_data.py'))
    bare = tmp / 'bare.pth'   # the same weights without any meta
    torch.save({'state_dict': torch.load(ckpt, weights_only=True)['state_dict']}, bare)
    return dict(ckpt=str(ckpt), bare=str(bare), root=Path(root), no_data=str(tmp / 'cfg_no_data.py'),
                data=str(tmp / 'cfg_data.py'))


def test_cli_writes_the_checkpoints_category_ids(trained, tmp_path):
    imgs = sorted((trained['root'] / 'val2017').iterdir())
    out = tmp_path / 'out'
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'infer', trained['no_data'], trained['ckpt'],
                        *map(str, imgs), '--out', str(out)], capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'warning' not in r.stderr
    dets = json.loads((out / 'detections.json').read_text())
    assert dets and {d['category_id'] for d in dets} <= SYNTH_IDS
    assert all(d['category_id'] == [1, 3, 4, 7][d['label']] for d in dets)
    assert {d['category_id'] for d in dets} - {1}   # not only label 0, where label + 1 would agree
    from pycocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(trained['root'] / 'annotations' / 'instances_val2017.json'))
        res = gt.loadRes(str(out / 'detections.json'))
    assert len(res.getAnnIds()) == len(dets) and set(res.getCatIds()) == SYNTH_IDS


def test_ids_from_the_configs_annotation_file(trained):
    img = str(sorted((trained['root'] / 'val2017').iterdir())[0])
    inf = Inferencer(trained['data'], trained['bare'], device='cpu')   # no meta: the config's val annotations
    r = inf(img)[0]
    assert set(r['category_ids'].tolist()) <= SYNTH_IDS and (r['category_ids'] == [[1, 3, 4, 7][k]
                                                                                   for k in r['labels']]).all()
    assert inf.task.categories.names == ['circle', 'square', 'triangle', 'bar']


def test_no_label_plus_one_without_ids(trained, tmp_path, capsys):
    from hrvision.cli import main
    img = str(sorted((trained['root'] / 'val2017').iterdir())[0])
    assert main(['infer', trained['no_data'], trained['bare'], img, '--out', str(tmp_path / 'o')]) == 2
    err = capsys.readouterr().err
    assert 'detections.json needs the dataset category id of each of the 4 detector labels' in err
    assert "the checkpoint has no dataset_meta['cat_ids']" in err and 'does not exist' in err
    assert not (tmp_path / 'o' / 'detections.json').exists()


def test_eighty_classes_get_no_made_up_ids_and_a_mismatched_meta_is_passed_over(capsys):
    c = resolve(SimpleNamespace(dataset_meta=None, cfg=None), 80)
    assert c.ids is None and c.names is None and 'no dataset_meta' in c.source
    c = resolve(SimpleNamespace(dataset_meta={'cat_ids': [1, 3, 4, 7]}, cfg=None), 80)   # 4 ids, 80 classes
    assert c.ids is None and "the checkpoint's dataset_meta has 4 category ids" in c.source
    c = resolve(SimpleNamespace(dataset_meta={'cat_ids': [1, 3, 4, 7]}, cfg=None), 5)
    assert c.ids is None and capsys.readouterr().err == ''
    c = resolve(SimpleNamespace(dataset_meta={'cat_ids': [1, 3, 4, 7]}, cfg=None), 4, given=[2, 4, 6, 8])
    assert c.ids == [2, 4, 6, 8]   # the user's ids first


def test_multitask_results_carry_the_detector_heads_category_ids(tmp_path):
    from hrvision.cli import main
    from hrvision.registry import MODELS
    from tests.test_infer import ROOT, _data, _overrides
    _data('multitask', tmp_path / 'data')
    base, opts = _overrides('multitask', tmp_path / 'absent')   # the config's annotation files do not exist
    cfg = Config.fromfile(str(ROOT / base))
    cfg.merge_from_dict(opts)
    cfg.dump(str(tmp_path / 'cfg.py'))
    torch.manual_seed(0)
    ids = [1, 3, 5, 8, 9]   # as a checkpoint of a dataset with these five categories records them
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(),
                'meta': {'dataset_meta': {'cat_ids': ids, 'classes': ('person', 'a', 'b', 'c', 'd')}}},
               tmp_path / 'w.pth')
    img = sorted((tmp_path / 'data' / 'val2017').iterdir())[0]
    assert main(['infer', str(tmp_path / 'cfg.py'), str(tmp_path / 'w.pth'), str(img), '--out',
                 str(tmp_path / 'o')]) == 0
    det = json.loads((tmp_path / 'o' / 'results.json').read_text())[0]['heads']['det']
    assert det['labels'] and det['category_ids'] == [ids[k] for k in det['labels']]


def test_onnx_file_carries_the_checkpoints_category_ids(trained, tmp_path):
    import hrvision
    from hrvision.export import export_model
    pytest.importorskip('onnxruntime')
    export_model(hrvision.init_model(trained['no_data'], trained['ckpt'], 'cpu'), str(tmp_path / 'm.onnx'), (64, 64),
                 'onnx')
    img = str(sorted((trained['root'] / 'val2017').iterdir())[0])
    r = Inferencer(trained['no_data'], None, device='cpu', backend='onnxruntime', onnx=str(tmp_path / 'm.onnx'))(img)[0]
    assert len(r['labels']) and (r['category_ids'] == [[1, 3, 4, 7][k] for k in r['labels']]).all()


def test_no_warning_when_a_source_fits(capsys):
    c = resolve(SimpleNamespace(dataset_meta={'cat_ids': [1, 3, 4, 7], 'classes': ('a', 'b', 'c', 'd')}, cfg=None), 4)
    assert c.ids == [1, 3, 4, 7] and c.names == ['a', 'b', 'c', 'd'] and capsys.readouterr().err == ''
    assert resolve(SimpleNamespace(dataset_meta=None, cfg=None), 80).ids is None   # no source: no ids, no warning
    assert capsys.readouterr().err == ''
