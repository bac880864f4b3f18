"""OpenMMLab key layouts of HRNet models (mmseg, mmdet, mmpose 0.x) renamed to hrvision's, exactly or not at all.

:func:`hrvision.weights.load_weights` detects these layouts from the keys and calls :func:`convert`; nothing else
converts keys (the zoo calls ``load_weights``). The layouts, from the libraries' configs and module names (facts
only, no code of theirs; ``tests/reference/zoo_keys`` holds the published files' key lists, made with the libraries'
own model code, which ``tests/test_weight_formats.py`` checks these names against):

* all three: ``backbone.*`` = the official HRNet names (``conv1``, ``bn1``, ``layer1``, ``transition1``,
  ``stage2.0.branches.0.0.conv1``, ``...fuse_layers...``), so the backbone needs no renaming.
* ``mmseg`` ``FCNHead`` (``fcn_hr18s`` / ``fcn_hr48``: one 1x1 ConvModule over the HRNetV2 concat, no concat_input):
  ``decode_head.convs.0.conv`` (no bias) / ``.convs.0.bn`` / ``.conv_seg`` -> the official seg head ``last_layer.0``
  / ``.1`` / ``.3``. The official conv has a bias before its BN: a zero bias is the exact equivalent (reported in
  ``LoadReport.filled``).
* ``mmseg`` OCR (``ocrnet_hr48``, CascadeEncoderDecoder): ``decode_head.0`` (an FCNHead, the soft object regions)
  -> ``aux_head``; ``decode_head.1`` (OCRHead): ``bottleneck`` -> ``conv3x3_ocr`` (zero bias filled),
  ``object_context_block.{query,key,value,out}_project`` -> ``ocr_distri_head.object_context_block.{f_pixel,
  f_object,f_down,f_up}`` (query = pixels, key/value = regions), ``object_context_block.bottleneck`` ->
  ``ocr_distri_head.conv_bn_dropout``, ``conv_seg`` -> ``cls_head`` (the official ``seg_hrnet_ocr.py`` names of
  :class:`~hrvision.heads.ocr.OCRHead`).
* ``mmdet`` HRFPN (``neck.reduction_conv.conv``, ``neck.fpn_convs.N.conv``) -> :class:`~hrvision.necks.HRNetV2p`;
  Faster R-CNN (``rpn_head.rpn_{conv,cls,reg}``, ``roi_head.bbox_head.{shared_fcs.0,shared_fcs.1,fc_cls,fc_reg}``)
  -> torchvision's ``rpn.head`` / ``roi_heads`` of :class:`~hrvision.heads.detection.DetectionHead`. mmdet 2.x puts
  the background class last, torchvision first: the class rows are moved, and the background's 4 box rows (which
  torchvision's inference discards) are filled with zeros. The mmdet FCOS head is refused (:data:`FCOS_REFUSAL`).
* ``mmpose`` 0.x face (``TopdownHeatmapSimpleHead`` with one extra conv, WFLW): ``keypoint_head.final_layer.{0,1,3}``
  -> the face head ``head.head.{0,1,3}``; the 0.x pose head ``keypoint_head.final_layer`` -> ``head.final_layer``. A 1.x
  file (``backbone.*`` + ``head.final_layer.*``) has exactly hrvision's pose keys: no conversion.

A converted checkpoint loads only into a model built with the settings it was trained with
(:func:`settings_mismatches`): mmseg and the mmpose face model fuse with bilinear ``align_corners=False``
upsampling; mmdet's HRNet with nearest (the mmpose pose head is not checked, as the official pose layout is not).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import torch
from torch import Tensor, nn

FCOS_REFUSAL = ("mmdet's FCOSHead does not fit hrvision's FCOS head (torchvision's): mmdet learns a scale per "
                "pyramid level (bbox_head.scales.*) and decodes exp(scale * regression), torchvision has no scales "
                "and decodes ReLU(regression) times the level's stride; mmdet computes centerness on the "
                "classification tower, torchvision on the regression tower. Use the mmdet Faster R-CNN checkpoint, "
                "or load only backbone + neck with allow_partial=True and train the head")

_FILLED_BIAS = ('zero bias: the mmseg ConvModule conv has no bias (its BN follows), the official layer has one; '
                'zero is the exact equivalent')
_FILLED_BG = ("background rows (zeros): torchvision's box predictor has 4 box rows for the background class, which "
              "its inference discards; mmdet has none")


@dataclass
class Conversion:
    """An OpenMMLab checkpoint under hrvision names. ``origin``: converted key -> source key; ``filled``: converted
    key -> why it was made (the source has no such tensor; the filled value is the exact equivalent);
    ``refusal``: one line, set when a part of the source cannot go into an hrvision model."""
    format: str
    variant: str
    state_dict: dict[str, Tensor]
    origin: dict[str, str] = field(default_factory=dict)
    filled: dict[str, str] = field(default_factory=dict)
    refusal: str = ''
    settings: dict[str, object] = field(default_factory=dict)   # the fuse settings it was trained with

    def head_keys(self) -> list[str]:
        """Converted keys of the task head (not backbone or neck)."""
        return [k for k in self.state_dict if not k.startswith(('backbone.', 'neck.'))]


def _has(keys: Iterable[str], *patterns: str) -> bool:
    rx = [re.compile(p) for p in patterns]
    return any(r.match(k) for k in keys for r in rx)


def detect(keys: Iterable[str]) -> tuple[str, str] | None:
    """(format, variant) of an OpenMMLab layout this module converts, None for any other layout."""
    keys = list(keys)
    if _has(keys, r'decode_head\.1\.(bottleneck|object_context_block)\.'):
        return 'mmseg', 'OCRHead (CascadeEncoderDecoder: decode_head.0 FCNHead + decode_head.1 OCRHead)'
    if _has(keys, r'decode_head\.(conv_seg|convs\.\d+\.conv)\.'):
        return 'mmseg', 'FCNHead'
    if _has(keys, r'neck\.(reduction_conv|fpn_convs\.\d+)\.conv\.', r'(rpn_head|roi_head)\.',
            r'bbox_head\.(conv_centerness|scales|shared_fcs)'):
        if _has(keys, r'bbox_head\.shared_fcs\.'):
            return 'mmdet', 'mmdet 1.x two-stage layout'
        if _has(keys, r'bbox_head\.conv_centerness\.'):
            return 'mmdet', 'FCOS (HRFPN + FCOSHead)'
        if _has(keys, r'roi_head\.bbox_head\.'):
            return 'mmdet', 'Faster R-CNN (HRFPN + RPNHead + Shared2FCBBoxHead)'
        if _has(keys, r'bbox_head\.'):
            return 'mmdet', 'one-stage head'
        return 'mmdet', 'HRFPN (no head)'
    if _has(keys, r'keypoint_head\.final_layer\.3\.weight$'):
        return 'mmpose', 'TopdownHeatmapSimpleHead with a conv-BN-ReLU (face)'
    if _has(keys, r'keypoint_head\.final_layer\.weight$'):
        return 'mmpose', 'TopdownHeatmapSimpleHead (0.x pose)'
    return None


# (source regex, target template) per layout; unmatched source keys keep their names (and end up unexpected).
_BN = r'(weight|bias|running_mean|running_var|num_batches_tracked)'


def _fcn_rules(src: str, dst: str) -> list[tuple[str, str]]:
    return [(rf'{src}convs\.0\.conv\.weight', f'{dst}.0.weight'),
            (rf'{src}convs\.0\.bn\.{_BN}', f'{dst}.1.\\1'),
            (rf'{src}conv_seg\.(weight|bias)', f'{dst}.3.\\1')]


def _project(src: str, dst: str, two: bool) -> list[tuple[str, str]]:
    ocb = r'decode_head\.1\.object_context_block\.'
    out = 'head.ocr_distri_head.object_context_block.'
    if two:   # Sequential(ConvModule, ConvModule) -> [conv, BNReLU, conv, BNReLU]
        return [(rf'{ocb}{src}\.0\.conv\.weight', f'{out}{dst}.0.weight'),
                (rf'{ocb}{src}\.0\.bn\.{_BN}', f'{out}{dst}.1.0.\\1'),
                (rf'{ocb}{src}\.1\.conv\.weight', f'{out}{dst}.2.weight'),
                (rf'{ocb}{src}\.1\.bn\.{_BN}', f'{out}{dst}.3.0.\\1')]
    return [(rf'{ocb}{src}\.conv\.weight', f'{out}{dst}.0.weight'),
            (rf'{ocb}{src}\.bn\.{_BN}', f'{out}{dst}.1.0.\\1')]


RULES: dict[str, list[tuple[str, str]]] = {
    'FCNHead': _fcn_rules(r'decode_head\.', 'head.last_layer'),
    'OCRHead': _fcn_rules(r'decode_head\.0\.', 'head.aux_head') + [
        (r'decode_head\.1\.bottleneck\.conv\.weight', 'head.conv3x3_ocr.0.weight'),
        (rf'decode_head\.1\.bottleneck\.bn\.{_BN}', 'head.conv3x3_ocr.1.\\1'),
        *_project('query_project', 'f_pixel', True), *_project('key_project', 'f_object', True),
        *_project('value_project', 'f_down', False), *_project('out_project', 'f_up', False),
        (r'decode_head\.1\.object_context_block\.bottleneck\.conv\.weight',
         'head.ocr_distri_head.conv_bn_dropout.0.weight'),
        (rf'decode_head\.1\.object_context_block\.bottleneck\.bn\.{_BN}',
         'head.ocr_distri_head.conv_bn_dropout.1.0.\\1'),
        (r'decode_head\.1\.conv_seg\.(weight|bias)', 'head.cls_head.\\1')],
    'HRFPN': [(r'neck\.reduction_conv\.conv\.(weight|bias)', 'neck.reduction_conv.\\1'),
              (r'neck\.fpn_convs\.(\d+)\.conv\.(weight|bias)', 'neck.fpn_convs.\\1.\\2')],
    'Faster R-CNN': [(r'rpn_head\.rpn_conv\.(weight|bias)', 'head.rpn.head.conv.0.0.\\1'),
                     (r'rpn_head\.rpn_cls\.(weight|bias)', 'head.rpn.head.cls_logits.\\1'),
                     (r'rpn_head\.rpn_reg\.(weight|bias)', 'head.rpn.head.bbox_pred.\\1'),
                     (r'roi_head\.bbox_head\.shared_fcs\.0\.(weight|bias)', 'head.roi_heads.box_head.fc6.\\1'),
                     (r'roi_head\.bbox_head\.shared_fcs\.1\.(weight|bias)', 'head.roi_heads.box_head.fc7.\\1'),
                     (r'roi_head\.bbox_head\.fc_cls\.(weight|bias)', 'head.roi_heads.box_predictor.cls_score.\\1'),
                     (r'roi_head\.bbox_head\.fc_reg\.(weight|bias)', 'head.roi_heads.box_predictor.bbox_pred.\\1')],
    # mmpose 0.x TopdownHeatmapSimpleHead: with a conv + BN layer before the final conv (HRNetV2 face), or alone
    'keypoint_head, conv layer': [(r'keypoint_head\.final_layer\.([013])\.(.+)', 'head.head.\\1.\\2')],
    'keypoint_head': [(r'keypoint_head\.final_layer\.(weight|bias)', 'head.final_layer.\\1')],
}
# conv weight -> its bias that the source lacks (filled with zeros when the target has it)
_BIASES = {'FCNHead': ['head.last_layer.0'], 'OCRHead': ['head.aux_head.0', 'head.conv3x3_ocr.0']}
# fuse settings the source was trained with (module docstring)
_BILINEAR = dict(upsample_mode='bilinear', align_corners=False)
_NEAREST = dict(upsample_mode='nearest')


def _rename(sd: Mapping[str, Tensor], rules: list[tuple[str, str]]) -> tuple[dict[str, Tensor], dict[str, str]]:
    compiled = [(re.compile(rx + '$'), repl) for rx, repl in rules]
    out: dict[str, Tensor] = {}
    origin: dict[str, str] = {}
    for k, v in sd.items():
        new = next((rx.sub(repl, k, count=1) for rx, repl in compiled if rx.match(k)), k)
        out[new] = v
        origin[new] = k
    return out, origin


def _background_first(sd: dict[str, Tensor], filled: dict[str, str]) -> None:
    """mmdet 2.x class order (objects, then background) -> torchvision's (background, then objects); the box
    regression of an object class keeps its rows, the background gets 4 zero rows (a class-agnostic regression
    is repeated for every class, which is what it means)."""
    cls_w = sd.get('head.roi_heads.box_predictor.cls_score.weight')
    for suffix in ('weight', 'bias'):
        cls = sd.get(f'head.roi_heads.box_predictor.cls_score.{suffix}')
        if cls is not None:
            sd[f'head.roi_heads.box_predictor.cls_score.{suffix}'] = torch.cat([cls[-1:], cls[:-1]])
        key = f'head.roi_heads.box_predictor.bbox_pred.{suffix}'
        reg = sd.get(key)
        if reg is None or cls_w is None:
            continue
        n_obj = cls_w.shape[0] - 1
        if reg.shape[0] == 4 and n_obj > 1:       # reg_class_agnostic: the same 4 rows for every class
            reg = reg.repeat(n_obj, *([1] * (reg.dim() - 1)))
        if reg.shape[0] == 4 * n_obj:
            sd[key] = torch.cat([torch.zeros_like(reg[:4]), reg])
            filled[key] = _FILLED_BG


def convert(sd: Mapping[str, Tensor], has: Callable[[str], bool] | None = None) -> Conversion | None:
    """The checkpoint ``sd`` (prefixes such as ``module.`` already stripped) under hrvision names, or None when it is
    not a layout of this module. ``has(key)``: whether the target model takes ``key`` (a zero bias is filled only
    then); None fills every one."""
    found = detect(sd)
    if found is None:
        return None
    fmt, variant = found
    filled: dict[str, str] = {}
    refusal = ''
    settings: dict[str, object] = {}
    if fmt == 'mmseg':
        kind = 'OCRHead' if variant.startswith('OCRHead') else 'FCNHead'
        out, origin = _rename(sd, RULES[kind])
        settings = dict(_BILINEAR)
        src = r'decode_head\.0\.' if kind == 'OCRHead' else r'decode_head\.'
        extra = sorted({m.group(1) for k in sd for m in [re.match(src + r'(convs\.[1-9]\d*|conv_cat)\.', k)] if m})
        if extra:
            refusal = (f'this mmseg FCNHead has {", ".join(extra)} (num_convs > 1 or concat_input=True); hrvision\'s '
                       'head is the official last_layer: one 1x1 conv-BN-ReLU, then the classifier')
        for conv in _BIASES[kind]:
            w, b = f'{conv}.weight', f'{conv}.bias'
            if w in out and b not in out and (has is None or has(b)):
                out[b] = torch.zeros(out[w].shape[0], dtype=out[w].dtype, device=out[w].device)
                filled[b] = _FILLED_BIAS
                origin[b] = ''
    elif fmt == 'mmdet':
        rules = RULES['HRFPN'] + (RULES['Faster R-CNN'] if variant.startswith('Faster') else [])
        out, origin = _rename(sd, rules)
        settings = dict(_NEAREST)
        if variant.startswith('Faster'):
            _background_first(out, filled)
            for k in filled:
                origin.setdefault(k, '')
        elif variant.startswith('FCOS'):
            refusal = FCOS_REFUSAL
        elif variant.startswith('mmdet 1.x'):
            refusal = ('an mmdet 1.x checkpoint (bbox_head.shared_fcs at the top level, background as class 0): '
                       "convert it with mmdet 2.x's tools/model_converters/upgrade_model_version.py first")
        elif variant == 'one-stage head':
            refusal = 'this mmdet one-stage head (bbox_head.*) has no hrvision counterpart (FCOS and Faster R-CNN only)'
    elif variant.endswith('(face)'):
        out, origin = _rename(sd, RULES['keypoint_head, conv layer'])
        settings = dict(_BILINEAR)
    else:   # mmpose 0.x pose: no settings checked, as for the official pose layout (the multi-task model imports
        # pose heads into its bilinear-fusing backbone on purpose: tasks/multitask weights import)
        out, origin = _rename(sd, RULES['keypoint_head'])
    return Conversion(fmt, variant, out, origin, filled, refusal, settings)


def settings_mismatches(model: nn.Module, conv: Conversion) -> list[str]:
    """The model's fuse / upsampling settings that differ from those the checkpoint was trained with (empty: none)."""
    from .backbones.hrnet import HRNet
    from .necks.hrnetv2 import HRNetV2Concat, HRNetV2p
    want_mode = conv.settings.get('upsample_mode')
    want_ac = conv.settings.get('align_corners', False)
    out = []
    for name, m in model.named_modules():
        where = name or type(m).__name__
        if isinstance(m, HRNet) and want_mode is not None:
            if m.upsample_mode != want_mode:
                out.append(f'{where}.upsample_mode={m.upsample_mode!r} (the {conv.format} model fuses with '
                           f'{want_mode!r})')
            elif want_mode == 'bilinear' and m.align_corners != want_ac:
                out.append(f'{where}.align_corners={m.align_corners} ({conv.format}: {want_ac})')
        elif isinstance(m, HRNetV2Concat) and conv.format != 'mmdet':
            if m.mode == 'bilinear' and m.align_corners != False:   # noqa: E712 (None is not False here)
                out.append(f'{where}.align_corners={m.align_corners} ({conv.format}: False)')
        elif isinstance(m, HRNetV2p):
            if m.align_corners != False:   # noqa: E712
                out.append(f'{where}.align_corners={m.align_corners} (mmdet HRFPN: False)')
        elif type(m).__name__ in ('SegmentationHead', 'OCRHead') and conv.format == 'mmseg':
            if getattr(m, 'align_corners', False) != False:   # noqa: E712
                out.append(f'{where}.align_corners={m.align_corners} (mmseg: False)')
    return out


__all__ = ['FCOS_REFUSAL', 'Conversion', 'detect', 'convert', 'settings_mismatches']
