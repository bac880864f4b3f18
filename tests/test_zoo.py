"""The model zoo: verified downloads from a local HTTP server the test starts (never the internet), aliases in
every entry point, the README table, and every real entry's model vs its source's key list."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

import hrvision
from hrvision import zoo, zoo_download
from hrvision.errors import InputError, MissingFileError

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = 'pose/demo_synthetic.py'   # W18-Small-v1 pose net: 1.3M parameters


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; under ``/cut/`` it announces the whole body, sends half and hangs up."""

    def do_GET(self):   # noqa: N802 (http.server's name)
        self.server.hits.append(self.path)
        name = self.path.split('/', 2)[-1]
        body = self.server.files.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.path.startswith('/cut/'):
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path.startswith('/slow/'):   # a trickle: 64 bytes every 50 ms, never silent for long
            for k in range(0, len(body), 64):
                try:
                    self.wfile.write(body[k:k + 64])
                    self.wfile.flush()
                except OSError:   # the client gave up
                    return
                time.sleep(0.05)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def server():
    srv = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    srv.files, srv.hits = {}, []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _official_layout(sd: dict) -> dict:
    """hrvision pose keys -> the official pose layout (``final_layer.*``, backbone keys bare), DataParallel-wrapped:
    the zoo converts it through load_weights."""
    return {'state_dict': {'module.' + k.split('.', 1)[1]: v for k, v in sd.items()}}


def _bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


@pytest.fixture(scope='module')
def published(server):
    """A tiny pose checkpoint and a tiny backbone checkpoint (with an ImageNet classifier key) on the server."""
    torch.manual_seed(0)
    from hrvision.configs_path import config_path
    model = hrvision.init_model(config_path(TINY_CONFIG), None, 'cpu')
    pose_sd = {k: v.clone() for k, v in model.state_dict().items()}
    pose = _bytes(_official_layout(pose_sd))
    net = hrvision.build_backbone('hrnet_w18_small_v1')
    bb_sd = {k: v.clone() for k, v in net.state_dict().items()}
    backbone = _bytes({**bb_sd, 'classifier.weight': torch.zeros(3, 2048), 'classifier.bias': torch.zeros(3)})
    server.files.update({'tiny-pose.pth': pose, 'tiny-backbone.pth': backbone})
    return dict(pose_sd=pose_sd, pose_sha=hashlib.sha256(pose).hexdigest(), bb_sd=bb_sd,
                bb_sha=hashlib.sha256(backbone).hexdigest())


def _url(server, name, kind='f'):
    return f'http://127.0.0.1:{server.server_address[1]}/{kind}/{name}'


@pytest.fixture
def zoo_env(tmp_path, monkeypatch, server, published):
    """Test entries through $HRVISION_ZOO_FILE (also seen by CLI subprocesses); caches under tmp_path."""
    base = dict(task='pose', dataset='synthetic', arch='hrnet_w18_small_v1', config=TINY_CONFIG,
                source_format='official', metric='-', metric_source='test', licence='test')
    rows = [dict(base, alias='tiny-pose', urls=[_url(server, 'tiny-pose.pth')], sha256=published['pose_sha'][:8]),
            dict(base, alias='tiny-pose-full', urls=[_url(server, 'tiny-pose.pth')], sha256=published['pose_sha']),
            dict(base, alias='tiny-pose-wrong', urls=[_url(server, 'tiny-pose.pth')], sha256='0123abcd'),
            dict(base, alias='tiny-pose-cut', urls=[_url(server, 'tiny-pose.pth', 'cut')],
                 sha256=published['pose_sha'][:8]),
            dict(base, alias='tiny-pose-slow', urls=[_url(server, 'tiny-pose.pth', 'slow')],
                 sha256=published['pose_sha'][:8]),
            dict(base, alias='tiny-pose-nohash', urls=[_url(server, 'tiny-pose.pth')], sha256=None),
            dict(base, alias='tiny-pose-opts', urls=[_url(server, 'tiny-pose.pth')], sha256=published['pose_sha'],
                 options={'model.test_cfg.flip_test': False}),
            dict(base, alias='tiny-backbone', task='classification', config=None,
                 urls=[_url(server, 'tiny-backbone.pth')], sha256=published['bb_sha'][:8])]
    extra = tmp_path / 'zoo.json'
    extra.write_text(json.dumps(rows))
    monkeypatch.setenv(zoo.EXTRA_ENV, str(extra))
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.delenv('HF_HUB_OFFLINE', raising=False)
    server.hits.clear()
    return tmp_path


def _cache_files(tmp_path) -> list[str]:
    root = tmp_path / 'torch'
    return sorted(str(p.relative_to(root)) for p in root.rglob('*') if p.is_file()) if root.exists() else []


def _run(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, '-m', 'hrvision', *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, cwd=REPO)


def _same_weights(model, sd):
    got = model.state_dict()
    return all(torch.equal(got[k].cpu(), v) for k, v in sd.items())


def test_right_hash_is_cached_converted_and_loaded_once(zoo_env, server, published):
    path = zoo_download.get('tiny-pose', progress=False)
    assert server.hits == ['/f/tiny-pose.pth']
    assert Path(path).parent.name == 'hrvision' and Path(path).name.startswith('tiny-pose-')
    files = _cache_files(zoo_env)
    assert files == ['hub/checkpoints/hrvision/' + Path(path).name, 'hub/checkpoints/tiny-pose.pth']
    meta = torch.load(path, map_location='cpu', weights_only=True)['meta']['zoo']
    assert meta['sha256'] == published['pose_sha'] and meta['verified'] and meta['detected_format'] != 'hrvision'
    # every entry point takes the alias and loads the converted weights strictly
    model = hrvision.init_model('tiny-pose', device='cpu')
    assert _same_weights(model, published['pose_sd'])
    inf = hrvision.Inferencer('tiny-pose', device='cpu')
    assert _same_weights(inf.model, published['pose_sd'])
    assert zoo.resolve_checkpoint('tiny-pose') == path
    # a second get: no download; the full-digest entry verifies the same cached source file without fetching
    assert zoo_download.get('tiny-pose', progress=False) == path
    zoo_download.get('tiny-pose-full', progress=False)
    assert server.hits == ['/f/tiny-pose.pth']


def test_wrong_hash_is_refused_and_nothing_cached(zoo_env, server):
    with pytest.raises(zoo_download.HashMismatchError, match=r'tiny-pose-wrong.*starts with 0123abcd.*nothing was '
                                                             r'cached'):
        zoo_download.get('tiny-pose-wrong', progress=False)
    assert server.hits == ['/f/tiny-pose.pth'] and _cache_files(zoo_env) == []


def test_interrupted_download_leaves_nothing(zoo_env, server):
    with pytest.raises(MissingFileError, match=r'tiny-pose-cut: cannot download .*nothing was cached; download '
                                               r'http://\S+/cut/tiny-pose.pth'):
        zoo_download.get('tiny-pose-cut', progress=False)
    assert server.hits == ['/cut/tiny-pose.pth'] and _cache_files(zoo_env) == []


def test_a_trickling_download_is_refused_not_waited_for(zoo_env, server, monkeypatch):
    """Each read gets bytes before the per-read timeout, so only the rate tells a trickle from a download."""
    monkeypatch.setattr(zoo_download, 'STALL_S', 1.0)
    t = time.monotonic()
    with pytest.raises(MissingFileError, match=r'tiny-pose-slow: cannot download .*the download stalled: \d+ bytes '
                                               r'in the last 1.0 s.*nothing was cached'):
        zoo_download.get('tiny-pose-slow', progress=False)
    assert time.monotonic() - t < 30 and _cache_files(zoo_env) == []


def test_weights_in_another_config_are_said(zoo_env, capsys):
    """Allowed (the weights load strictly), but the published metric is the entry config's: one stderr line."""
    from hrvision.configs_path import config_path
    hrvision.init_model(config_path(TINY_CONFIG), 'tiny-pose', 'cpu')
    hrvision.init_model('tiny-pose', None, 'cpu')
    assert 'was trained with' not in capsys.readouterr().err
    copy = zoo_env / 'my_pose.py'
    copy.write_text(Path(config_path(TINY_CONFIG)).read_text().replace("_base_ = ['", "_base_ = ['" +
                                                                       str(Path(config_path(TINY_CONFIG)).parent) + '/'))
    hrvision.init_model(str(copy), 'tiny-pose', 'cpu')
    err = capsys.readouterr().err
    assert f'hrvision: zoo tiny-pose was trained with {TINY_CONFIG}; running it with {copy}' in err, err


def test_no_published_hash_needs_an_explicit_yes(zoo_env, server, published, capsys):
    with pytest.raises(InputError, match='no published sha256.*--no-verify'):
        zoo_download.get('tiny-pose-nohash', progress=False)
    assert server.hits == [] and _cache_files(zoo_env) == []   # refused before any download
    path = zoo_download.get('tiny-pose-nohash', verify=False, progress=False)
    assert published['pose_sha'] in capsys.readouterr().err   # the accepted file's sha256, shown and recorded
    assert path.endswith('-unverified.pth')
    assert torch.load(path, weights_only=True)['meta']['zoo']['verified'] is False
    assert zoo_download.get('tiny-pose-nohash', progress=False) == path   # cached: used, and said again
    assert 'accepted without a published hash' in capsys.readouterr().err


def test_zoo_file_cannot_take_a_builtin_alias(tmp_path, monkeypatch):
    extra = tmp_path / 'zoo.json'
    extra.write_text(json.dumps([dict(alias='hrnet-w32-coco-256x192', task='pose', dataset='mine', arch='hrnet_w32',
                                      config=TINY_CONFIG, urls=['http://127.0.0.1:9/x.pth'], sha256='0123abcd',
                                      source_format='hrvision', metric='-', metric_source='-', licence='-')]))
    monkeypatch.setenv(zoo.EXTRA_ENV, str(extra))
    from hrvision.errors import ConfigError
    with pytest.raises(ConfigError, match="entry 'hrnet-w32-coco-256x192' has the alias of a built-in entry"):
        zoo.entries()


def test_file_downloaded_by_hand(zoo_env, server, published):
    """--file: the same hash check, no download; an entry without a link says where its file goes."""
    good = zoo_env / 'copy.pth'
    good.write_bytes(server.files['tiny-pose.pth'])
    bad = zoo_env / 'bad.pth'
    bad.write_bytes(server.files['tiny-pose.pth'] + b'x')
    with pytest.raises(zoo_download.HashMismatchError, match=r'bad\.pth has sha256'):
        zoo_download.get('tiny-pose', file=str(bad), progress=False)
    assert _cache_files(zoo_env) == []
    cached_src = zoo_env / 'torch' / 'hub' / 'checkpoints' / 'tiny-pose.pth'   # a wrong file where downloads go
    cached_src.parent.mkdir(parents=True)
    cached_src.write_bytes(bad.read_bytes())
    with pytest.raises(zoo_download.HashMismatchError, match=rf'remove {re.escape(str(cached_src))} .*run again'):
        zoo_download.get('tiny-pose', progress=False)
    cached_src.unlink()
    path = zoo_download.get('tiny-pose', file=str(good), progress=False)
    assert server.hits == [] and _cache_files(zoo_env) == ['hub/checkpoints/hrvision/' + Path(path).name]
    with pytest.raises(MissingFileError, match=r'no download link.*--file FILE --no-verify.*put the file at \S+'
                                               r'hrnetv2-w18-small-v1-cityscapes\.pth and add --no-verify'):
        zoo_download.get('hrnetv2-w18-small-v1-cityscapes', progress=False)


def test_backbone_alias_in_build_backbone(zoo_env, published):
    net = hrvision.build_backbone('hrnet_w18_small_v1', pretrained='tiny-backbone')
    assert _same_weights(net, published['bb_sd'])   # converted once, the classifier dropped
    with pytest.raises(InputError, match="holds 'hrnet_w18_small_v1' weights, not 'hrnet_w32'"):
        hrvision.build_backbone('hrnet_w32', pretrained='tiny-backbone')
    # a task model's alias: its backbone part, every tensor (a pose net's last module is single-scale: built so,
    # else refused by the strict load with the reason)
    with pytest.raises(Exception, match='no lower-resolution fuse rows'):
        hrvision.build_backbone('hrnet_w18_small_v1', pretrained='tiny-pose')
    net = hrvision.build_backbone('hrnet_w18_small_v1', pretrained='tiny-pose', multi_scale_output=False,
                                  out_indices=(0,))
    part = {k.split('.', 1)[1]: v for k, v in published['pose_sd'].items() if k.startswith('backbone.')}
    assert len(part) == len(net.state_dict()) and _same_weights(net, part)


def test_entry_options_reach_every_entry_point(zoo_env, monkeypatch):
    """An entry's training settings (here flip_test off) go into the config wherever the alias is used; the
    user's options still win."""
    from hrvision.configs_path import config_path
    from hrvision.engine import runner
    assert hrvision.init_model('tiny-pose-opts', device='cpu').cfg.model.test_cfg.flip_test is False
    assert hrvision.init_model('tiny-pose', device='cpu').cfg.model.test_cfg.flip_test is True   # no options
    cfg_file = config_path(TINY_CONFIG)
    assert hrvision.init_model(cfg_file, 'tiny-pose-opts', 'cpu').cfg.model.test_cfg.flip_test is False
    model = hrvision.init_model('tiny-pose-opts', device='cpu', cfg_options={'model.test_cfg.flip_test': True})
    assert model.cfg.model.test_cfg.flip_test is True
    seen = {}

    class _Runner:
        def test(self):
            return {'ok': 1.0}

    def fake_build_runner(cfg):
        seen.update(load_from=cfg.load_from, flip=cfg.model.test_cfg.flip_test)
        return _Runner()

    monkeypatch.setattr(runner, 'build_runner', fake_build_runner)   # `hrvision test CONFIG ALIAS`: what it runs
    assert runner.test(cfg_file, 'tiny-pose-opts', work_dir=str(zoo_env / 'work')) == {'ok': 1.0}
    assert seen == {'load_from': zoo.resolve_checkpoint('tiny-pose-opts'), 'flip': False}
    # the command's way: its config prepared with the alias first, then the user's --cfg-options, which win
    cfg = runner.prepare_config(cfg_file, work_dir=str(zoo_env / 'work'), checkpoint='tiny-pose-opts',
                                cfg_options={'model.test_cfg.flip_test': True})
    assert runner.test(cfg, 'tiny-pose-opts') == {'ok': 1.0} and seen['flip'] is True
    from hrvision.cli import main
    assert main(['test', cfg_file, 'tiny-pose-opts', '--work-dir', str(zoo_env / 'work'),
                 '--cfg-options', 'model.test_cfg.flip_test=True']) == 0
    assert seen['flip'] is True
    assert main(['test', cfg_file, 'tiny-pose-opts', '--work-dir', str(zoo_env / 'work')]) == 0
    assert seen['flip'] is False


def test_timm_tag_verified_by_the_hub_blob_name(tmp_path, monkeypatch):
    """A timm entry: the hub cache's file is a link to a blob named by its sha256 (huggingface_hub's layout); the
    content is checked against that name, converted once; a blob whose content differs is refused, nothing cached."""
    from safetensors.torch import save as st_save
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.setenv('HF_HUB_CACHE', str(tmp_path / 'hub'))
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    entry = zoo.get_entry('hrnet-w18-small-v1-imagenet')
    torch.manual_seed(1)
    sd = hrvision.build_backbone('hrnet_w18_small_v1').state_dict()
    body = st_save({**{k: v.contiguous() for k, v in sd.items()}, 'classifier.weight': torch.zeros(2, 2048)})

    def hub_repo(content: bytes, blob_name: str):
        repo = tmp_path / 'hub' / ('models--' + entry.timm_tag.replace('/', '--'))
        if repo.exists():
            import shutil
            shutil.rmtree(repo)
        (repo / 'blobs').mkdir(parents=True)
        (repo / 'blobs' / blob_name).write_bytes(content)
        (repo / 'refs').mkdir()
        (repo / 'refs' / 'main').write_text('b' * 40)
        snap = repo / 'snapshots' / ('b' * 40)
        snap.mkdir(parents=True)
        (snap / 'model.safetensors').symlink_to(Path('..', '..', 'blobs', blob_name))

    hub_repo(body, hashlib.sha256(body).hexdigest()[::-1])   # the content is not what the hub's name says
    with pytest.raises(zoo_download.HashMismatchError, match='the hub states .*refused, nothing was cached'):
        zoo_download.get(entry.alias, progress=False)
    assert _cache_files(tmp_path) == []
    hub_repo(body, hashlib.sha256(body).hexdigest())
    path = zoo_download.get(entry.alias, progress=False)
    meta = torch.load(path, weights_only=True)['meta']['zoo']
    assert meta['verified'] and meta['sha256'] == hashlib.sha256(body).hexdigest()
    assert meta['dropped'] == ['classifier.weight']
    net = hrvision.build_backbone('hrnet_w18_small_v1', pretrained=entry.alias)
    assert _same_weights(net, sd)


def test_cli_refusals_are_one_line(zoo_env, server):
    """Offline without the file: one line naming the URL and the cache path; a checkpoint argument that is neither
    a file nor an alias: one line. Both exit 2 (run side by side: each start imports torch)."""
    env = {**os.environ, 'HF_HUB_OFFLINE': '1'}
    cmds = [['zoo', 'get', 'tiny-pose'], ['test', 'configs/pose/demo_synthetic.py', 'tiny-pse']]
    procs = [subprocess.Popen([sys.executable, '-m', 'hrvision', *c], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=REPO) for c in cmds]
    (_, offline_err), (_, typo_err) = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [2, 2], (offline_err, typo_err)
    lines = offline_err.strip().splitlines()
    dest = zoo_env / 'torch' / 'hub' / 'checkpoints' / 'tiny-pose.pth'
    assert len(lines) == 1 and 'tiny-pose' in lines[0] and 'HF_HUB_OFFLINE' in lines[0]
    assert _url(server, 'tiny-pose.pth') in lines[0] and str(dest) in lines[0], lines[0]
    assert server.hits == [] and _cache_files(zoo_env) == []
    assert 'nor a zoo alias' in typo_err and len(typo_err.strip().splitlines()) == 1, typo_err
    from hrvision.cli import build_parser
    assert build_parser().parse_args(['test', 'x.py', 'tiny-pose']).checkpoint == 'tiny-pose'


@pytest.mark.slow
def test_cli_get_list_then_offline_infer_by_alias(zoo_env, server, tmp_path):
    r = _run('zoo', 'get', 'tiny-pose-wrong')   # a wrong hash: one line, exit 2, nothing cached
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert 'starts with 0123abcd' in r.stderr and _cache_files(zoo_env) == []
    server.hits.clear()
    r = _run('zoo', 'get', 'tiny-pose')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith('.pth') and server.hits == ['/f/tiny-pose.pth']
    r = _run('zoo', 'list', '--task', 'pose')
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line for line in r.stdout.splitlines()[1:]}
    assert 'yes' in rows['tiny-pose'] and rows['tiny-pose-wrong'].endswith('no')
    assert 'hrnet-w32-coco-256x192' in rows and 'hrnetv2-w48-cityscapes' not in rows
    # offline from now on: the cache serves the alias, as the config (ALIAS INPUT) and as the checkpoint
    import numpy as np

    from hrvision.data.io import write_image
    write_image(str(tmp_path / 'person.png'), np.random.default_rng(0).integers(0, 255, (96, 72, 3), np.uint8))
    r = _run('infer', 'tiny-pose', str(tmp_path / 'person.png'), '--out', str(tmp_path / 'out'), '--device', 'cpu',
             env={'HF_HUB_OFFLINE': '1'})
    assert r.returncode == 0, r.stderr
    assert '1 images' in r.stdout and server.hits == ['/f/tiny-pose.pth']
    r = _run('infer', 'configs/pose/demo_synthetic.py', 'tiny-pose', str(tmp_path / 'person.png'), '--out',
             str(tmp_path / 'out2'), '--device', 'cpu', env={'HF_HUB_OFFLINE': '1'})
    assert r.returncode == 0, r.stderr
    results = [p for p in (tmp_path / 'out').glob('*.json') if p.name != 'hrvision_manifest.json']
    assert len(results) == 1
    assert json.loads(results[0].read_text()) == json.loads((tmp_path / 'out2' / results[0].name).read_text())
    # the alias's weights in another config file: said in one stderr line by infer and by test (which then refuses
    # the missing data in one line, exit 2)
    from hrvision.configs_path import config_path
    tiny = Path(config_path(TINY_CONFIG))
    copy = tmp_path / 'my_pose.py'
    copy.write_text(tiny.read_text().replace("_base_ = ['", "_base_ = ['" + str(tiny.parent) + '/'))
    said = f'hrvision: zoo tiny-pose was trained with {TINY_CONFIG}; running it with {copy}'
    cmds = [['infer', str(copy), 'tiny-pose', str(tmp_path / 'person.png'), '--out', str(tmp_path / 'out3'),
             '--device', 'cpu'],
            ['test', str(copy), 'tiny-pose', '--cfg-options', f'data_root={tmp_path / "no_data"}']]
    procs = [subprocess.Popen([sys.executable, '-m', 'hrvision', *c], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, 'HF_HUB_OFFLINE': '1'}, cwd=REPO) for c in cmds]
    (_, infer_err), (_, test_err) = [p.communicate(timeout=180) for p in procs]
    assert procs[0].returncode == 0 and infer_err.count(said) == 1, infer_err
    lines = test_err.strip().splitlines()
    assert procs[1].returncode == 2 and len(lines) == 2 and lines[0].startswith(said), test_err
    assert 'no_data' in lines[1], test_err


def test_unknown_alias_did_you_mean():
    with pytest.raises(KeyError, match="no zoo entry 'hrnet-w32-coco-256x19'; did you mean 'hrnet-w32-coco-256x192'"):
        zoo.get_entry('hrnet-w32-coco-256x19')


# ----------------------------------------------------------------------------------------- the real table
def test_table_entries_are_complete_and_sourced():
    aliases = [e.alias for e in zoo.ENTRIES]
    assert len(aliases) == len(set(aliases))
    for e in zoo.ENTRIES:
        zoo.check_entry(e)
        assert e.metric and e.metric_source and e.licence, e.alias
        if e.timm_tag:
            from timm.models import get_pretrained_cfg
            assert get_pretrained_cfg(e.timm_tag.split('/', 1)[1]) is not None, e.alias
        elif e.urls and 'download.openmmlab.com' in e.urls[0]:
            # OpenMMLab names end in the sha256 prefix: the entry's hash is the one in the published name
            assert re.search(rf'-{e.sha256}(_\d{{8}})?\.pth$', e.urls[0]), e.alias
        else:
            assert e.sha256 is None and e.note, e.alias   # no published hash: said so, and never trusted silently
    need = {'hrnet-w32-coco-256x192', 'hrnet-w32-coco-384x288', 'hrnet-w48-coco-256x192', 'hrnet-w48-coco-384x288',
            'hrnetv2-w48-cityscapes', 'hrnetv2-w48-ocr-cityscapes', 'hrnetv2-w18-small-v1-cityscapes',
            'hrnetv2-w18-small-v2-cityscapes', 'hrnetv2-w18-wflw', 'hrnetv2p-w32-faster-rcnn-coco',
            'hrnet-w32-mpii-256x256', 'hrnet-w32-imagenet', 'hrnet-w48-imagenet'}
    assert need <= set(aliases)


def test_readme_table_is_the_generated_one():
    text = (REPO / 'README.md').read_text(encoding='utf-8')
    start, end = '<!-- zoo table: generated by `hrvision zoo list --markdown` -->\n', '<!-- zoo table end -->'
    assert start in text and end in text
    assert text.split(start, 1)[1].split(end, 1)[0] == zoo.markdown_table()


def test_alias_typo_in_entry_points_did_you_mean():
    """A name that is no file and no alias but close to one: refused with the alias, not read as a path."""
    with pytest.raises(KeyError, match=r"config 'hrnet-w32-coco-256x19': no such file, nor a zoo alias; did you "
                                       r"mean 'hrnet-w32-coco-256x192'"):
        hrvision.init_model('hrnet-w32-coco-256x19', device='cpu')
    with pytest.raises(KeyError, match=r"checkpoint 'hrnetv2-w48-cityscape'.*did you mean 'hrnetv2-w48-cityscapes'"):
        zoo.resolve_checkpoint('hrnetv2-w48-cityscape')
    assert zoo.resolve_checkpoint('missing/file.pth') == 'missing/file.pth'   # a path: its reader says it is missing


def test_infer_takes_aliases_for_the_checkpoint_and_the_detector(zoo_env):
    """`hrvision infer CONFIG ALIAS INPUT` and `--det-config ALIAS` (its config and weights) parse as such."""
    from hrvision.cli import build_parser
    from hrvision.inference.cli import _check_args, split_checkpoint
    assert split_checkpoint(['tiny-pose', 'a.png']) == ('tiny-pose', ['a.png'])
    assert split_checkpoint(['a.png']) == (None, ['a.png'])
    args = build_parser().parse_args(['infer', 'tiny-pose', 'a.png', '--out', 'o', '--det-config',
                                      'hrnetv2p-w32-faster-rcnn-coco'])
    _check_args(args)   # a zoo detector needs no --det-checkpoint
    args = build_parser().parse_args(['infer', 'tiny-pose', 'a.png', '--out', 'o', '--det-config', 'det.py'])
    with pytest.raises(InputError, match='--det-config and --det-checkpoint go together'):
        _check_args(args)


def test_openmmlab_meta_numpy_is_read_nothing_else(tmp_path):
    """OpenMMLab files carry numpy arrays / scalars in meta.dataset_meta, pickled by numpy 1 (numpy.core) or 2
    (numpy._core): those are read with weights_only plus exactly those types; any other pickled object is refused."""
    import zipfile
    from fractions import Fraction

    import numpy as np

    from hrvision.weights import CheckpointError
    meta = {'dataset_meta': {'sigmas': np.array([0.026, 0.025], np.float32), 'ids': np.arange(3), 'x': np.float64(2)}}
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': meta}, tmp_path / 'np2.pth')
    with zipfile.ZipFile(tmp_path / 'np2.pth') as src, zipfile.ZipFile(tmp_path / 'np1.pth', 'w') as dst:
        for info in src.infolist():   # the same file as numpy 1 wrote it
            data = src.read(info.filename)
            dst.writestr(info.filename, data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
                         if info.filename.endswith('data.pkl') else data)
    with zipfile.ZipFile(tmp_path / 'np1.pth') as z:
        assert any(b'numpy.core.multiarray' in z.read(n) for n in z.namelist() if n.endswith('data.pkl'))
    for name in ('np2.pth', 'np1.pth'):
        got = zoo_download._read_source(str(tmp_path / name))
        assert np.array_equal(got['meta']['dataset_meta']['sigmas'], meta['dataset_meta']['sigmas'])
        assert torch.equal(got['state_dict']['w'], torch.ones(2))
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {'odd': Fraction(1, 3)}}, tmp_path / 'odd.pth')
    with pytest.raises(CheckpointError, match='weights_only'):
        zoo_download._read_source(str(tmp_path / 'odd.pth'))


def test_list_models():
    assert 'hrnet-w32-coco-256x192' in hrvision.list_models('pose')
    assert 'hrnetv2-w48-ocr-cityscapes' not in hrvision.list_models('pose')
    assert set(hrvision.list_models()) >= {e.alias for e in zoo.ENTRIES}


def test_converted_file_by_path_needs_the_settings_it_was_trained_with(tmp_path):
    """A zoo checkpoint records the settings its config does not state (meta.zoo.options); used by its path
    instead of its alias, a model built without them is refused in one line instead of running silently with
    other upsampling; built with them (what the alias does), it loads."""
    from hrvision.weights import WeightsMismatchError
    cfg = str(REPO / 'configs' / 'segmentation' / 'demo_synthetic.py')
    model = hrvision.init_model(cfg, device='cpu')
    trained = not model.backbone.align_corners
    path = tmp_path / 'converted.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': {'zoo': {'alias': 'some-alias', 'options': {'model.backbone.align_corners': trained}}}}, path)
    with pytest.raises(WeightsMismatchError, match=r'converted.pth was trained with model.backbone.align_corners='
                                                   rf'{trained} \(zoo some-alias\), the model has {not trained}'):
        hrvision.init_model(cfg, str(path), device='cpu')
    ok = hrvision.init_model(cfg, str(path), device='cpu', cfg_options={'model.backbone.align_corners': trained})
    assert ok.backbone.align_corners is trained
    env = dict(os.environ, OMP_NUM_THREADS='1')
    subprocess.run([sys.executable, '-m', 'hrvision', 'data', 'synth-cityscapes', str(tmp_path / 'data'), '--n-train',
                    '1', '--n-val', '1', '--size', '64x128'], check=True, capture_output=True, env=env)
    r = subprocess.run([sys.executable, '-m', 'hrvision', 'test', cfg, str(path), '--data-root', str(tmp_path / 'data')],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 2 and 'Traceback' not in r.stderr and 'was trained with' in r.stderr
