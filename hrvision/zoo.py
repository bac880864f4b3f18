"""The model zoo: trained HRNet checkpoints by name (one table, reviewed like code).

Each :class:`ZooEntry` says which config builds the model, where the weights are published (the first URL is the
one downloaded; every URL of an entry serves the same bytes), the hash the publisher states, the key layout of the
file, the published metric with its source, and a licence note. Facts only: a hash is the one in the published
file name (OpenMMLab names end in the first 8 hex digits of the file's sha256, written by their ``publish_model``)
or ``None`` where the publisher states none; numbers are copied from the named README table.

``hrvision zoo list`` / ``hrvision zoo get ALIAS`` (download, verify, convert once, cache) and every place that
takes a checkpoint (``init_model``, ``Inferencer``, ``infer``, ``test``, ``export``, ``build_backbone(pretrained=)``)
go through :func:`resolve_checkpoint`; the work is in :mod:`hrvision.zoo_download`. An entry's ``options`` are the
settings its file was trained with that the config does not state (e.g. ``align_corners``); wherever the alias is
used they go into the config (:func:`apply_entry_options`) before the user's own options.

Verification policy: a file whose sha256 does not start with (or equal) the entry's hash is refused and nothing is
cached. An entry without a published hash (``sha256=None``: the official GitHub releases) is not downloaded unless
the user accepts it explicitly (``hrvision zoo get ALIAS --no-verify`` / ``verify=False``); the sha256 of the file
then accepted is recorded in the converted checkpoint and printed, never silently trusted. timm tags are verified
against the Hugging Face hub's own content address (the LFS sha256 the cache names the file by).
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from .errors import ConfigError, InputError, UnknownNameError, did_you_mean

SOURCE_FORMATS = ('official', 'timm', 'mmpose', 'mmseg', 'mmdet', 'hrvision')
TASKS = ('pose', 'segmentation', 'face', 'detection', 'classification')
EXTRA_ENV = 'HRVISION_ZOO_FILE'   # a JSON file with more entries (a team's own checkpoints; the tests' server)

_MMPOSE_V1 = 'https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/topdown_heatmap/coco/'
_MMPOSE_V0 = 'https://download.openmmlab.com/mmpose/'
_MMSEG = 'https://download.openmmlab.com/mmsegmentation/v0.5/'
_MMDET = 'https://download.openmmlab.com/mmdetection/v2.0/hrnet/'
_OCR_RELEASE = 'https://github.com/hsfzxjy/models.storage/releases/download/HRNet-OCR/'

_LIC_MMPOSE = ('mmpose code: Apache-2.0; the weights carry no licence of their own; trained on COCO train2017 '
               '(annotations CC BY 4.0, images under Flickr terms)')
_LIC_OFFICIAL_SEG = ('HRNet-Semantic-Segmentation code: MIT; trained on Cityscapes, whose terms allow '
                     'non-commercial use only')
_LIC_MMSEG = 'mmsegmentation code: Apache-2.0; trained on Cityscapes, whose terms allow non-commercial use only'


@dataclass(frozen=True)
class ZooEntry:
    """One trained model. ``config``: a path under the package configs (or an absolute path); ``None`` for
    backbone weights (ImageNet), which :func:`hrvision.build_backbone` takes as ``pretrained=ALIAS``."""
    alias: str
    task: str
    dataset: str
    arch: str                      # hrvision backbone variant (checked against the config by the tests)
    config: str | None
    urls: tuple[str, ...] = ()     # primary first; all the same bytes. Empty for timm tags
    sha256: str | None = None      # full hex digest or the published prefix (>= 8 hex); None: none published
    source_format: str = 'official'
    metric: str = ''               # e.g. 'AP 74.9'
    metric_source: str = ''        # table, dataset split, test settings
    licence: str = ''
    timm_tag: str | None = None    # 'timm/hrnet_w32.ms_in1k': the HF hub repo, verified by the hub's LFS sha256
    official: str = ''             # the official release of this model where it is another file (its own number)
    note: str = ''
    # settings the source was trained with that its config file does not state (dotted config keys), applied
    # wherever the alias is used: the conversion, init_model / Inferencer / infer, `hrvision test CONFIG ALIAS`
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def filename(self) -> str:
        """The source file's name in the cache (the URL's last part, as torch.hub names downloads; without a URL
        ``<alias>.pth``, where a file downloaded by hand may be put)."""
        if self.timm_tag:
            return self.timm_tag.replace('/', '--')
        return self.urls[0].rsplit('/', 1)[-1] if self.urls else f'{self.alias}.pth'

    @property
    def hash_kind(self) -> str:
        if self.timm_tag:
            return 'hub'
        if self.sha256 is None:
            return 'none'
        return 'full' if len(self.sha256) == 64 else 'prefix'

    def config_path(self) -> str | None:
        if self.config is None:
            return None
        from .configs_path import config_path
        try:
            return config_path(self.config)
        except FileNotFoundError:
            raise ConfigError(f'zoo {self.alias}: its config {self.config} is not shipped with this hrvision') \
                from None


def _e(**kw) -> ZooEntry:
    if isinstance(kw.get('options'), Mapping):
        kw['options'] = tuple(kw['options'].items())
    return ZooEntry(**kw)


# ---------------------------------------------------------------------------------------------------------------
# The table. Sources: mmpose configs/body_2d_keypoint/topdown_heatmap/{coco/hrnet_coco.md, mpii/hrnet_mpii.md},
# configs/face_2d_keypoint/topdown_heatmap/wflw/hrnetv2_wflw.md; mmsegmentation configs/{hrnet,ocrnet}/README.md;
# mmdetection configs/hrnet/README.md; the official READMEs as copied in ../shared/reference/SPEC.md §5-§6.
# ---------------------------------------------------------------------------------------------------------------
ENTRIES: tuple[ZooEntry, ...] = (
    # pose, COCO: mmpose 1.x retrainings of the official recipe (the official files are Google Drive / OneDrive
    # links without a stated hash)
    _e(alias='hrnet-w32-coco-256x192', task='pose', dataset='COCO', arch='hrnet_w32',
       config='pose/hrnet_w32_coco_256x192.py',
       urls=(_MMPOSE_V1 + 'td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth',),
       sha256='81c58e40', source_format='mmpose', metric='AP 74.9',
       metric_source='mmpose hrnet_coco.md: COCO val2017, person boxes of a detector with human AP 56.4, flip test',
       licence=_LIC_MMPOSE,
       official='pose_coco/pose_hrnet_w32_256x192.pth (deep-high-resolution-net.pytorch README: AP 74.4, same '
                'protocol; Google Drive/OneDrive, no published hash)'),
    _e(alias='hrnet-w32-coco-384x288', task='pose', dataset='COCO', arch='hrnet_w32',
       config='pose/hrnet_w32_coco_384x288.py',
       urls=(_MMPOSE_V1 + 'td-hm_hrnet-w32_8xb64-210e_coco-384x288-ca5956af_20220909.pth',),
       sha256='ca5956af', source_format='mmpose', metric='AP 76.1',
       metric_source='mmpose hrnet_coco.md: COCO val2017, person boxes of a detector with human AP 56.4, flip test',
       licence=_LIC_MMPOSE,
       official='pose_coco/pose_hrnet_w32_384x288.pth (official README: AP 75.8; no published hash)'),
    _e(alias='hrnet-w48-coco-256x192', task='pose', dataset='COCO', arch='hrnet_w48',
       config='pose/hrnet_w48_coco_256x192.py',
       urls=(_MMPOSE_V1 + 'td-hm_hrnet-w48_8xb32-210e_coco-256x192-0e67c616_20220913.pth',),
       sha256='0e67c616', source_format='mmpose', metric='AP 75.6',
       metric_source='mmpose hrnet_coco.md: COCO val2017, person boxes of a detector with human AP 56.4, flip test',
       licence=_LIC_MMPOSE,
       official='pose_coco/pose_hrnet_w48_256x192.pth (official README: AP 75.1; no published hash)'),
    _e(alias='hrnet-w48-coco-384x288', task='pose', dataset='COCO', arch='hrnet_w48',
       config='pose/hrnet_w48_coco_384x288.py',
       urls=(_MMPOSE_V1 + 'td-hm_hrnet-w48_8xb32-210e_coco-384x288-c161b7de_20220915.pth',),
       sha256='c161b7de', source_format='mmpose', metric='AP 76.7',
       metric_source='mmpose hrnet_coco.md: COCO val2017, person boxes of a detector with human AP 56.4, flip test',
       licence=_LIC_MMPOSE,
       official='pose_coco/pose_hrnet_w48_384x288.pth (official README: AP 76.3; no published hash)'),
    # pose, MPII (mmpose 0.x file, keypoint_head.* keys)
    _e(alias='hrnet-w32-mpii-256x256', task='pose', dataset='MPII', arch='hrnet_w32',
       config='pose/hrnet_w32_mpii_256x256.py',
       urls=(_MMPOSE_V0 + 'top_down/hrnet/hrnet_w32_mpii_256x256-6c4f923f_20200812.pth',),
       sha256='6c4f923f', source_format='mmpose', metric='PCKh@0.5 90.0',
       metric_source='mmpose hrnet_mpii.md: MPII val, mean PCKh@0.5 (table: 0.9; Mean@0.1 0.334)',
       licence='mmpose code: Apache-2.0; trained on MPII Human Pose (see its terms)',
       official='pose_mpii/pose_hrnet_w32_256x256.pth (official README: PCKh@0.5 mean 90.3; no published hash)'),
    # face, WFLW (mmpose 0.x file)
    _e(alias='hrnetv2-w18-wflw', task='face', dataset='WFLW', arch='hrnet_w18',
       config='face/hrnetv2_w18_wflw.py',
       urls=(_MMPOSE_V0 + 'face/hrnetv2/hrnetv2_w18_wflw_256x256-2bf032a6_20210125.pth',),
       sha256='2bf032a6', source_format='mmpose', metric='NME 4.06',
       metric_source='mmpose hrnetv2_wflw.md: WFLW test (98 points), NME normalised by the inter-ocular distance',
       licence='mmpose code: Apache-2.0; trained on WFLW (see its terms)',
       official='HR18-WFLW.pth (HRNet-Facial-Landmark-Detection README: NME test 4.60; OneDrive, no hash; its '
                'training pickles the whole model, which hrvision does not load)'),
    # segmentation, Cityscapes
    _e(alias='hrnetv2-w48-cityscapes', task='segmentation', dataset='Cityscapes', arch='hrnet_w48',
       config='segmentation/hrnetv2_w48_cityscapes_512x1024.py',
       urls=(_MMSEG + 'hrnet/fcn_hr48_512x1024_160k_cityscapes/'
                      'fcn_hr48_512x1024_160k_cityscapes_20200602_190946-59b7973e.pth',),
       sha256='59b7973e', source_format='mmseg', metric='mIoU 80.65',
       metric_source='mmsegmentation configs/hrnet/README.md: Cityscapes val, FCN head, 160k iterations, single '
                     'scale, no flip (ms+flip: 81.92)',
       licence=_LIC_MMSEG,
       official='hrnetv2-w48-cityscapes-official (the official file, 80.9)'),
    _e(alias='hrnetv2-w48-cityscapes-official', task='segmentation', dataset='Cityscapes', arch='hrnet_w48',
       config='segmentation/hrnetv2_w48_cityscapes_512x1024.py',
       urls=(_OCR_RELEASE + 'hrnet_cs_8090_torch11.pth',),
       sha256=None, source_format='official', metric='mIoU 80.9',
       metric_source='HRNet-Semantic-Segmentation HRNet-OCR README: Cityscapes val, trained on train, single '
                     'scale, no flip',
       licence=_LIC_OFFICIAL_SEG,
       # the HRNet-OCR README: "we use align_corners = True for upsampling in HRNet" (the branch's default; the
       # plain Cityscapes yaml says False, and which one this file was trained with is not recorded)
       options={'model.backbone.align_corners': True},
       note='no published hash: --no-verify to accept (its sha256 is recorded and printed); built with '
            'align_corners=True, as the HRNet-OCR README says that branch trains'),
    _e(alias='hrnetv2-w48-ocr-cityscapes', task='segmentation', dataset='Cityscapes', arch='hrnet_w48',
       config='segmentation/hrnetv2_w48_ocr_cityscapes_512x1024.py',
       urls=(_OCR_RELEASE + 'hrnet_ocr_cs_8162_torch11.pth',),
       sha256=None, source_format='official', metric='mIoU 81.6',
       metric_source='HRNet-Semantic-Segmentation HRNet-OCR README: Cityscapes val, trained on train, single '
                     'scale, no flip',
       licence=_LIC_OFFICIAL_SEG,
       note='no published hash: --no-verify to accept (its sha256 is recorded and printed)'),
    _e(alias='hrnetv2-w48-ocr-cityscapes-mmseg', task='segmentation', dataset='Cityscapes', arch='hrnet_w48',
       config='segmentation/hrnetv2_w48_ocr_cityscapes_512x1024.py',
       urls=(_MMSEG + 'ocrnet/ocrnet_hr48_512x1024_160k_cityscapes/'
                      'ocrnet_hr48_512x1024_160k_cityscapes_20200602_191037-dfbf1b0c.pth',),
       sha256='dfbf1b0c', source_format='mmseg', metric='mIoU 81.35',
       metric_source='mmsegmentation configs/ocrnet/README.md: Cityscapes val, 160k iterations, single scale, '
                     'no flip (ms+flip: 82.70)',
       licence=_LIC_MMSEG,
       options={'model.backbone.align_corners': False},   # mmseg's HRNet and heads: align_corners=False
       note='the official OCR config with mmseg\'s align_corners=False'),
    _e(alias='hrnetv2-w18-small-v2-cityscapes', task='segmentation', dataset='Cityscapes',
       arch='hrnet_w18_small_v2', config='segmentation/hrnetv2_w18_small_v2_cityscapes_512x1024.py',
       urls=(_MMSEG + 'hrnet/fcn_hr18s_512x1024_160k_cityscapes/'
                      'fcn_hr18s_512x1024_160k_cityscapes_20200602_190901-4a0797ea.pth',),
       sha256='4a0797ea', source_format='mmseg', metric='mIoU 76.31',
       metric_source='mmsegmentation configs/hrnet/README.md: Cityscapes val, FCN head, HRNetV2p-W18-Small '
                     '(= Small-v2 blocks), 160k iterations, single scale, no flip (ms+flip: 78.31)',
       licence=_LIC_MMSEG,
       official='HRNet-Semantic-Segmentation README small models: W18-Small-v2 76.2 (Cityscapes val; OneDrive, '
                'no file name or hash)'),
    _e(alias='hrnetv2-w18-small-v1-cityscapes', task='segmentation', dataset='Cityscapes',
       arch='hrnet_w18_small_v1', config='segmentation/hrnetv2_w18_small_v1_cityscapes_512x1024.py',
       urls=(), sha256=None, source_format='official', metric='mIoU 70.3',
       metric_source='HRNet-Semantic-Segmentation master README, small models: Cityscapes val, no multi-scale, '
                     'no flip (trained with the pytorch-v1.1 branch)',
       licence=_LIC_OFFICIAL_SEG,
       note='published only as a OneDrive/BaiduYun link without a file name or hash '
            '(github.com/HRNet/HRNet-Semantic-Segmentation, README "Small models"): download it yourself, then '
            '`hrvision zoo get hrnetv2-w18-small-v1-cityscapes --file FILE --no-verify`'),
    # detection, COCO (mmdetection 2.x)
    _e(alias='hrnetv2p-w32-faster-rcnn-coco', task='detection', dataset='COCO', arch='hrnet_w32',
       config='detection/hrnetv2p_w32_faster_rcnn_coco.py',
       urls=(_MMDET + 'faster_rcnn_hrnetv2p_w32_1x_coco/faster_rcnn_hrnetv2p_w32_1x_coco_20200130-6e286425.pth',),
       sha256='6e286425', source_format='mmdet', metric='box AP 40.2',
       metric_source='mmdetection configs/hrnet/README.md: COCO val2017, Faster R-CNN HRNetV2p-W32, 1x schedule',
       # mmcv's RoIAlign (aligned, adaptive sampling) and unrounded anchors, as the weights were trained with
       options={'model.detector.roi_align': 'mmdet'},
       licence='mmdetection code: Apache-2.0; trained on COCO train2017 (annotations CC BY 4.0)'),
    # mmdetection's FCOS HRNetV2p-W32 (fcos_hrnetv2p_w32_gn-head_4x4_1x_coco, box AP 39.5) is left out: its head
    # (a learnt scale per level, centerness on the classification tower) is not torchvision's FCOS head, which
    # hrvision's detection FCOS is (hrvision.weight_formats refuses that file)
) + tuple(
    # ImageNet-1k backbones: the official classification weights as timm publishes them (tag ms_in1k); the
    # number is the official README's (top-1 error -> accuracy), 224x224 single crop on ImageNet val
    _e(alias=f'{variant.replace("_", "-")}-imagenet', task='classification', dataset='ImageNet-1k', arch=variant,
       config=None, timm_tag=f'timm/{timm}.ms_in1k', source_format='timm', metric=f'top-1 {100 - err:.1f}',
       metric_source=f'HRNet-Image-Classification README: {row}, top-1 error {err}% (ImageNet val, 224x224)',
       licence='HRNet-Image-Classification: MIT (timm states mit for this tag)')
    for variant, timm, row, err in (
        ('hrnet_w18_small_v1', 'hrnet_w18_small', 'HRNet-W18-C-Small-v1', 27.7),
        ('hrnet_w18_small_v2', 'hrnet_w18_small_v2', 'HRNet-W18-C-Small-v2', 24.9),
        ('hrnet_w18', 'hrnet_w18', 'HRNet-W18-C', 23.2),
        ('hrnet_w30', 'hrnet_w30', 'HRNet-W30-C', 21.8),
        ('hrnet_w32', 'hrnet_w32', 'HRNet-W32-C', 21.5),
        ('hrnet_w40', 'hrnet_w40', 'HRNet-W40-C', 21.1),
        ('hrnet_w44', 'hrnet_w44', 'HRNet-W44-C', 21.1),
        ('hrnet_w48', 'hrnet_w48', 'HRNet-W48-C', 20.7),
        ('hrnet_w64', 'hrnet_w64', 'HRNet-W64-C', 20.5),
    )
)

_FILE_SUFFIXES = ('.py', '.yaml', '.yml', '.json', '.pth', '.pt', '.ckpt', '.safetensors', '.bin', '.tar')
_EXTRA: dict[str, ZooEntry] = {}   # register_zoo_entry (tests, a team's own checkpoints)
_ALIAS_RX = re.compile(r'^[a-z0-9][a-z0-9.\-]*$')


def check_entry(e: ZooEntry) -> ZooEntry:
    """Refuse an entry that could not be verified or built (bad alias, format, hash, task)."""
    where = f'zoo entry {e.alias!r}'
    if not _ALIAS_RX.match(e.alias):
        raise InputError(f'{where}: an alias is lower-case letters, digits, "-" and "."')
    if e.source_format not in SOURCE_FORMATS:
        raise InputError(f'{where}: source_format {e.source_format!r} is not one of {list(SOURCE_FORMATS)}')
    if e.task not in TASKS:
        raise InputError(f'{where}: task {e.task!r} is not one of {list(TASKS)}')
    if e.sha256 is not None and not re.fullmatch(r'[0-9a-f]{8,64}', e.sha256):
        raise InputError(f'{where}: sha256 must be 8 to 64 lower-case hex digits (the published prefix or the '
                         f'whole digest), got {e.sha256!r}')
    if e.timm_tag and e.urls:
        raise InputError(f'{where}: a timm tag or URLs, not both')
    if any(not (isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str)) for o in e.options):
        raise InputError(f'{where}: options are (dotted config key, value) pairs, got {e.options!r}')
    if e.options and e.config is None:
        raise InputError(f'{where}: options set config keys; a backbone entry has no config')
    if e.config is None and e.task != 'classification':
        raise InputError(f'{where}: a {e.task} entry needs a config')
    return e


def _fields(row: Mapping[str, Any]) -> dict:
    """An entry's fields from JSON-like data: lists -> tuples, ``options`` a dict of dotted keys."""
    fields = dict(row)
    fields['urls'] = tuple(fields.get('urls') or ())
    options = fields.get('options') or ()
    fields['options'] = tuple(options.items() if isinstance(options, Mapping) else (tuple(o) for o in options))
    return fields


def register_zoo_entry(entry: ZooEntry | Mapping[str, Any], *, replace: bool = False) -> ZooEntry:
    """Add an entry (a :class:`ZooEntry` or its fields as a dict) to this process's zoo."""
    if isinstance(entry, Mapping):
        fields = _fields(entry)
        try:
            entry = ZooEntry(**fields)
        except TypeError as e:
            raise InputError(f'zoo entry {fields.get("alias")!r}: {e}') from None
    check_entry(entry)
    if not replace and (entry.alias in _EXTRA or any(x.alias == entry.alias for x in ENTRIES)):
        raise InputError(f'zoo entry {entry.alias!r} exists already (replace=True to replace it)')
    _EXTRA[entry.alias] = entry
    return entry


def _env_entries() -> dict[str, ZooEntry]:
    path = os.environ.get(EXTRA_ENV)
    if not path:
        return {}
    try:
        with open(path, encoding='utf-8') as f:
            rows = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f'{EXTRA_ENV}={path}: cannot read the zoo entries ({e})') from None
    out = {}
    for row in rows if isinstance(rows, list) else [rows]:
        if not isinstance(row, dict):
            raise ConfigError(f'{EXTRA_ENV}={path}: expected a JSON list of entry objects')
        row = _fields(row)
        if not isinstance(row.get('alias'), str) or not row['alias']:
            raise ConfigError(f'{EXTRA_ENV}={path}: every entry needs an "alias" string, got {row.get("alias")!r}')
        if row['alias'] in {e.alias for e in ENTRIES}:   # a published model's alias names the published file
            raise ConfigError(f'{EXTRA_ENV}={path}: entry {row["alias"]!r} has the alias of a built-in entry; '
                              'give your checkpoint another alias')
        try:
            out[row['alias']] = check_entry(ZooEntry(**row))
        except (TypeError, KeyError) as e:
            raise ConfigError(f'{EXTRA_ENV}={path}: bad entry {row.get("alias")!r}: {e}') from None
    return out


def entries() -> dict[str, ZooEntry]:
    """Every entry by alias: the table, then ``$HRVISION_ZOO_FILE``, then :func:`register_zoo_entry`."""
    table = {e.alias: e for e in ENTRIES}
    table.update(_env_entries())
    table.update(_EXTRA)
    return table


def is_alias(name: Any) -> bool:
    return isinstance(name, str) and name in entries()


def get_entry(alias: str) -> ZooEntry:
    table = entries()
    if alias not in table:
        raise UnknownNameError(f'no zoo entry {alias!r}{did_you_mean(alias, table)} (hrvision zoo list shows them)')
    return table[alias]


def _check_near_alias(name: Any, what: str) -> None:
    """A name that is no file and no alias but close to one (a typo: no folder, no suffix) is refused with the
    alias it probably meant, before anything else reads it as a path."""
    if not isinstance(name, str) or os.path.exists(name) or is_alias(name) or '/' in name or os.sep in name \
            or os.path.splitext(name)[1].lower() in _FILE_SUFFIXES:
        return
    hint = did_you_mean(name, entries())
    if hint:
        raise UnknownNameError(f'{what} {name!r}: no such file, nor a zoo alias{hint} (hrvision zoo list)')


def resolve_config(config: Any) -> Any:
    """A zoo alias -> its config file; anything else unchanged."""
    _check_near_alias(config, 'config')
    if isinstance(config, str) and not os.path.exists(config) and is_alias(config):
        entry = get_entry(config)
        if entry.config is None:
            raise InputError(f'zoo {config}: backbone weights without a task model; use '
                             f'hrvision.build_backbone({entry.arch!r}, pretrained={config!r})')
        return entry.config_path()
    return config


def entry_options(*names: Any) -> dict[str, Any]:
    """The settings (dotted config keys) the zoo entries among ``names`` (a config and/or checkpoint argument)
    were trained with; other names give none. Two entries that disagree on a key are refused."""
    out: dict[str, Any] = {}
    for name in names:
        if not isinstance(name, str) or os.path.exists(name) or not is_alias(name):
            continue
        for key, value in get_entry(name).options:
            if key in out and out[key] != value:
                raise ConfigError(f'zoo {name}: {key}={value!r}, but the other zoo model given wants {out[key]!r}')
            out[key] = value
    return out


def apply_entry_options(cfg: Any, *names: Any) -> dict[str, Any]:
    """Put the zoo entries' settings (:func:`entry_options`) into the mmengine ``cfg`` (before the user's
    options, which may override them); returns what was applied."""
    options = entry_options(*names)
    if options:
        cfg.merge_from_dict(options)
    return options


def note_other_config(config: Any, checkpoint: Any) -> None:
    """One stderr line when a zoo alias's weights go into another config file than the one they were trained with
    (allowed: the weights still load strictly and the entry's settings are applied, but its published metric is the
    entry config's)."""
    if not isinstance(checkpoint, str) or os.path.exists(checkpoint) or not is_alias(checkpoint) or \
            not isinstance(config, (str, os.PathLike)) or not os.path.exists(config):
        return
    entry = get_entry(checkpoint)
    if entry.config is None or os.path.realpath(config) == os.path.realpath(entry.config_path()):
        return
    print(f'hrvision: zoo {checkpoint} was trained with {entry.config}; running it with {os.fspath(config)} (its '
          'weights load strictly, its published metric is for the entry config)', file=sys.stderr)


def resolve_checkpoint(x: Any, *, variant: str | None = None, verify: bool = True) -> Any:
    """The one resolver of checkpoint arguments: a zoo alias -> the local path of its converted, verified
    checkpoint (downloaded once into the torch hub cache); a timm tag (``timm/hrnet_w32.ms_in1k``) -> its file in
    the Hugging Face cache (``variant``: the backbone it must fit); a path, a state dict or None -> unchanged."""
    if not isinstance(x, (str, os.PathLike)) or os.path.exists(x):
        return x
    x = os.fspath(x)
    if variant is None:
        _check_near_alias(x, 'checkpoint')
    if is_alias(x):
        from .zoo_download import get
        return get(x, verify=verify)
    if variant is not None:   # build_backbone(pretrained=...): anything else is a timm tag (checked there)
        from .hub import cached_file, resolve_tag
        return cached_file(resolve_tag(variant, x))
    return x


def markdown_table() -> str:
    """The README's zoo table (``hrvision zoo list --markdown``); tests/test_zoo.py checks the README holds it."""
    rows = ['| alias | task | dataset | metric | source (format) | hash | metric source |',
            '|---|---|---|---|---|---|---|']
    for e in ENTRIES:
        src = e.timm_tag or (e.urls[0].split('/')[2] if e.urls else 'manual download')
        hsh = {'hub': 'HF hub sha256', 'none': 'none published', 'full': f'`{e.sha256}`'}.get(
            e.hash_kind, f'`{e.sha256}` (prefix)')
        rows.append(f'| `{e.alias}` | {e.task} | {e.dataset} | {e.metric} | {src} ({e.source_format}) | {hsh} | '
                    f'{e.metric_source} |')
    return '\n'.join(rows) + '\n'


def as_dict(e: ZooEntry) -> dict:
    d = asdict(e)
    d['urls'] = list(e.urls)
    d['options'] = dict(e.options)
    return d


__all__ = ['ZooEntry', 'ENTRIES', 'SOURCE_FORMATS', 'entries', 'get_entry', 'is_alias', 'register_zoo_entry',
           'resolve_checkpoint', 'resolve_config', 'entry_options', 'apply_entry_options', 'markdown_table', 'as_dict']
