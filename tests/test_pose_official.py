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
    """One forward of [input, flipped input]: both halves match the official outputs, and the
    flip-test average of the model equals the official validate() average."""
    cfg, _, io = tiny
    model = hrvision.from_official(cfg, ref_path('pose_tiny_state.pt'))
    assert isinstance(model, PoseModel) and not model.training
    assert not model.load_report.missing_keys and not model.load_report.unexpected_keys
    x = io['input']
    with torch.no_grad():
        both = model(torch.cat([x, x.flip(3)]))
    torch.testing.assert_close(both[:2], io['output'], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(both[2:], io['output_of_flipped_input'], atol=1e-4, rtol=1e-4)
    ref = np.load(ref_path('pose_pipeline.npz'))
    avg = model.head.flip_average(both[:2], both[2:])
    np.testing.assert_allclose(avg.numpy(), ref['val_averaged'], atol=1e-4, rtol=1e-4)
    kp, sc = model.codec.decode(avg, ref['val_center'], ref['val_scale'])
    np.testing.assert_allclose(kp.numpy(), ref['val_preds'], atol=1e-3)


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
