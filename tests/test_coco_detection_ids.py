"""COCO's 80 detection categories stated once (``_base_/datasets/coco_detection.py``): a COCO detector reports COCO
ids in ``detections.json`` with no annotation file at hand -- a zoo model converted from mmdetection, whose file
stores no ids, by alias through the CLI -- and a COCO config pointed at a file with other ids is refused."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import hrvision.tasks.detection  # noqa: F401  (registration)
from hrvision.data.metainfo import load_metainfo_file
from hrvision.errors import DataError
from hrvision.tasks.detection import synth as det_synth
from hrvision.tasks.detection.dataset import CocoDetectionDataset
from tests.test_infer import TINY

REPO = Path(__file__).resolve().parents[1]
COCO = load_metainfo_file('_base_/datasets/coco_detection.py', 'test')
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def test_the_preset_is_cocos_80_categories_in_label_order():
    """Checked against torchvision's COCO list (91 slots indexed by category id, 'N/A' where COCO has none)."""
    from torchvision.models.detection import FasterRCNN_ResNet50_FPN_Weights
    slots = FasterRCNN_ResNet50_FPN_Weights.DEFAULT.meta['categories']
    ids = [i for i, name in enumerate(slots) if name not in ('__background__', 'N/A')]
    assert COCO['category_ids'] == ids and list(COCO['classes']) == [slots[i] for i in ids] and len(ids) == 80


def test_a_file_with_other_ids_is_refused_through_the_cli(tmp_path):
    """`hrvision data check` of the COCO config on a file with 4 categories: reported as an error, exit 2."""
    det_synth.write_synthetic(str(tmp_path / 'd'), n_train=2, n_val=2, seed=1, size=(48, 48))
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'data', 'check',
                        'configs/detection/hrnetv2p_w32_faster_rcnn_coco.py', '--data-root', str(tmp_path / 'd')],
                       capture_output=True, text=True, env=ENV, cwd=REPO, timeout=300)
    assert r.returncode == 2, (r.stdout[-1500:], r.stderr[-1500:])
    assert 'instances_train2017.json: its 4 category ids (1, 3, 4, 7) are not the 80' in r.stdout, r.stdout
    assert 'Traceback' not in r.stderr + r.stdout


def test_the_dataset_states_or_leaves_the_ids_to_the_file(tmp_path):
    det_synth.write_synthetic(str(tmp_path), n_train=2, n_val=2, seed=1, size=(48, 48))
    kw = dict(ann_file=str(tmp_path / 'annotations/instances_val2017.json'),
              data_prefix=dict(img=str(tmp_path / 'val2017')), pipeline=[], test_mode=True)
    with pytest.raises(DataError, match=r'instances_val2017.json: its 4 category ids \(1, 3, 4, 7\) are not the 80'):
        CocoDetectionDataset(metainfo=dict(from_file='_base_/datasets/coco_detection.py'), **kw)
    ok = CocoDetectionDataset(metainfo=dict(classes=('circle', 'square', 'triangle', 'bar'),
                                            category_ids=[1, 3, 4, 7]), **kw)
    assert ok.metainfo['cat_ids'] == [1, 3, 4, 7]
    assert CocoDetectionDataset(metainfo=None, **kw).metainfo['cat_ids'] == [1, 3, 4, 7]


@pytest.fixture(scope='module')
def tiny_coco_zoo(tmp_path_factory):
    """A tiny 80-class Faster R-CNN on the COCO config (random weights, every box kept) published as a bare state
    dict without ids, and a zoo entry for it (through $HRVISION_ZOO_FILE, which CLI subprocesses read)."""
    tmp = tmp_path_factory.mktemp('coco_zoo')
    cfg = tmp / 'tiny_frcnn_coco.py'
    cfg.write_text(f"_base_ = [{str(REPO / 'configs/detection/hrnetv2p_w32_faster_rcnn_coco.py')!r}]\n"
                   f"model = dict(backbone=dict(extra={TINY!r}), neck=dict(out_channels=16),\n"
                   "             detector=dict(box_score_thresh=0.0, box_detections_per_img=100))\n")
    import hrvision
    torch.manual_seed(0)
    model = hrvision.init_model(str(cfg), None, 'cpu')
    published = tmp / 'published.pth'
    torch.save(model.state_dict(), published)
    import hashlib
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    extra = tmp / 'zoo.json'
    extra.write_text(json.dumps([dict(
        alias='tiny-frcnn-coco', task='detection', dataset='COCO', arch='hrnet_w18_small_v1', config=str(cfg),
        urls=['http://127.0.0.1:9/tiny.pth'], sha256=digest, source_format='hrvision', metric='-',
        metric_source='test', licence='test')]))
    env = dict(ENV, HRVISION_ZOO_FILE=str(extra), TORCH_HOME=str(tmp / 'torch'))
    return dict(tmp=tmp, published=published, env=env)


@pytest.mark.slow
def test_zoo_detector_by_alias_writes_coco_ids(tiny_coco_zoo, tmp_path):
    env = tiny_coco_zoo['env']
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'zoo', 'get', 'tiny-frcnn-coco', '--file',
                        str(tiny_coco_zoo['published'])], capture_output=True, text=True, env=env, cwd=REPO,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    converted = torch.load(r.stdout.strip().splitlines()[-1], weights_only=False)
    assert converted['meta']['dataset_meta']['cat_ids'] == COCO['category_ids']   # recorded with the weights
    from hrvision.data.io import write_image
    img = tmp_path / 'street.png'
    write_image(str(img), np.random.default_rng(0).integers(0, 255, (96, 128, 3), np.uint8))
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'infer', 'tiny-frcnn-coco', str(img), '--out',
                        str(tmp_path / 'out'), '--device', 'cpu'], capture_output=True, text=True,
                       env=dict(env, HF_HUB_OFFLINE='1'), cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    dets = json.loads((tmp_path / 'out' / 'detections.json').read_text())
    assert dets and all(d['category_id'] == COCO['category_ids'][d['label']] for d in dets)
    assert any(d['category_id'] != d['label'] + 1 for d in dets)   # COCO's gaps, not label + 1


def test_the_coco_config_alone_gives_the_ids(tiny_coco_zoo):
    """A checkpoint without dataset_meta and no annotation file here: the config's preset names the labels."""
    from types import SimpleNamespace

    from mmengine.config import Config

    from hrvision.tasks.detection.categories import resolve
    cfg = Config.fromfile(str(tiny_coco_zoo['tmp'] / 'tiny_frcnn_coco.py'))
    c = resolve(SimpleNamespace(dataset_meta=None, cfg=cfg), 80)
    assert c.ids == COCO['category_ids'] and c.names[0] == 'person' and 'metainfo' in c.source
    c = resolve(SimpleNamespace(dataset_meta=None, cfg=cfg), 4)   # another class count: passed over, said
    assert c.ids is None and 'states 80 categories' in c.source
