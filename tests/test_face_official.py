"""Face family: official config + checkpoint -> our model reproduces the official outputs."""
import json

import numpy as np
import pytest
import torch

import hrvision
from tests.conftest import load_ref, ref_json, ref_path


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """Two intra-op threads on the shared 2-core machine mostly wait on each other."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def tiny():
    cfg = json.loads(ref_path('face_tiny_config.json').read_text())
    return hrvision.from_official(cfg, ref_path('face_tiny_state.pt'))


def test_from_official_tiny_reproduces_output(tiny):
    io = load_ref('face_tiny_io.pt')
    with torch.no_grad():
        out = tiny(io['input'])
    assert out.shape == (2, 98, 64, 64)
    torch.testing.assert_close(out, io['output'], atol=1e-4, rtol=1e-4)
    # official head keys land in head.head.*, the backbone under backbone.*
    assert 'head.head.0.weight' in tiny.state_dict()
    assert not tiny.load_report.missing_keys
    # the same weights with align_corners=True fuse upsampling give different heatmaps (SPEC §7)
    mods = [m for m in tiny.backbone.modules() if hasattr(m, 'align_corners')]
    try:
        for m in mods:
            m.align_corners = True
        with torch.no_grad():
            other = tiny(io['input'][:1])
        assert (other - io['output'][:1]).abs().max() > 1e-2
    finally:
        for m in mods:
            m.align_corners = False


def test_end_to_end_decode_and_nme(tiny):
    """face_pipeline.npz e2e: the official test image through the tiny model, decode_preds and NME."""
    from hrvision.tasks.face.metric import compute_nme
    ref = np.load(ref_path('face_pipeline.npz'))
    with torch.no_grad():
        out = tiny(torch.from_numpy(ref['ds_test_img'])[None])
    np.testing.assert_allclose(out.amax((2, 3)).numpy(), ref['e2e_output_maxvals'], atol=1e-4)
    preds, _ = tiny.codec.decode(out, torch.from_numpy(ref['ds_test_center'])[None],
                                 torch.tensor([float(ref['ds_test_scale'])]))
    np.testing.assert_array_equal(preds.numpy(), ref['e2e_preds'])
    np.testing.assert_allclose(compute_nme(preds, ref['ds_row_pts'][None]), ref['e2e_nme'], rtol=1e-6)


def test_full_w18_keys_params_flops():
    ref = ref_json('face_wflw_w18_keys.json')
    from hrvision.tasks.face.official import model_from_official
    model = model_from_official({'MODEL': ref['model_config']})
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    for key, shape, _dtype in ref['state_dict']:
        for cand in (f'backbone.{key}', f'head.{key}'):
            if cand in ours:
                assert ours[cand] == tuple(shape), cand
                break
        else:
            pytest.fail(f'official key {key} has no counterpart in our model')
    assert len(ours) == ref['num_state_dict_entries']
    c = hrvision.count(model, (256, 256))
    assert c.params == ref['num_parameters'] == 9_662_528
    assert c.macs == ref['flops']['256x256']['conv_linear_macs']
    assert c.gflops == pytest.approx(ref['flops']['256x256']['official_reported_GFLOPs'], rel=1e-9)
    bn = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bn) == ref['num_batchnorm_modules'] and all(m.momentum == 0.01 for m in bn)


def test_from_official_rejects_config_without_extra():
    from hrvision.tasks.face.official import model_from_official
    with pytest.raises(KeyError, match='EXTRA'):
        model_from_official({'MODEL': {'NAME': 'hrnet'}})
