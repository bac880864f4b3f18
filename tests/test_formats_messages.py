"""Issue 22, formats and messages: input a format forbids, or that contradicts itself inside one file, is refused
in one line naming the file and the field; command-line values are parsed exactly or refused naming the option;
label files must hold what their name says; datasets build in plain Python (no default scope)."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from hrvision.cli import main
from hrvision.errors import DataError

from .conftest import REPO

SEG_TINY = str(REPO / 'tests' / 'configs' / 'seg_tiny.py')


# ---- COCO annotation files (pose, detection and multi-task readers) ---------------------------------------------

def coco_file():
    """Two images, two people (3 and 2 labelled joints), one category: valid for all three readers."""
    kp1, kp2 = [0] * 51, [0] * 51
    for j, (x, y) in enumerate([(10, 5), (12, 6), (14, 7)]):
        kp1[3 * j:3 * j + 3] = [x, y, 2]
    for j, (x, y) in enumerate([(30, 20), (32, 22)]):
        kp2[3 * j:3 * j + 3] = [x, y, 1]
    return dict(
        images=[dict(id=1, file_name='a.jpg', width=64, height=48), dict(id=2, file_name='b.jpg', width=64,
                                                                          height=48)],
        annotations=[dict(id=1, image_id=1, category_id=1, bbox=[2, 2, 20, 30], area=600, iscrowd=0, keypoints=kp1,
                          num_keypoints=3),
                     dict(id=2, image_id=2, category_id=1, bbox=[25, 15, 15, 20], area=300, iscrowd=0, keypoints=kp2,
                          num_keypoints=2)],
        categories=[dict(id=1, name='person', keypoints=[f'k{i}' for i in range(17)], skeleton=[])])


def _flag(d):
    d['annotations'][0]['keypoints'][2] = 3


def _count(d):
    d['annotations'][1]['num_keypoints'] = 5


def _dup_image(d):
    d['images'][1]['id'] = 1


def _dup_ann(d):
    d['annotations'][1]['id'] = 1


def _dup_cat(d):
    d['categories'].append(dict(d['categories'][0], name='again'))


def _neg_w(d):
    d['annotations'][0]['bbox'] = [20, 2, -18, 30]


def _neg_h(d):
    d['annotations'][1]['bbox'] = [25, 35, 15, -20]


# (reader, change, words the one line holds after the file name)
COCO_CASES = {
    'pose: visibility flag 3': ('pose', _flag, 'annotations[0] (id 1) field "keypoints": visibility flags must be 0, '
                                               '1 or 2; got [3]'),
    'pose: num_keypoints vs flags': ('pose', _count, 'annotations[1] (id 2) field "num_keypoints" is 5 but 2 joints '
                                                     'have visibility > 0'),
    'pose: duplicate annotation id': ('pose', _dup_ann, 'annotations[1] (id 1) field "id": duplicate annotation id '
                                                        '(also annotations[0])'),
    'pose: negative box height': ('pose', _neg_h, 'annotations[1] (id 2) field "bbox" (x, y, w, h) has a negative '
                                                  'width or height: [25, 35, 15, -20]'),
    'det: duplicate image id': ('det', _dup_image, 'images[1] (id 1): duplicate image id'),
    'det: duplicate annotation id': ('det', _dup_ann, 'annotations[1] (id 1) field "id": duplicate annotation id'),
    'det: negative box width': ('det', _neg_w, 'annotations[0] (id 1) field "bbox" (x, y, w, h) has a negative width '
                                               'or height: [20, 2, -18, 30]'),
    'multi: duplicate category id': ('multi', _dup_cat, 'categories[1] field "id": duplicate category id 1'),
    'multi: negative box height': ('multi', _neg_h, 'annotations[1] (id 2) field "bbox" (x, y, w, h) has a negative'),
    'multi: visibility flag 3': ('multi', _flag, 'field "keypoints": visibility flags must be 0, 1 or 2'),
}


def _read(reader, path):
    from hrvision.data.coco import load_coco   # the one COCO reader of every task
    if reader == 'pose':
        return load_coco(path, keypoints=17)
    if reader == 'det':
        return load_coco(path, boxes=True)
    from hrvision.tasks.multitask.dataset import CocoMultiTaskDataset
    return CocoMultiTaskDataset(ann_file=path, kpt_file=path, pipeline=[])


@pytest.mark.parametrize('case', list(COCO_CASES))
def test_coco_readers_refuse_out_of_range_values_and_contradictions(case, tmp_path):
    reader, change, words = COCO_CASES[case]
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(coco_file()))
    _read(reader, str(path))                        # the file as written is fine
    data = coco_file()
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(DataError) as e:
        _read(reader, str(path))
    msg = str(e.value)
    assert msg.startswith(f'{path}: ') and words in msg and '\n' not in msg, msg


# ---- WFLW release lists -------------------------------------------------------------------------------------------

def test_wflw_box_with_swapped_corners_is_refused(tmp_path):
    from hrvision.tasks.face.dataset import read_wflw_list
    pts = ' '.join(f'{10 + i % 20} {10 + i // 20}' for i in range(98))
    good = f'{pts} 5 5 40 40 0 0 0 0 0 0 a/b.jpg'
    path = tmp_path / 'list.txt'
    path.write_text(good + '\n' + good.replace(' 5 5 40 40 ', ' 40 5 5 40 ') + '\n')
    with pytest.raises(DataError, match=rf'^{path}, line 2: box values \(x_min y_min x_max y_max\) have x_max < x_min'):
        read_wflw_list(str(path))


# ---- label files: content must match the name --------------------------------------------------------------------

def _label_cases(tmp):
    lab = (np.arange(24 * 32) % 7).astype(np.uint8).reshape(24, 32)
    ok, png = cv2.imencode('.png', lab)
    _, jpg = cv2.imencode('.jpg', lab)
    files = {'ok.png': png.tobytes(), 'jpeg.png': jpg.tobytes(), 'text.png': b'this is not an image\n',
             'jpeg.jpg': jpg.tobytes()}
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    return lab


@pytest.mark.parametrize('name, words', [
    ('jpeg.png', 'holds JPEG data (named .png): lossy compression changes label values; labels must be PNG '
                 '(lossless)'),
    ('text.png', "is named .png but its content is text (starts with b'this is '); expected a PNG"),
    ('jpeg.jpg', 'holds JPEG data (named .jpg): lossy compression changes label values; labels must be PNG '
                 '(lossless)'),
])
def test_label_file_content_must_match_its_name(name, words, tmp_path):
    """A grey JPEG named ``.png`` decodes without error to values that were never labels (JPEG is lossy)."""
    from hrvision.data.io import read_label
    lab = _label_cases(tmp_path)
    assert np.array_equal(read_label(str(tmp_path / 'ok.png')), lab)
    with pytest.raises(DataError) as e:
        read_label(str(tmp_path / name))
    assert str(e.value) == f'label map {tmp_path / name} {words}'


# ---- the command line: options and config values named -----------------------------------------------------------

def _cli_cases(tmp):
    return {
        'override with spaces and commas': (['train', SEG_TINY, '--cfg-options', 'work_dir=a b,c'],
                                            ['--cfg-options', 'work_dir=a b,c', 'spaces and commas', "'\"a b,c\"'"]),
        'override with a quote inside': (['train', SEG_TINY, '--cfg-options', 'work_dir=it"s'],
                                         ['--cfg-options', 'work_dir=it"s', 'quotes only around the whole value']),
        'override with unbalanced brackets': (['train', SEG_TINY, '--cfg-options', 'model.head.in_channels=(1,2'],
                                              ['--cfg-options', 'model.head.in_channels=(1,2', 'unbalanced brackets']),
        'override with crossed brackets': (['train', SEG_TINY, '--cfg-options', 'model.x=(1,[2)]'],
                                           ['model.x=(1,[2)]', 'brackets that do not pair up']),
        'override with text after a bracket': (['train', SEG_TINY, '--cfg-options', 'model.x=[1,2](3)'],
                                               ['model.x=[1,2](3)', 'brackets that do not pair up']),
        'override list item with a space': (['train', SEG_TINY, '--cfg-options', 'model.x=[a b,c]'],
                                            ['model.x=[a b,c]', 'a space inside a list item would be dropped']),
        'config value num_classes': (['train', SEG_TINY, '--work-dir', tmp / 'w1', '--cfg-options',
                                      'model.head.num_classes=0'], ['num_classes', 'got 0']),
        'config value crop_size': (['train', SEG_TINY, '--work-dir', tmp / 'w2', '--cfg-options',
                                    'train_dataloader.dataset.pipeline.2.crop_size=(0,64)'], ['crop_size', 'got 0']),
        'synth --min-size above --max-size': (['data', 'synth-coco-det', tmp / 'det', '--n', '2', '--min-size', '200',
                                               '--max-size', '100'], ['--min-size 200', '--max-size 100']),
    }


@pytest.mark.parametrize('case', list(_cli_cases(REPO)))
def test_cli_values_refused_naming_the_option(case, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv('HRVISION_DEBUG', raising=False)
    monkeypatch.chdir(tmp_path)
    argv, words = _cli_cases(tmp_path)[case]
    if case.startswith('config value'):   # these build the Runner: a fresh process (mmengine's loggers keep the
        env = dict(os.environ, OMP_NUM_THREADS='1')  # streams of the process they were made in)
        env.pop('HRVISION_DEBUG', None)
        r = subprocess.run([sys.executable, '-m', 'hrvision', *map(str, argv)], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
        rc, err = r.returncode, r.stderr
    else:
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as e:   # argparse usage errors leave through SystemExit(2)
            rc = e.code
        err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, (rc, err[-2000:])
    assert len(lines) == 1 and lines[0].startswith('hrvision: error: ') and 'Traceback' not in err, err[-2000:]
    assert all(w in lines[0] for w in words), lines[0]
    assert not (tmp_path / 'det').exists()          # refused before anything is written


@pytest.mark.parametrize('value, folder', [('work_dir=a b', 'a b'), ('work_dir="a b,c"', 'a b,c')])
def test_cli_override_with_spaces_round_trips(value, folder, tmp_path, capsys, monkeypatch):
    """``--cfg-options work_dir="a b"`` (the shell passes ``work_dir=a b``) names the folder ``a b``, not ``ab``
    (mmengine's parser drops spaces); quoted text keeps its commas. The run then stops on the missing data."""
    monkeypatch.delenv('HRVISION_DEBUG', raising=False)
    monkeypatch.chdir(tmp_path)
    rc = main(['train', SEG_TINY, '--cfg-options', value, f'train_dataloader.dataset.data_root={tmp_path}/none/'])
    assert rc == 2 and 'none' in capsys.readouterr().err
    assert (tmp_path / folder).is_dir() and sorted(os.listdir(tmp_path)) == [folder]


# ---- datasets built in plain Python ------------------------------------------------------------------------------

SCRIPT = '''
import sys
from mmengine.registry import DefaultScope
from hrvision.tasks.multitask.dataset import CocoMultiTaskDataset
from hrvision.tasks.multitask.synth import write_synthetic
assert DefaultScope.get_current_instance() is None
write_synthetic(sys.argv[1], n_train=2, n_val=2)
ds = CocoMultiTaskDataset(data_root=sys.argv[1] + '/', ann_file='annotations/instances_val2017.json',
                          kpt_file='annotations/person_keypoints_val2017.json', data_prefix=dict(img='val2017/'),
                          test_mode=True,
                          pipeline=[dict(type='LoadMultiTaskInputs'), dict(type='PackMultiTaskInputs')])
item = ds[0]
print(len(ds), type(item['data_samples']).__name__, tuple(item['inputs'].shape[:1]),
      sorted(item['data_samples'].metainfo['tasks']))
'''


def test_multitask_dataset_builds_without_a_default_scope(tmp_path):
    """As the other datasets: pipeline dicts built from hrvision's registry, in a fresh process with no scope."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    r = subprocess.run([sys.executable, '-c', SCRIPT, str(tmp_path / 'data')], capture_output=True, text=True,
                       env=env, cwd=str(tmp_path), timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    n, cls, channels, tasks = r.stdout.strip().splitlines()[-1].split(' ', 3)
    assert int(n) >= 1 and cls == 'DataSample' and channels == '(3,)' and tasks.startswith('[')

