"""One word for a dataset's folders in every task (issue 21, "Detection"): ``data_prefix=dict(img=...)`` -- plus
``seg=`` (the mask folder) for the generic segmentation folders -- as in the COCO-style datasets. A wrong key inside
``data_prefix`` or an unknown dataset argument is refused in one line with a did-you-mean (it used to be ignored);
the face dataset's old ``img_prefix=`` still works with a one-time DeprecationWarning. Relative folders follow
``--data-root`` (mmengine joins them with ``data_root``)."""
import functools
import os
import subprocess
import sys
import warnings

import pytest

import hrvision.tasks.face  # noqa: F401  (registration)
import hrvision.tasks.segmentation  # noqa: F401
from hrvision import registry
from hrvision.errors import ConfigError
from hrvision.registry import DATASETS
from hrvision.tasks.face import synth as face_synth
from hrvision.tasks.face.dataset import WFLWDataset as WFLW
from hrvision.tasks.segmentation.folder import SegmentationFolderDataset
from hrvision.tasks.segmentation.synth import write_folder_dataset
from tests.conftest import REPO

SEG_CFG = str(REPO / 'configs' / 'segmentation' / 'demo_custom_folder.py')
FACE_CFG = str(REPO / 'configs' / 'face' / 'demo_custom_68.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))


def _cli(*args, cwd):
    return subprocess.run([sys.executable, '-m', 'hrvision', *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=300)


def _one_line_error(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stderr[-3000:])
    err = r.stderr.strip()
    assert 'Traceback' not in err and len(err.splitlines()) == 1, err[-3000:]
    for n in needles:
        assert n in err, err


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """The synthetic 5-class folder set (images/{train,val}, masks/{train,val}) and a 68-landmark face set
    (images/{train,test}, annotations/*.txt), both written by the code behind ``hrvision data synth-*``."""
    root = tmp_path_factory.mktemp('prefix')
    write_folder_dataset(str(root / 'seg'), n_train=2, n_val=1, size=(32, 32))   # colour masks
    face_synth.write_synthetic(str(root / 'face'), n_train=2, n_val=2, size=(64, 64), landmarks=68)
    return root


def _seg(root, meta=None, **kw):
    return SegmentationFolderDataset(data_root=str(root), img_suffix='.png',
                                     metainfo=dict(from_file=str(meta or root / 'metainfo.json')), **kw)


def test_segmentation_folders_are_data_prefix_img_and_seg(data):
    root = data / 'seg'
    ds = _seg(root, data_prefix=dict(img='images/train', seg='masks/train'))
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [(d['img_path'], d['seg_path']) for d in infos] == [
        (str(root / 'images' / 'train' / f'{i:04d}.png'), str(root / 'masks' / 'train' / f'{i:04d}.png'))
        for i in range(2)]
    assert ds.read_mask(0).shape == (32, 32)
    # the defaults (images/, masks/) read every sub-folder; seg=None reads images only; absolute folders are kept
    assert len(_seg(root)) == 3
    only = _seg('/nonexistent', root / 'metainfo.json', data_prefix=dict(img=str(root / 'images' / 'val'), seg=None))
    assert len(only) == 1 and only.get_data_info(0)['seg_path'] is None and only.read_mask(0) is None
    with pytest.raises(FileNotFoundError, match=r'data_prefix\.seg folder not found: .*nothere'):
        _seg(root, data_prefix=dict(seg='nothere'))


def test_face_folder_is_data_prefix_img_and_img_prefix_warns_once(data, monkeypatch):
    root = str(data / 'face')
    WFLWDataset = functools.partial(WFLW, metainfo=dict(from_file='metainfo.json'))   # the set's 68 landmarks
    new = WFLWDataset(root, ann_file='annotations/test.txt', data_prefix=dict(img='images'))
    paths = [new.get_data_info(i)['img_path'] for i in range(len(new))]
    assert paths == [os.path.join(root, 'images', 'test', f'test_{i:05d}.jpg') for i in range(2)]
    monkeypatch.setattr(registry, '_WARNED', set())   # another test may have used the old word already
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('always')
        for same in (None, 'images/'):   # the old word alone, and both naming the same folder
            old = WFLWDataset(root, ann_file='annotations/test.txt', img_prefix='images',
                              data_prefix=None if same is None else dict(img=same))
            assert [old.get_data_info(i)['img_path'] for i in range(len(old))] == paths
    dep = [str(w.message) for w in seen if issubclass(w.category, DeprecationWarning)]
    assert dep == ['WFLWDataset img_prefix is deprecated: use data_prefix=dict(img=...)'], dep
    with pytest.raises(ConfigError, match=r"img_prefix='images' and data_prefix=dict\(img='pics'\) name two"):
        WFLWDataset(root, ann_file='annotations/test.txt', img_prefix='images', data_prefix=dict(img='pics'))


@pytest.mark.parametrize('dataset, kwargs, words', [
    ('SegmentationFolderDataset', dict(data_prefix=dict(img='i', ann='a')),
     "SegmentationFolderDataset.data_prefix.ann: unknown key; did you mean 'seg'?"),
    ('SegmentationFolderDataset', dict(data_prefix=dict(img_path='i')),
     "SegmentationFolderDataset.data_prefix.img_path: unknown key; did you mean 'img'?"),
    ('SegmentationFolderDataset', dict(img_dir='i'),
     "SegmentationFolderDataset: unknown argument 'img_dir'; did you mean data_prefix=dict(img='...')?"),
    ('SegmentationFolderDataset', dict(ann_dir='a'),
     "SegmentationFolderDataset: unknown argument 'ann_dir'; did you mean data_prefix=dict(seg='...')?"),
    ('SegmentationFolderDataset', dict(seg_map_sufix='.png'),
     "SegmentationFolderDataset: unknown argument 'seg_map_sufix'; did you mean 'seg_map_suffix'?"),
    ('SegmentationFolderDataset', dict(data_prefix=dict(img=None)),
     'SegmentationFolderDataset.data_prefix.img must be a folder'),
    ('WFLWDataset', dict(data_prefix=dict(image='i')),
     "WFLWDataset.data_prefix.image: unknown key; did you mean 'img'?"),
    ('WFLWDataset', dict(img_dir='i'),
     "WFLWDataset: unknown argument 'img_dir'; did you mean data_prefix=dict(img='...')?"),
    ('WFLWDataset', dict(boxes='rect'), "WFLWDataset: unknown argument 'boxes'; did you mean 'box'?"),
])
def test_wrong_folder_words_are_refused_before_reading_files(dataset, kwargs, words):
    with pytest.raises(ConfigError) as e:
        DATASETS.build(dict(type=dataset, data_root='/nonexistent', **kwargs))
    assert str(e.value).startswith(words) and '\n' not in str(e.value), str(e.value)


def test_cli_refuses_a_wrong_folder_key_in_one_line(tmp_path):
    r = _cli('train', SEG_CFG, '--work-dir', 'w', '--cfg-options',
             'train_dataloader.dataset.data_prefix.ann=masks/train', cwd=tmp_path)
    _one_line_error(r, "hrvision: error: SegmentationFolderDataset.data_prefix.ann: unknown key; did you mean 'seg'?")
    r = _cli('train', FACE_CFG, '--work-dir', 'w', '--cfg-options', 'train_dataloader.dataset.img_dir=images',
             cwd=tmp_path)
    _one_line_error(r, "WFLWDataset: unknown argument 'img_dir'; did you mean data_prefix=dict(img='...')?")


@pytest.mark.parametrize('task', ['seg', 'face'])
def test_cli_data_root_moves_the_data_prefix_folders(data, task, tmp_path):
    """The shipped demo configs read their folders under ``--data-root`` (the configs' own root is not there)."""
    r = _cli('data', 'check', SEG_CFG if task == 'seg' else FACE_CFG, '--data-root', data / task, cwd=tmp_path)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert 'entries: 2\n' in r.stdout and '0 error(s)' in r.stdout, r.stdout[-3000:]   # the 2 training samples
