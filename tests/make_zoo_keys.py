"""The key lists of the zoo's source checkpoints: tests/reference/zoo_keys/ (``INDEX.json`` + ``*.json.gz``).

Every zoo entry (``hrvision/zoo.py``) has its source file's key list (key, shape, dtype per tensor), so
``tests/test_zoo_keys.py`` can check, without downloading anything, that the entry's model builds and that the
conversion (``load_weights``, strict) places every source key and fills every model tensor.

Where the lists come from (``provenance`` in each file):

* official files: the listings of ``tests/reference`` (made with the official code by ``tests/make_reference.py``);
  the index only points to them.
* OpenMMLab files (mmpose / mmseg / mmdet): the library's *own model code*, built from the config its metafile
  pairs with the published file name, run outside this repo (``--libraries DIR``, a ``pip install --no-deps
  --target DIR mmcv-lite==2.1.0 mmsegmentation==1.2.2 mmdet==3.3.0 mmpose==1.3.2`` folder; nothing of theirs is
  vendored, only the names and shapes they produce). SyncBN is built as BN (the same keys). The mmpose 0.x files
  (MPII, WFLW) are the mmpose 1.x model's keys under the 0.x names, checked by loading them strictly into the 1.x
  model through mmpose's own 0.x compatibility hooks.
* timm tags: ``timm.create_model(name)``'s keys (timm's own code; the tag's file holds that state dict).

Without ``--libraries`` the script checks the committed lists against the layout facts written below (module names
and channels from the libraries' configs): ``python tests/make_zoo_keys.py --check`` (exit 1 on a difference).
"""
from __future__ import annotations

import argparse
import glob
import gzip
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests import reference_store  # noqa: E402

OUT = REPO / 'tests' / 'reference' / 'zoo_keys'
F32, I64 = 'float32', 'int64'
_OFFICIAL_HEADS = ('final_layer', 'last_layer', 'head.', 'aux_head', 'conv3x3_ocr', 'ocr_distri_head', 'cls_head',
                   'incre_modules', 'downsamp_modules', 'classifier')


def official(name: str) -> list[list]:
    return reference_store.load_json(REPO / 'tests' / 'reference', name)['state_dict']


def backbone(name: str) -> list[list]:
    """The official list's backbone entries under ``backbone.``."""
    return [['backbone.' + k, s, t] for k, s, t in official(name) if not k.startswith(_OFFICIAL_HEADS)]


def conv(prefix: str, cout: int, cin: int, k: int = 1, bias: bool = True) -> list[list]:
    return [[f'{prefix}.weight', [cout, cin, k, k], F32]] + ([[f'{prefix}.bias', [cout], F32]] if bias else [])


def bn(prefix: str, c: int) -> list[list]:
    return [[f'{prefix}.{n}', [c], F32] for n in ('weight', 'bias', 'running_mean', 'running_var')] + \
        [[f'{prefix}.num_batches_tracked', [], I64]]


def gn(prefix: str, c: int) -> list[list]:
    return [[f'{prefix}.weight', [c], F32], [f'{prefix}.bias', [c], F32]]


def conv_module(prefix: str, cout: int, cin: int, k: int = 1) -> list[list]:
    """mmcv ConvModule with a BN: ``conv`` (no bias: bias='auto' with a norm) then ``bn``."""
    return conv(f'{prefix}.conv', cout, cin, k, bias=False) + bn(f'{prefix}.bn', cout)


def fcn_head(prefix: str, channels: int, classes: int) -> list[list]:
    """mmseg FCNHead(num_convs=1, kernel_size=1, concat_input=False) on the resize_concat input: BaseDecodeHead
    makes ``conv_seg`` first, then ``convs``."""
    return conv(f'{prefix}.conv_seg', classes, channels) + conv_module(f'{prefix}.convs.0', channels, channels)


def ocr_head(prefix: str, cin: int, channels: int, ocr: int, classes: int) -> list[list]:
    """mmseg OCRHead(channels, ocr_channels): conv_seg, object_context_block (key/query projects of two
    ConvModules, value/out projects of one, then its bottleneck over cat(context, feats)), bottleneck (3x3)."""
    ocb = f'{prefix}.object_context_block'
    rows = conv(f'{prefix}.conv_seg', classes, channels)
    for proj in ('key_project', 'query_project'):
        rows += conv_module(f'{ocb}.{proj}.0', ocr, channels) + conv_module(f'{ocb}.{proj}.1', ocr, ocr)
    rows += conv_module(f'{ocb}.value_project', ocr, channels) + conv_module(f'{ocb}.out_project', channels, ocr)
    rows += conv_module(f'{ocb}.bottleneck', channels, 2 * channels)
    return rows + conv_module(f'{prefix}.bottleneck', channels, cin, 3)


def hrfpn(cin: int, cout: int = 256, num_outs: int = 5) -> list[list]:
    """mmdet HRFPN: ConvModules without a norm (conv with bias)."""
    rows = conv('neck.reduction_conv.conv', cout, cin)
    for i in range(num_outs):
        rows += conv(f'neck.fpn_convs.{i}.conv', cout, cout, 3)
    return rows


def faster_rcnn(classes: int = 80, anchors: int = 3, ch: int = 256) -> list[list]:
    """mmdet 2.x RPNHead (sigmoid: one score per anchor) and Shared2FCBBoxHead (fc_cls: classes + background,
    class-specific fc_reg; BBoxHead makes fc_cls / fc_reg before the shared fcs)."""
    rows = conv('rpn_head.rpn_conv', ch, ch, 3) + conv('rpn_head.rpn_cls', anchors, ch) + \
        conv('rpn_head.rpn_reg', 4 * anchors, ch)
    b = 'roi_head.bbox_head'
    rows += [[f'{b}.fc_cls.weight', [classes + 1, 1024], F32], [f'{b}.fc_cls.bias', [classes + 1], F32],
             [f'{b}.fc_reg.weight', [4 * classes, 1024], F32], [f'{b}.fc_reg.bias', [4 * classes], F32],
             [f'{b}.shared_fcs.0.weight', [1024, ch * 7 * 7], F32], [f'{b}.shared_fcs.0.bias', [1024], F32],
             [f'{b}.shared_fcs.1.weight', [1024, 1024], F32], [f'{b}.shared_fcs.1.bias', [1024], F32]]
    return rows


def fcos(classes: int = 80, ch: int = 256, stacked: int = 4, levels: int = 5) -> list[list]:
    """mmdet FCOSHead (GN towers: ConvModule conv without bias + ``gn``; 3x3 predictors; a Scale per level)."""
    rows = []
    for tower in ('cls_convs', 'reg_convs'):
        for i in range(stacked):
            rows += conv(f'bbox_head.{tower}.{i}.conv', ch, ch, 3, bias=False) + gn(f'bbox_head.{tower}.{i}.gn', ch)
    rows += conv('bbox_head.conv_cls', classes, ch, 3) + conv('bbox_head.conv_reg', 4, ch, 3) + \
        conv('bbox_head.conv_centerness', 1, ch, 3)
    return rows + [[f'bbox_head.scales.{i}.scale', [], F32] for i in range(levels)]


_MMPOSE1 = ('mmpose 1.x TopdownPoseEstimator: backbone.* (HRNet, stage4 multiscale_output=False: the official pose '
            'net\'s keys) + head.final_layer.* (HeatmapHead, no deconv / conv layers)')
_MMPOSE0 = 'mmpose 0.x TopDown: backbone.* + keypoint_head.final_layer.* (TopdownHeatmapSimpleHead, no deconv)'

SOURCES = {
    'td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909': dict(
        source_format='mmpose', layout=_MMPOSE1,
        rows=lambda: backbone('pose_w32_256x192_keys.json') + conv('head.final_layer', 17, 32)),
    'td-hm_hrnet-w32_8xb64-210e_coco-384x288-ca5956af_20220909': dict(
        source_format='mmpose', layout=_MMPOSE1,
        rows=lambda: backbone('pose_w32_256x192_keys.json') + conv('head.final_layer', 17, 32)),
    'td-hm_hrnet-w48_8xb32-210e_coco-256x192-0e67c616_20220913': dict(
        source_format='mmpose', layout=_MMPOSE1,
        rows=lambda: backbone('pose_w48_384x288_keys.json') + conv('head.final_layer', 17, 48)),
    'td-hm_hrnet-w48_8xb32-210e_coco-384x288-c161b7de_20220915': dict(
        source_format='mmpose', layout=_MMPOSE1,
        rows=lambda: backbone('pose_w48_384x288_keys.json') + conv('head.final_layer', 17, 48)),
    'hrnet_w32_mpii_256x256-6c4f923f_20200812': dict(
        source_format='mmpose', layout=_MMPOSE0,
        rows=lambda: backbone('pose_w32_256x192_keys.json') + conv('keypoint_head.final_layer', 16, 32)),
    'hrnetv2_w18_wflw_256x256-2bf032a6_20210125': dict(
        source_format='mmpose',
        layout='mmpose 0.x TopDown: backbone.* (HRNet stage4 multiscale_output=True, bilinear upsample) + '
               'keypoint_head.final_layer.{0,1,3} (TopdownHeatmapSimpleHead with one extra 1x1 conv (bias) - BN - '
               'ReLU, then the 1x1 conv to 98 maps)',
        rows=lambda: backbone('face_wflw_w18_keys.json') + conv('keypoint_head.final_layer.0', 270, 270)
        + bn('keypoint_head.final_layer.1', 270) + conv('keypoint_head.final_layer.3', 98, 270)),
    'fcn_hr18s_512x1024_160k_cityscapes_20200602_190901-4a0797ea': dict(
        source_format='mmseg',
        layout='mmseg EncoderDecoder: backbone.* (HRNet W18-Small = the official Small-v2 blocks) + decode_head.* '
               '(FCNHead: conv_seg, convs.0 = 1x1 ConvModule 270->270 with SyncBN)',
        rows=lambda: backbone('seg_cityscapes_w18_small_v2_keys.json') + fcn_head('decode_head', 270, 19)),
    'fcn_hr48_512x1024_160k_cityscapes_20200602_190946-59b7973e': dict(
        source_format='mmseg',
        layout='mmseg EncoderDecoder: backbone.* + decode_head.* (FCNHead: conv_seg, convs.0 = 1x1 ConvModule '
               '720->720 with SyncBN)',
        rows=lambda: backbone('seg_cityscapes_w48_keys.json') + fcn_head('decode_head', 720, 19)),
    'ocrnet_hr48_512x1024_160k_cityscapes_20200602_191037-dfbf1b0c': dict(
        source_format='mmseg',
        layout='mmseg CascadeEncoderDecoder: backbone.* + decode_head.0.* (FCNHead 720->720->19, the soft object '
               'regions) + decode_head.1.* (OCRHead channels=512, ocr_channels=256: conv_seg, '
               'object_context_block.{key,query,value,out}_project, object_context_block.bottleneck, bottleneck)',
        rows=lambda: backbone('seg_cityscapes_w48_keys.json') + fcn_head('decode_head.0', 720, 19)
        + ocr_head('decode_head.1', 720, 512, 256, 19)),
    'faster_rcnn_hrnetv2p_w32_1x_coco_20200130-6e286425': dict(
        source_format='mmdet',
        layout='mmdet 2.x FasterRCNN: backbone.* (HRNet W32, all stage4 fuse rows) + neck.* (HRFPN 480->256, 5 '
               'outputs) + rpn_head.* (RPNHead, 3 anchors, sigmoid) + roi_head.bbox_head.* (Shared2FCBBoxHead, '
               '80 classes + background last)',
        rows=lambda: backbone('cls_w32_keys.json') + hrfpn(480) + faster_rcnn()),
    'fcos_hrnetv2p_w32_gn-head_4x4_1x_coco_20201211_134730-cb8055c0': dict(
        source_format='mmdet',
        layout='mmdet 2.x FCOS: backbone.* + neck.* (HRFPN stride 2) + bbox_head.* (FCOSHead: GN towers, '
               'conv_cls / conv_reg / conv_centerness, scales.0-4)',
        rows=lambda: backbone('cls_w32_keys.json') + hrfpn(480) + fcos()),
}


# the mmpose 0.x files: the 1.x key -> the 0.x key (the reverse of mmpose 1.x's compatibility hooks:
# TopDown's keypoint_head -> head; TopdownHeatmapSimpleHead's final_layer.{0,1,3} -> HeatmapHead's
# conv_layers.{0,1} and final_layer)
LEGACY = {
    'hrnet_w32_mpii_256x256-6c4f923f_20200812': [(r'^head\.final_layer\.', 'keypoint_head.final_layer.')],
    'hrnetv2_w18_wflw_256x256-2bf032a6_20210125': [(r'^head\.conv_layers\.([01])\.', r'keypoint_head.final_layer.\1.'),
                                                   (r'^head\.final_layer\.', 'keypoint_head.final_layer.3.')],
}
# the official listings of tests/reference (official code) for the zoo's official-format entries
OFFICIAL = {'hrnetv2-w48-cityscapes-official': 'seg_cityscapes_w48_keys.json',
            'hrnetv2-w48-ocr-cityscapes': 'seg_ocr_cityscapes_w48_keys.json',
            'hrnetv2-w18-small-v1-cityscapes': 'seg_cityscapes_w18_small_v1_keys.json'}
STUBBED = ('ftfy', 'regex', 'prettytable', 'mmcv.ops', 'mmcv._ext', 'xtcocotools', 'json_tricks', 'munkres',
           'shapely', 'terminaltables', 'pycocotools', 'chumpy', 'scipy', 'six')


def rows_of(sd) -> list[list]:
    return [[k, list(v.shape), str(v.dtype).replace('torch.', '')] for k, v in sd.items()]


def _stub_imports(names) -> None:
    """Import-time dependencies of the libraries' packages that building a model never calls (tokenizers, table
    printers, compiled ops): empty modules, so only the model code runs."""
    import importlib.abc
    import importlib.machinery
    from unittest import mock

    class Stub(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path, target=None):
            if any(name == n or name.startswith(n + '.') for n in names):
                return importlib.machinery.ModuleSpec(name, self, is_package=True)
            return None

        def create_module(self, spec):
            m = mock.MagicMock(name=spec.name)
            m.__path__, m.__spec__, m.__name__ = [], spec, spec.name
            return m

        def exec_module(self, module):
            pass
    sys.meta_path.append(Stub())


def _metafile_config(lib: str, stem: str, libdir: Path) -> Path:
    """The config the library's metafile pairs with the published file ``stem.pth``."""
    import yaml
    root = libdir / lib / '.mim'
    for p in sorted(glob.glob(str(root / 'configs' / '**' / '*.y*ml'), recursive=True)):
        with open(p, encoding='utf-8') as f:
            doc = yaml.safe_load(f)
        models = doc.get('Models', []) if isinstance(doc, dict) else doc or []
        for m in models:
            if isinstance(m, dict) and str(m.get('Weights', '')).endswith('/' + stem + '.pth'):
                return root / m['Config']
    raise SystemExit(f'{lib}: no metafile in {root} names {stem}.pth')


def _sync_bn_as_bn(c):
    if isinstance(c, dict):
        if c.get('type') == 'SyncBN':
            c['type'] = 'BN'
        for v in c.values():
            _sync_bn_as_bn(v)
    elif isinstance(c, list):
        for v in c:
            _sync_bn_as_bn(v)


def build_from_library(lib: str, stem: str, libdir: Path) -> tuple[list[list], str]:
    """(rows, provenance) of ``stem.pth`` from the library's own model, built from its metafile's config."""
    import importlib
    import re

    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    importlib.import_module(f'{lib}.models')
    registry = importlib.import_module(f'{lib}.registry').MODELS
    version = importlib.import_module(lib).__version__
    cfg_path = _metafile_config(lib, stem, libdir)
    model_cfg = Config.fromfile(str(cfg_path)).model
    model_cfg.pop('data_preprocessor', None)
    _sync_bn_as_bn(model_cfg)
    init_default_scope(lib)
    with torch.device('meta'):
        model = registry.build(model_cfg)
    sd = model.state_dict()
    cfg_rel = cfg_path.relative_to(libdir / lib / '.mim').as_posix()
    prov = (f'{lib} {version}: the keys of its own model, built from {cfg_rel} (the config its metafile pairs with '
            f'{stem}.pth; SyncBN built as BN, the same keys)')
    if stem in LEGACY:
        old = {}
        for k, v in sd.items():
            for rx, repl in LEGACY[stem]:
                if re.match(rx, k):
                    k = re.sub(rx, repl, k, count=1)
                    break
            old[k] = v
        model.load_state_dict(old, strict=True, assign=True)   # through mmpose's own 0.x hooks: raises on a miss
        sd = old
        prov += ('; renamed to the mmpose 0.x names the published file has (keypoint_head.*, the '
                 'TopdownHeatmapSimpleHead final_layer indices), checked by a strict load into that model through '
                 "mmpose's own 0.x compatibility hooks")
    return rows_of(sd), prov


def build_from_timm(name: str) -> tuple[list[list], str]:
    import timm
    import torch
    with torch.device('meta'):
        model = timm.create_model(name, pretrained=False)
    return rows_of(model.state_dict()), (f'timm {timm.__version__}: the keys of timm.create_model({name!r}) (timm\'s '
                                         'own code; the hub tag holds that state dict)')


def _write_gz(path: Path, data: dict) -> None:
    raw = (json.dumps(data, indent=0) + '\n').encode()
    tmp = path.with_name(path.name + '.tmp')
    with open(tmp, 'wb') as f:
        with gzip.GzipFile(filename='', mode='wb', fileobj=f, mtime=0) as g:   # same bytes for the same content
            g.write(raw)
    tmp.replace(path)


def listing_file(entry) -> str:
    """The key list of a zoo entry's source, relative to tests/reference."""
    if entry.alias in OFFICIAL:
        return OFFICIAL[entry.alias] + '.gz'
    if entry.timm_tag:
        return f'zoo_keys/timm_{entry.timm_tag.split("/")[-1].split(".")[0]}.json.gz'
    return f'zoo_keys/{entry.filename.rsplit(".", 1)[0]}.json.gz'


def write_all(libdir: Path) -> None:
    """Write every key list from the libraries' code (the OpenMMLab files of :data:`SOURCES`, also those kept only
    for the refusal tests, and the zoo's timm tags) and the index (zoo alias -> list)."""
    sys.path.insert(0, str(libdir))
    _stub_imports(STUBBED)
    import torch
    torch.set_num_threads(1)
    from hrvision import zoo
    OUT.mkdir(parents=True, exist_ok=True)
    index = {e.alias: listing_file(e) for e in zoo.ENTRIES}
    for stem, src in SOURCES.items():
        rows, prov = build_from_library(src['source_format'], stem, libdir)
        _write_gz(OUT / f'{stem}.json.gz', {'file': stem + '.pth', 'source_format': src['source_format'],
                                            'layout': src['layout'], 'provenance': prov,
                                            'num_state_dict_entries': len(rows), 'state_dict': rows})
        print(f'zoo_keys/{stem}.json.gz: {len(rows)} keys')
    for e in zoo.ENTRIES:
        if e.timm_tag:
            rows, prov = build_from_timm(e.timm_tag.split('/')[-1].split('.')[0])
            _write_gz(REPO / 'tests' / 'reference' / index[e.alias],
                      {'file': e.timm_tag, 'source_format': 'timm', 'provenance': prov,
                       'layout': 'timm HighResolutionNet (= the official HRNet-Image-Classification names)',
                       'num_state_dict_entries': len(rows), 'state_dict': rows})
            print(f'{index[e.alias]}: {len(rows)} keys')
    missing = sorted(a for a, rel in index.items() if not (REPO / 'tests' / 'reference' / rel).is_file())
    if missing:
        raise SystemExit(f'zoo entries without a source in SOURCES / OFFICIAL: {missing}')
    tmp = OUT / 'INDEX.json.tmp'
    tmp.write_text(json.dumps(index, indent=1, sort_keys=True) + '\n')
    tmp.replace(OUT / 'INDEX.json')


def read_listing(rel: str) -> list[list]:
    with gzip.open(REPO / 'tests' / 'reference' / rel, 'rt', encoding='utf-8') as f:
        return json.load(f)['state_dict']


def fact_problems() -> list[str]:
    """Differences between the committed lists of the OpenMMLab files and the layout facts above."""
    problems = []
    for stem, src in SOURCES.items():
        rel = f'zoo_keys/{stem}.json.gz'
        if not (REPO / 'tests' / 'reference' / rel).is_file():
            problems.append(f'{rel}: missing')
            continue
        have = {k: tuple(s) for k, s, _ in read_listing(rel)}
        want = {k: tuple(s) for k, s, _ in src['rows']()}
        for k in sorted(set(have) ^ set(want)):
            problems.append(f'{rel}: {k} only in the {"committed list" if k in have else "layout facts"}')
        problems += [f'{rel}: {k} has shape {have[k]} (facts: {want[k]})'
                     for k in sorted(set(have) & set(want)) if have[k] != want[k]]
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--libraries', type=Path, metavar='DIR',
                    help='a folder holding mmcv-lite, mmsegmentation, mmdet and mmpose (pip install --target): '
                         'write the lists from their code')
    ap.add_argument('--check', action='store_true', help='compare the committed lists with the layout facts')
    args = ap.parse_args(argv)
    if args.libraries:
        write_all(args.libraries.resolve())
    problems = fact_problems() if args.check or not args.libraries else []
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
