"""One vocabulary per task (issue 22, "The house"): folder name = class prefix = config word = task kind.

Renamed classes keep their old registered names as aliases that build the *new* class and warn once per name, so
old configs and old checkpoints' stored configs still load; old task kinds ('det', 'seg') are read the same way.
A naming rule over every registered class keeps a future ``Det...`` / ``Seg...`` / ``Landmark...`` out.
"""
import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

import hrvision
import hrvision.registry as R
from hrvision.backbones.hrnet import tiny_extra
from hrvision.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[1]
TINY = tiny_extra(4)
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')

DET = dict(backbone=dict(extra=TINY), neck=dict(out_channels=8, num_outs=3, stride=2),
           detector=dict(kind='fcos', num_classes=3, head_convs=1, head_norm_groups=4),
           data_preprocessor=dict(type='HRVDataPreprocessor', pad_size_divisor=32))
FACE = dict(backbone=dict(type='HRNet', extra=TINY, preset='face'), head=dict(type='LandmarkHead', num_landmarks=3))

# registry, old name, new name, kwargs of a build (None: looked up only; built in the model tests below)
OLD_NAMES = [
    ('MODELS', 'HRNetDetector', 'DetectionModel', DET),
    ('MODELS', 'FaceLandmarkModel', 'FaceModel', dict(FACE, head=dict(type='FaceHead', num_landmarks=3))),
    ('MODELS', 'TorchvisionDetector', 'DetectionHead', None),
    ('MODELS', 'LandmarkHead', 'FaceHead', dict(in_channels=8, num_landmarks=3)),
    ('TRANSFORMS', 'LoadDetImage', 'LoadDetectionImage', {}),
    ('TRANSFORMS', 'DetResize', 'DetectionResize', dict(scale=(32, 32))),
    ('TRANSFORMS', 'DetRandomFlip', 'DetectionRandomFlip', dict(prob=0.5)),
    ('TRANSFORMS', 'PackDetInputs', 'PackDetectionInputs', {}),
    ('TRANSFORMS', 'SegRandomFlip', 'SegmentationRandomFlip', dict(prob=0.5)),
    ('TRANSFORMS', 'RandomHorizontalFlip', 'SegmentationRandomFlip', dict(prob=0.5)),
    ('TRANSFORMS', 'PackSegInputs', 'PackSegmentationInputs', {}),
    ('METRICS', 'CocoDetMetric', 'CocoDetectionMetric', {}),
    ('METRICS', 'CityscapesMetric', 'SegmentationMetric', dict(num_classes=3)),
    ('DATA_SAMPLERS', 'TaskBatchSampler', 'MultiTaskBatchSampler', None),
    ('MODELS', 'KeypointHead', 'PoseHead', dict(in_channels=4, num_keypoints=3)),
    ('TRANSFORMS', 'TopDownRandomFlip', 'PoseRandomFlip', dict(prob=0.5)),
    ('TRANSFORMS', 'GenerateHeatmapTarget', 'PoseHeatmapTargets', None),
    ('TRANSFORMS', 'MultiResize', 'MultiTaskResize', dict(scale=(64, 64))),
    ('TRANSFORMS', 'MultiRandomFlip', 'MultiTaskRandomFlip', dict(prob=0.5)),
    ('TRANSFORMS', 'MultiRandomCrop', 'MultiTaskRandomCrop', dict(crop_size=(32, 32))),
]


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _fresh(*names):
    """Forget that these old names warned (each warns once per process)."""
    for n in names:
        R._WARNED.discard(n)


@pytest.mark.parametrize('reg,old,new,kwargs', OLD_NAMES, ids=[o[1] for o in OLD_NAMES])
def test_old_name_builds_the_new_class_and_warns_once(reg, old, new, kwargs):
    registry = getattr(R, reg)
    cls = registry.get(new)
    assert isinstance(cls, type) and cls.__name__ == new
    assert old not in registry.module_dict and registry.aliases[old] == new   # listed once, under the new name
    _fresh(old, 'LandmarkHead')
    logger, lines = MMLogger.get_current_instance(), _Lines()
    logger.addHandler(lines)
    try:
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter('always')
            for _ in range(2):
                if kwargs is None:
                    assert registry.get(old) is cls
                else:
                    obj = registry.build(dict(type=old, **kwargs))
                    assert type(obj) is cls and type(obj).__name__ == new
    finally:
        logger.removeHandler(lines)
    msg = f'{old} is deprecated: use {new}'
    assert [str(w.message) for w in got if w.category is DeprecationWarning and old in str(w.message)] == [msg]
    assert lines.lines.count(msg) == 1


def test_old_python_names_still_import():
    from hrvision.heads.detection import DetectionHead, TorchvisionDetector
    from hrvision.heads.face import FaceHead
    from hrvision.heads.keypoint import KeypointHead
    from hrvision.heads.landmark import LandmarkHead
    from hrvision.heads.pose import PoseHead
    from hrvision.tasks.detection import DetectionModel
    from hrvision.tasks.detection.model import HRNetDetector
    from hrvision.tasks.face.model import FaceLandmarkModel, FaceModel
    assert (HRNetDetector, FaceLandmarkModel, TorchvisionDetector, LandmarkHead, KeypointHead) == \
        (DetectionModel, FaceModel, DetectionHead, FaceHead, PoseHead)


def test_old_hrnet_presets():
    """The backbone's fuse presets use the task words too; the older 'seg' / 'cls' give the same convention."""
    from hrvision.backbones.hrnet import FUSE_PRESETS
    assert {'segmentation', 'classification'} <= set(FUSE_PRESETS) and not {'seg', 'cls'} & set(FUSE_PRESETS)
    _fresh("HRNet preset 'seg'")
    with pytest.warns(DeprecationWarning, match="HRNet preset 'seg' is deprecated: use 'segmentation'"):
        old = hrvision.HRNet(extra=TINY, preset='seg')
    new = hrvision.HRNet(extra=TINY, preset='segmentation')
    assert old.preset == new.preset == 'segmentation'
    assert (old.upsample_mode, old.align_corners, old.bn1.momentum) == ('bilinear', False, 0.1) == \
        (new.upsample_mode, new.align_corners, new.bn1.momentum)


def test_config_checks_see_through_aliases():
    """The config checks look old names up like the build does: their signature check still names a bad key of an
    aliased class, and an unknown name gets a did-you-mean in the new vocabulary."""
    from hrvision.engine.config_checks import check_config_values
    with pytest.raises(ConfigError, match=r"model \(DetectionModel\) has no option 'detecter'.*'detector'"):
        check_config_values(Config(dict(model=dict(DET, type='HRNetDetector', detecter={}))))
    with pytest.raises(ConfigError, match=r"'DetectionModl'.*DetectionModel"):
        check_config_values(Config(dict(model=dict(DET, type='DetectionModl'))))
    check_config_values(Config(dict(model=dict(DET, type='HRNetDetector'))))


def test_old_head_names_in_a_multitask_config():
    """Multi-task heads are matched to adapters by type name: old head names reach the new adapters."""
    model = R.MODELS.build(dict(type='MultiTaskModel', backbone=dict(type='HRNet', extra=TINY),
                                heads=dict(det=dict(type='TorchvisionDetector', kind='fcos', num_classes=2,
                                                    head_convs=1, head_norm_groups=4,
                                                    neck=dict(out_channels=8, num_outs=3, stride=2)),
                                           face=dict(type='LandmarkHead', num_landmarks=3))))
    assert {n: type(h).__name__ for n, h in model.heads.items()} == {'det': 'DetectionHead', 'face': 'FaceHead'}
    assert {n: a.kind for n, a in model.adapters.items()} == {'det': 'detection', 'face': 'face'}
    _fresh("task kind 'det'")
    with pytest.warns(DeprecationWarning, match="task kind 'det' is deprecated: use 'detection'"):
        assert model.names_of_kind('det') == ['det'] == model.names_of_kind('detection')
    # the keypoint head's box source: the old 'det' reads as 'detection'; a word it does not know is refused
    # (it used to mean the ground-truth boxes, silently)
    from hrvision.tasks.multitask.adapters import build_adapter
    pose = dict(type='KeypointHead', num_keypoints=3)
    assert build_adapter('pose', dict(pose, boxes='det')).boxes == 'detection'
    assert build_adapter('pose', pose).boxes == 'detection' and build_adapter('pose', dict(pose, boxes='gt')).boxes == 'gt'
    with pytest.raises(ConfigError, match=r"heads.pose.boxes must be 'detection' .* or 'gt' .*got 'detected'"):
        build_adapter('pose', dict(pose, boxes='detected'))


@pytest.fixture(scope='module')
def old_detection_checkpoint(tmp_path_factory):
    """A detector saved with a config in the old vocabulary (what an old run's checkpoint stores), and the same
    config written as a file."""
    tmp = tmp_path_factory.mktemp('old_det')
    cfg = Config.fromfile(str(REPO / 'configs/detection/hrnetv2p_tiny_fcos_synth.py'))
    cfg.merge_from_dict({'model.backbone.extra': TINY, 'model.detector.score_thresh': 0.0,
                         'test_dataloader.dataset.data_root': str(tmp / 'absent') + '/',
                         'val_dataloader.dataset.data_root': str(tmp / 'absent') + '/'})
    text = cfg.pretty_text
    for old, new in (('HRNetDetector', 'DetectionModel'), ('LoadDetImage', 'LoadDetectionImage'),
                     ('DetResize', 'DetectionResize'), ('DetRandomFlip', 'DetectionRandomFlip'),
                     ('PackDetInputs', 'PackDetectionInputs'), ('CocoDetMetric', 'CocoDetectionMetric')):
        assert f"'{new}'" in text
        text = text.replace(f"'{new}'", f"'{old}'")
    torch.manual_seed(0)
    from mmengine.registry import init_default_scope
    init_default_scope('hrvision')
    model = R.MODELS.build(cfg.model)
    ckpt = tmp / 'old.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': dict(cfg=text, dataset_meta=dict(classes=('a', 'b', 'c', 'd'), cat_ids=[1, 3, 4, 7]))}, ckpt)
    (tmp / 'old_cfg.py').write_text(text)
    return dict(ckpt=ckpt, cfg=tmp / 'old_cfg.py', text=text, model=model.eval(), tmp=tmp)


def test_old_checkpoint_config_loads_and_runs(old_detection_checkpoint):
    old = old_detection_checkpoint
    stored = torch.load(old['ckpt'], weights_only=False)['meta']['cfg']
    assert "'HRNetDetector'" in stored and 'DetectionModel' not in stored
    model = hrvision.init_model(Config.fromstring(stored, '.py'), str(old['ckpt']), device='cpu')
    assert type(model).__name__ == 'DetectionModel'
    from hrvision.inference.task import task_for
    assert type(task_for(model)).__name__ == 'DetectionInference'   # INFERENCE is keyed by the class name
    x = torch.rand(1, 3, 256, 256)   # the coarsest level (stride 128) is 2x2: GroupNorm needs 2 values
    with torch.no_grad():
        got, want = model(x), old['model'](x)
    for k in want:
        for a, b in zip(got[k] if isinstance(got[k], (list, tuple)) else [got[k]],
                        want[k] if isinstance(want[k], (list, tuple)) else [want[k]]):
            torch.testing.assert_close(a, b)


def test_cli_infers_with_an_old_config(old_detection_checkpoint, tmp_path):
    """The user's path: ``hrvision infer`` with the old config file; one deprecation line per old name used."""
    import numpy as np
    from PIL import Image
    img = tmp_path / 'a.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(img)
    out = tmp_path / 'out'
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'infer', str(old_detection_checkpoint['cfg']),
                        str(old_detection_checkpoint['ckpt']), str(img), '--out', str(out), '--device', 'cpu'],
                       capture_output=True, text=True, env=ENV, timeout=600, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-3000:]
    said = r.stdout + r.stderr
    for old, new in (('HRNetDetector', 'DetectionModel'), ('DetResize', 'DetectionResize'),   # (infer loads the
                     ('PackDetInputs', 'PackDetectionInputs')):                              # image itself)
        assert said.count(f'{old} is deprecated: use {new}') == 1, said[-3000:]
    assert (out / 'detections.json').is_file()


def test_old_kinds_in_a_multitask_dataset_config(tmp_path):
    """``CocoMultiTaskDataset(tasks=...)`` values are kinds: the old 'det' / 'seg' still work, with the warning;
    head names (the keys) are the user's and stay as written."""
    from hrvision.cli import main as cli_main
    out = str(tmp_path / 'data')
    assert cli_main(['data', 'synth-coco-multi', out, '--n', '3', '--n-val', '1', '--seed', '4', '--size', '64']) == 0
    cfg = dict(type='CocoMultiTaskDataset', data_root=out, ann_file='annotations/instances_train2017.json',
               data_prefix=dict(img='train2017/'), pipeline=[dict(type='LoadMultiTaskInputs')])
    _fresh("task kind 'det'", "task kind 'seg'")
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter('always')
        old = R.DATASETS.build(dict(cfg, tasks=dict(boxes='det', mask='seg')))
        R.DATASETS.build(dict(cfg, tasks=dict(boxes='det', mask='seg')))
    assert sorted(str(w.message) for w in got if w.category is DeprecationWarning) == [
        "task kind 'det' is deprecated: use 'detection'", "task kind 'seg' is deprecated: use 'segmentation'"]
    new = R.DATASETS.build(dict(cfg, tasks=dict(boxes='detection', mask='segmentation')))
    assert old.tasks == new.tasks == dict(boxes='detection', mask='segmentation')
    assert len(old) == len(new) > 0 and [d['tasks'] for d in old] == [d['tasks'] for d in new]
    with pytest.raises(DataError, match=r"kinds must be one of \('detection', 'pose', 'segmentation'\)"):
        R.DATASETS.build(dict(cfg, tasks=dict(boxes='box')))


# ---- the naming rule ------------------------------------------------------------------------------------------------
WORDS = {'pose': 'Pose', 'posetrack': 'PoseTrack', 'segmentation': 'Segmentation', 'face': 'Face',
         'detection': 'Detection', 'multitask': 'MultiTask', 'classification': 'Classification'}
# Named after a file format (the format's own name), a shared convention (top-down crops) or a generic image step.
ALLOWED = {
    'CocoKeypointDataset', 'CocoKeypointMetric',            # COCO keypoint format
    'CityscapesDataset', 'LoadCityscapes',                  # Cityscapes layout
    'PascalContextDataset', 'LIPDataset', 'ADE20KDataset',  # the PASCAL-Context, LIP and ADE20K layouts
    'WFLWDataset',                                          # WFLW list format
    'MultiSourceDataset',                                   # concatenation of other datasets
    'RandomRescale', 'ResizeLongSide', 'PadRandomCrop',     # generic image steps (segmentation pipelines)
}
CONVENTIONS = ('TopDown',)


def _registered_by_task():
    R.load_tasks()
    import importlib
    found = []
    for reg in vars(R).values():
        if isinstance(reg, R.HRVRegistry):
            for module in set(reg.lazy.values()):   # the lazily registered names too (hrvision.heads.LAZY)
                importlib.import_module(module)
            for name, obj in reg.module_dict.items():
                m = re.match(r'hrvision\.(tasks|heads)\.([a-z_]+)', getattr(obj, '__module__', ''))
                if m and m.group(2) in WORDS:
                    found.append((m.group(2), name))
    return found


def _follows_rule(folder, name):
    return (re.search(rf'{WORDS[folder]}(?![a-z])', name) is not None or name in ALLOWED
            or name.startswith(CONVENTIONS))


def test_registered_classes_carry_their_task_word():
    found = _registered_by_task()
    assert {f for f, _ in found} >= {'pose', 'segmentation', 'face', 'detection', 'multitask', 'classification'}
    bad = [f'{folder}: {name}' for folder, name in found if not _follows_rule(folder, name)]
    assert not bad, f'registered names without their task word (docs/ARCHITECTURE.md, Conventions): {bad}'
    assert not _follows_rule('detection', 'DetResize') and not _follows_rule('face', 'LandmarkHead')
    assert not _follows_rule('segmentation', 'SegRandomFlip') and _follows_rule('pose', 'TopDownAffine')


def test_every_alias_points_at_a_registered_class():
    for reg in vars(R).values():
        if isinstance(reg, R.HRVRegistry):
            reg.import_from_location()
            for old, new in reg.aliases.items():
                assert new in reg.module_dict and old not in reg.module_dict, (reg.name, old, new)
    assert R.KIND_ALIASES == {'det': 'detection', 'seg': 'segmentation'}
