"""from_official(pose_hrnet) reproduces the official tiny model; mmpose-style checkpoints load too."""
import json

import numpy as np
import pytest
import torch

import hrvision
from hrvision.tasks.pose.model import PoseModel
from tests.conftest import load_ref, ref_path


@pytest.fixture(scope='module')
def tiny():
    cfg = json.loads(ref_path('pose_tiny_config.json').read_text())
    return cfg, load_ref('pose_tiny_state.pt'), load_ref('pose_tiny_io.pt')


def test_parity_output_flipped_and_flip_test(tiny):
    """PoseModel.predict on the official input (one forward of [input, flipped input]): both halves equal the
    official outputs, the flip-test average equals validate()'s, and the keypoints equal get_final_preds."""
    from hrvision.structures import DataSample
    cfg, _, io = tiny
    model = hrvision.from_official(cfg, ref_path('pose_tiny_state.pt'))
    assert isinstance(model, PoseModel) and not model.training
    assert not model.load_report.missing_keys and not model.load_report.unexpected_keys
    ref = np.load(ref_path('pose_pipeline.npz'))
    seen = []
    model.head.register_forward_hook(lambda m, i, o: seen.append(o))
    samples = [DataSample(metainfo=dict(center=ref['val_center'][i], scale=ref['val_scale'][i])) for i in range(2)]
    with torch.no_grad():
        out = model.predict(io['input'], samples)
    (both,) = seen
    torch.testing.assert_close(both[:2], io['output'], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(both[2:], io['output_of_flipped_input'], atol=1e-4, rtol=1e-4)
    avg = model.head.flip_average(both[:2], both[2:], model.flip_indices())   # the COCO preset's
    np.testing.assert_allclose(avg.numpy(), ref['val_averaged'], atol=1e-4, rtol=1e-4)
    kp = torch.stack([s.pred_keypoints for s in out]).numpy()
    np.testing.assert_allclose(kp, ref['val_preds'], atol=1e-3)
    sc = torch.stack([s.keypoint_scores for s in out]).numpy()
    np.testing.assert_allclose(sc, ref['val_maxvals'][..., 0], atol=1e-4)


def test_mmpose_prefixed_checkpoint_loads(tiny):
    cfg, state, _ = tiny
    renamed = {('keypoint_head.' + k if k.startswith('final_layer') else 'backbone.' + k): v for k, v in state.items()}
    model = hrvision.from_official(cfg, {'state_dict': renamed, 'meta': {}})
    assert model.load_report.format == 'mmpose'
    sd = model.state_dict()
    torch.testing.assert_close(sd['head.final_layer.weight'], state['final_layer.weight'])
    for k, v in state.items():
        name = ('head.' if k.startswith('final_layer') else 'backbone.') + k
        assert torch.equal(sd[name], v), name


def test_missing_head_key_is_an_error(tiny):
    cfg, state, _ = tiny
    partial = {k: v for k, v in state.items() if not k.startswith('final_layer')}
    with pytest.raises(KeyError, match='final_layer'):
        hrvision.from_official(cfg, partial)



def test_flip_settings_follow_the_official_yaml(tiny):
    """TEST.FLIP_TEST / TEST.SHIFT_HEATMAP of the YAML are followed; left out, both are on (every official
    experiment YAML sets them)."""
    cfg = tiny[0]
    default = hrvision.from_official(cfg)
    assert default.test_cfg['flip_test'] is True and default.head.shift_heatmap is True
    off = hrvision.from_official(dict(cfg, TEST={'FLIP_TEST': False, 'SHIFT_HEATMAP': False}))
    assert off.test_cfg['flip_test'] is False and off.head.shift_heatmap is False



@pytest.mark.parametrize('dataset, joints, pair', [('coco', 17, (5, 6)), ('mpii', 16, (0, 5))])
def test_official_dataset_gives_its_flip_pairs(tiny, dataset, joints, pair):
    """An official COCO or MPII experiment gets its dataset preset's metadata (the flip test's pairs, the pictures'
    skeleton); another joint count gets none rather than a wrong preset."""
    cfg = tiny[0]
    model_cfg = dict(cfg['MODEL'], NUM_JOINTS=joints)
    model = hrvision.from_official(dict(cfg, MODEL=model_cfg, DATASET=dict(cfg.get('DATASET') or {}, DATASET=dataset)))
    perm = model.dataset_meta['flip_indices']
    assert len(perm) == joints and perm[pair[0]] == pair[1] and perm[pair[1]] == pair[0]
    other = hrvision.from_official(dict(cfg, MODEL=dict(cfg['MODEL'], NUM_JOINTS=joints - 1),
                                        DATASET=dict(cfg.get('DATASET') or {}, DATASET=dataset)))
    assert getattr(other, 'dataset_meta', None) is None
