"""timm conventions: feature_info like timm's, pretrained weights by timm tag from a hub cache (offline)."""
import pytest
import torch

timm = pytest.importorskip('timm')
safetensors_torch = pytest.importorskip('safetensors.torch')

import hrvision  # noqa: E402
from hrvision.errors import InputError, MissingFileError  # noqa: E402

SNAPSHOT = 'a' * 40
DEFAULT_TAG = 'timm/hrnet_w18_small.gluon_in1k'  # timm's default for hrnet_w18_small (= hrvision's w18_small_v1)


def timm_features(weights=None, **kw):
    """timm's HRNet features in hrvision's convention: raw branches, timm out_indices = hrvision's + 1."""
    kw = dict(features_only=True, feature_location='', out_indices=(1, 2, 3, 4), **kw)
    if weights is None:
        return timm.create_model('hrnet_w18_small', pretrained=False, **kw).eval()
    return timm.create_model('hrnet_w18_small', pretrained=True, pretrained_cfg_overlay=dict(file=weights),
                             **kw).eval()


@pytest.mark.parametrize('out_indices', [(0, 1, 2, 3), (1, 3)])
def test_feature_info_matches_timm(out_indices):
    with torch.device('meta'):
        assert hasattr(hrvision.build_backbone('hrnet_w18_small'), 'feature_info'), 'HRNet has no feature_info'
    ref = timm.create_model('hrnet_w18_small', features_only=True, feature_location='', pretrained=False,
                            out_indices=tuple(i + 1 for i in out_indices)).feature_info
    net = hrvision.build_backbone('hrnet_w18_small', out_indices=out_indices)
    assert net.feature_info.channels() == ref.channels() == list(net.out_channels)
    assert net.feature_info.reduction() == ref.reduction() == list(net.strides)
    assert net.feature_info.module_name() == ref.module_name()   # timm's names (stage1 = branch 0, ...)
    for info in net.feature_info.get_dicts():
        assert {'num_chs', 'reduction', 'module'} <= set(info)


def make_hub_cache(root, repo_id, state_dict=None, filename='model.safetensors'):
    """The real huggingface_hub cache layout: models--org--name/{refs/main, snapshots/<hash>/<file>}."""
    repo = root / ('models--' + repo_id.replace('/', '--'))
    snap = repo / 'snapshots' / SNAPSHOT
    snap.mkdir(parents=True)
    (repo / 'refs').mkdir()
    (repo / 'refs' / 'main').write_text(SNAPSHOT)
    if state_dict is not None:
        safetensors_torch.save_file({k: v.contiguous() for k, v in state_dict.items()}, str(snap / filename))
    return snap / filename


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_CACHE', str(tmp_path / 'hub'))
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    (tmp_path / 'hub').mkdir()
    return tmp_path / 'hub'


@pytest.mark.parametrize('pretrained', [True, DEFAULT_TAG, 'hrnet_w18_small.gluon_in1k'])
def test_pretrained_by_tag_from_cache(offline_cache, pretrained):
    sd = timm.create_model('hrnet_w18_small', pretrained=False).state_dict()  # random ImageNet-format weights
    path = make_hub_cache(offline_cache, DEFAULT_TAG, sd)
    net = hrvision.build_backbone('hrnet_w18_small', pretrained=pretrained).eval()
    ref = timm_features(str(path))
    x = torch.randn(1, 3, 64, 96)
    for a, b in zip(net(x), ref(x)):
        torch.testing.assert_close(a, b)
    # and not by accident: a fresh net differs
    assert not torch.allclose(hrvision.build_backbone('hrnet_w18_small').eval()(x)[0], ref(x)[0])


def test_absent_file_names_tag_and_cache(offline_cache):
    make_hub_cache(offline_cache, DEFAULT_TAG)  # the repo folder exists, the weights do not
    with pytest.raises(MissingFileError) as e:
        hrvision.build_backbone('hrnet_w18_small', pretrained=DEFAULT_TAG)
    assert DEFAULT_TAG in str(e.value) and str(offline_cache) in str(e.value) and 'HF_HUB_OFFLINE' in str(e.value)
    with pytest.raises(MissingFileError, match='hrnet_w32.ms_in1k'):
        hrvision.build_backbone('hrnet_w32', pretrained=True)


def test_tag_of_another_variant_refused(offline_cache):
    with pytest.raises(InputError, match="'hrnet_w32'.*not 'hrnet_w18_small'"):
        hrvision.build_backbone('hrnet_w18_small_v1', pretrained='timm/hrnet_w32.ms_in1k')
