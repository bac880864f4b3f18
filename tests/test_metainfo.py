"""The dataset-metadata contract (hrvision.data.metainfo): validation table, derivation, presets, layering."""
from __future__ import annotations

import json

import pytest

from hrvision.data.metainfo import flip_indices, from_coco_categories, merge_metainfo, parse_metainfo
from hrvision.errors import ConfigError, DataError

K3 = ('head', 'left_hand', 'right_hand')

# (metadata, words the one-line message must contain)
BAD = [
    (dict(keypoint_names=K3, sigmas=[.1, .1]), ['metainfo.sigmas has 2 values but keypoint_names has 3']),
    (dict(keypoint_names=K3, joint_weights=[1, 1, 1, 1]), ['metainfo.joint_weights has 4 values', 'keypoint_names has 3']),
    (dict(keypoint_names=K3, num_keypoints=4), ['metainfo.num_keypoints is 4 but keypoint_names has 3']),
    (dict(keypoint_names=K3, flip_pairs=[[1, 3]]), ['metainfo.flip_pairs[0] = (1, 3) is outside 0..2']),
    (dict(keypoint_names=K3, flip_pairs=[[-1, 2]]), ['metainfo.flip_pairs[0]', 'outside 0..2']),
    (dict(keypoint_names=K3, flip_pairs=[[1, 2], [2, 0]]), ['metainfo.flip_pairs: keypoint 2 is in two pairs']),
    (dict(keypoint_names=K3, flip_pairs=[[1, 1]]), ['metainfo.flip_pairs[0]', 'to itself']),
    (dict(keypoint_names=K3, flip_pairs=[[1.0, 2]]), ['metainfo.flip_pairs[0] must be a pair of 0-based integer']),
    (dict(keypoint_names=K3, skeleton=[[0, 3]]), ['metainfo.skeleton[0] = (0, 3) is outside 0..2']),
    (dict(keypoint_names=K3, norm_indices=[0, 5]), ['metainfo.norm_indices [0, 5] is outside 0..2']),
    (dict(keypoint_names=('a', 'b', 'a')), ["metainfo.keypoint_names names 'a' twice (at 0 and 2)"]),
    (dict(keypoint_names='abc'), ['metainfo.keypoint_names must be a list of names']),
    (dict(classes=('road', 'car', 'road')), ["metainfo.classes names 'road' twice"]),
    (dict(classes=('a', 'b'), palette=[[0, 0, 0], [0, 0]]), ['metainfo.palette[1] must be 3 integers 0-255']),
    (dict(classes=('a', 'b'), palette=[[0, 0, 0], [0, 256, 0]]), ['metainfo.palette[1] must be 3 integers 0-255']),
    (dict(classes=('a', 'b'), palette=[[0, 0, 0], [0, 0.5, 0]]), ['metainfo.palette[1]']),
    (dict(classes=('a', 'b'), palette=[[0, 0, 0]]), ['metainfo.palette has 1 colours but classes has 2 names']),
    (dict(classes=('a', 'b'), category_ids=[1, 1]), ['metainfo.category_ids repeats an id']),
    (dict(classes=('a', 'b'), category_ids=[1]), ['metainfo.category_ids has 1 ids but classes has 2']),
    (dict(keypoint_names=K3, sigmas=[.1, 0, .1]), ['metainfo.sigmas[1] must be a positive number']),
    (dict(keypoint_names=K3, flip_indices=[0, 1, 2]), ['metainfo.flip_indices [0, 1, 2] contradicts flip_pairs']),
    (dict(keypoint_names=K3, sigma=[.1] * 3), ["unknown metainfo key 'sigma'", "'sigmas'"]),
    (dict(flip_pairs=[[0, 1]]), ['metainfo.flip_pairs needs keypoint_names']),
    (dict(from_file='_base_/datasets/nope.py'), ["metainfo.from_file '_base_/datasets/nope.py' does not exist"]),
]


@pytest.mark.parametrize('meta,words', BAD, ids=[w[0][:40] for _, w in BAD])
def test_bad_metadata_is_one_line_naming_source_and_field(meta, words):
    with pytest.raises(ConfigError) as e:
        parse_metainfo(meta, 'configs/x.py')
    msg = str(e.value)
    assert msg.startswith('configs/x.py: ') and '\n' not in msg
    for w in words:
        assert w in msg, msg


def test_derived_flip_pairs_indices_and_json():
    names = ('nose', 'left_eye', 'right_eye', 'tail', 'wing_left', 'wing_right', 'RIGHT_paw', 'left_paw')
    m = parse_metainfo(dict(keypoint_names=names, skeleton=[(0, 1), (3, 4)]), 'x')
    assert m['flip_pairs'] == [[1, 2], [4, 5], [7, 6]]
    assert m['flip_indices'] == [0, 2, 1, 3, 5, 4, 7, 6] and m['num_keypoints'] == 8
    assert json.loads(json.dumps(m))['skeleton'] == [[0, 1], [3, 4]]
    assert parse_metainfo(json.loads(json.dumps(m)), 'ckpt')['flip_indices'] == m['flip_indices']  # idempotent
    stated = parse_metainfo(dict(keypoint_names=names, flip_pairs=[(1, 2)]), 'x')  # stated pairs win
    assert stated['flip_indices'] == [0, 2, 1, 3, 4, 5, 6, 7]
    assert flip_indices(4, [(0, 3)]) == [3, 1, 2, 0]


def test_presets_from_file(tmp_path):
    coco = parse_metainfo(dict(from_file='_base_/datasets/coco.py'), 'x')
    assert coco['num_keypoints'] == 17 and coco['flip_pairs'][0] == [1, 2] and coco['sigmas'][0] == .26 / 10.0
    assert coco['joint_weights'][9] == 1.5 and [15, 13] in coco['skeleton']
    pt = parse_metainfo(dict(from_file='_base_/datasets/posetrack18.py'), 'x')
    assert pt['keypoint_names'][1] == 'head_bottom' and pt['flip_pairs'][0] == [3, 4]
    over = parse_metainfo(dict(from_file='_base_/datasets/coco.py', sigmas=[.05] * 17), 'x')
    assert over['sigmas'] == [.05] * 17
    jf = tmp_path / 'm.json'
    jf.write_text(json.dumps(dict(keypoint_names=list(K3), sigmas=[.1, .2])))
    with pytest.raises(ConfigError, match='sigmas has 2 values'):
        parse_metainfo(dict(from_file=str(jf)), 'cfg.py')
    pf = tmp_path / 'm.py'
    pf.write_text('dataset_info = dict(keypoint_names=("a", "left_b", "right_b"))\n')
    assert parse_metainfo(dict(from_file=str(pf)), 'cfg.py')['flip_indices'] == [0, 2, 1]
    pf.write_text('dataset_info = dict(keypoint_names=("a", \n')
    with pytest.raises(ConfigError, match='cannot read the metainfo file'):
        parse_metainfo(dict(from_file=str(pf)), 'cfg.py')


def test_from_coco_categories_and_layering():
    cats = [dict(id=7, name='robot', keypoints=['base', 'left_arm', 'right_arm', 'tip'],
                 skeleton=[[1, 2], [1, 3], [3, 4]])]
    m = from_coco_categories(cats, 'ann.json')
    assert m['skeleton'] == [[0, 1], [0, 2], [2, 3]] and m['flip_indices'] == [0, 2, 1, 3]
    assert m['classes'] == ('robot',) and m['category_ids'] == [7]
    with pytest.raises(DataError, match=r'ann.json: categories\[0\].skeleton\[0\] = \[0, 1\] is outside 1..4'):
        from_coco_categories([dict(cats[0], skeleton=[[0, 1]])], 'ann.json')
    preset = dict(from_file='_base_/datasets/coco.py')
    got = merge_metainfo(preset, m, None, config_source='cfg.py', data_source='ann.json')
    assert got['num_keypoints'] == 4 and 'sigmas' not in got      # COCO's 17 sigmas are not inherited
    assert got['classes'] == ('robot',) and got['category_ids'] == [7]
    got = merge_metainfo(preset, m, dict(sigmas=[.1, .2, .2, .3]), config_source='cfg.py', data_source='ann.json')
    assert got['sigmas'] == [.1, .2, .2, .3]
    with pytest.raises(ConfigError, match='cfg.py: metainfo.sigmas has 3 values but keypoint_names has 4'):
        merge_metainfo(preset, m, dict(sigmas=[.1, .2, .2]), config_source='cfg.py', data_source='ann.json')
    with pytest.raises(ConfigError, match='contradicts the keypoints of ann.json'):
        merge_metainfo(preset, m, dict(keypoint_names=['a', 'b', 'c', 'd']), config_source='cfg.py',
                       data_source='ann.json')
    # a plain COCO file keeps the preset's sigmas
    coco_cats = [dict(id=1, name='person', keypoints=list(parse_metainfo(preset, 'x')['keypoint_names']))]
    got = merge_metainfo(preset, from_coco_categories(coco_cats, 'c.json'), None, config_source='cfg.py')
    assert len(got['sigmas']) == 17 and got['flip_pairs'][0] == [1, 2]
