"""HRNetV2 semantic segmentation model on the common runner.

data preprocessor -> HRNet -> HRNetV2Concat -> SegmentationHead -> (loss | official test-time inference).

Test-time inference follows the official Cityscapes ``multi_scale_inference`` (SPEC §4.2):
for each scale the image is resized (long side ``base_size * s``); images larger than
``crop_size`` are processed by a sliding window with ``stride`` (official: stride = window,
windows at the border shifted back inside, overlaps averaged); logits are upsampled to the window,
flip-averaged, exponentiated, upsampled to the original size and summed over scales.
``test_cfg.window='pad'`` is the official generic ``BaseDataset.multi_scale_inference`` of the other datasets
(PASCAL-Context, LIP, ADE20K): an image no larger than the window is padded to it, windows at the bottom / right
border are padded instead of shifted back, the padding is black (``-mean / std`` after normalisation).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from torch import Tensor

from hrvision.checks import check_choice, merge_known
from hrvision.errors import ConfigError
from hrvision.engine.model import TaskModel
from hrvision.engine.preprocessor import build_module as _build
from hrvision.registry import MODELS
from hrvision.shape import fill, fill_concat_neck, fuse_align_corners, neck_channels
from hrvision.structures import DataSample
from hrvision.weights import load_weights

from .argmax import upsampled_argmax
from .bridge import SegmentationBridge

WINDOW_MODES = ('shift', 'pad')


@MODELS.register_module()
class SegmentationModel(TaskModel):
    """Args:
        backbone / neck / head: module configs (or modules); the neck's ``in_channels`` / ``align_corners`` and the
            head's ``in_channels`` / ``align_corners`` come from the backbone's contract (a config value that
            contradicts it is an error).
        test_cfg: ``scales`` (list of floats, 1.0 = native size), ``flip`` (bool), ``base_size``
            (long side at scale 1; None = the image's own long side), ``crop_size`` / ``stride``
            ((H, W) sliding window; None = whole image), ``window``: 'shift' (the official Cityscapes test: border
            windows shifted back inside) or 'pad' (the official test of the other datasets: the image padded to the
            window, border windows padded; see the module docstring).
        pretrained: weights for the backbone (ImageNet or any supported checkpoint format).
    """

    keep_scores = True   # False: labels only where they can be had without the full-size scores (the Inferencer
                         # without seg_probs); evaluation keeps the official path, score by score

    def __init__(self, backbone, neck, head, data_preprocessor=None, test_cfg: dict | None = None,
                 pretrained: str | None = None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = _build(backbone)
        self.neck = _build(fill_concat_neck(self.backbone, neck))
        head = fill(head, 'in_channels', neck_channels(self.neck), 'head', 'the neck output')
        ac = fuse_align_corners(self.backbone)
        self.head = _build(head if ac is None else fill(head, 'align_corners', ac, 'head',
                                                          'the backbone fuse align_corners'))
        self.test_cfg = merge_known('model.test_cfg', test_cfg, dict(scales=[1.0], flip=False, base_size=None,
                                                                     crop_size=None, stride=None, window='shift'))
        check_choice('model.test_cfg.window', self.test_cfg['window'], WINDOW_MODES)
        self.pretrained = pretrained

    def init_weights(self) -> None:
        """mmengine's hook point: default init, then the backbone weights from ``pretrained`` when given."""
        super().init_weights()
        if self.pretrained:
            report = load_weights(self.backbone, self.pretrained)
            MMLogger.get_current_instance().info(f'backbone weights: {report}')

    def check_dataset_meta(self, meta: dict, source: str) -> None:
        """The head's class count vs the dataset's ``classes`` (a 19-class head on 5 classes would train and score
        silently wrong)."""
        classes = (meta or {}).get('classes')
        n = getattr(self.head, 'num_classes', None)
        if classes is not None and n is not None and len(classes) != int(n):
            more = ', ...' if len(classes) > 4 else ''
            raise ConfigError(f'model.head.num_classes={n} but the dataset ({source}) has {len(classes)} classes '
                              f'(metainfo.classes: {", ".join(list(classes)[:4])}{more})')

    # ---- 'tensor' mode: what the official model returns --------------------------------------
    def extract_feat(self, inputs: Tensor) -> Tensor:
        """The HRNetV2 concat map (what the head reads)."""
        return self.neck(self.backbone(inputs))

    extract = extract_feat   # older name, still used by tests/test_smp.py

    def logits(self, inputs: Tensor) -> Tensor:
        """Stride-4 logits (N, C, H/4, W/4), the official model's output."""
        return self.head(self.extract_feat(inputs))

    tensor_forward = logits

    # ---- training -----------------------------------------------------------------------------
    def loss(self, inputs: Tensor, data_samples: Sequence[DataSample]) -> dict[str, Tensor]:
        labels = SegmentationBridge.targets(data_samples, inputs.shape[-2:])
        return self.head.loss(self.extract_feat(inputs), labels)

    # ---- inference ----------------------------------------------------------------------------
    def _mirror_logits(self, img: Tensor, perm: Sequence[int] | None, size=None) -> Tensor:
        """The mirrored image's logits (upsampled to ``size`` when given), mirrored back; ``perm``
        (``flip_class_indices``) swaps their left/right class channels back (LIP: the mirror's left-arm is the
        image's right-arm)."""
        back = self.logits(img.flip(-1))
        back = (back if size is None else self.head.upsample(back, size)).flip(-1)
        return back if perm is None else back[:, list(perm)]

    def _scaled_size(self, h: int, w: int, s: float) -> tuple[int, int]:
        """The image size at scale ``s`` (official: the long side ``base_size * s``, default the image's own)."""
        long_side = int((self.test_cfg.get('base_size') or max(h, w)) * s + 0.5)
        scale = long_side / max(h, w)
        return int(h * scale + 0.5), int(w * scale + 0.5)

    def _one_window(self, h: int, w: int) -> bool:
        """Whether the test runs an (h, w) image as one window, unpadded: no ``crop_size``, or (``window='shift'``)
        one the image fits in."""
        crop = self.test_cfg.get('crop_size')
        return not crop or (self.test_cfg.get('window', 'shift') == 'shift' and h <= crop[0] and w <= crop[1])

    def _window_probs(self, img: Tensor, flip: bool, perm: Sequence[int] | None = None) -> Tensor:
        """exp of (flip-averaged) logits upsampled to the window size (``perm``: :meth:`_mirror_logits`)."""
        size = img.shape[-2:]
        pred = self.head.upsample(self.logits(img), size)
        if flip:
            pred = (pred + self._mirror_logits(img, perm, size)) * 0.5
        # float32 first: exp overflows fp16 above logit 11 (AMP / half test); in place: a C x H x W copy at full
        # size costs more than the exp (``.float()`` of a float32 map is the map itself)
        return pred.float().exp_()

    def _slide(self, img: Tensor, flip: bool, perm: Sequence[int] | None = None) -> Tensor:
        h, w = img.shape[-2:]
        if self._one_window(h, w):
            return self._window_probs(img, flip, perm)
        if self.test_cfg.get('window', 'shift') == 'pad':
            return self._slide_padded(img, flip, perm)
        crop = self.test_cfg['crop_size']
        ch, cw = crop
        sh, sw = self.test_cfg.get('stride') or crop
        rows = max(math.ceil((h - ch) / sh), 0) + 1
        cols = max(math.ceil((w - cw) / sw), 0) + 1
        out = img.new_zeros((img.shape[0], self.head.num_classes, h, w), dtype=torch.float32)   # the probs' dtype
        count = img.new_zeros((1, 1, h, w), dtype=torch.float32)
        for r in range(rows):
            for c in range(cols):
                y0 = min(r * sh, max(h - ch, 0))
                x0 = min(c * sw, max(w - cw, 0))
                y1, x1 = min(y0 + ch, h), min(x0 + cw, w)
                out[..., y0:y1, x0:x1] += self._window_probs(img[..., y0:y1, x0:x1], flip, perm)
                count[..., y0:y1, x0:x1] += 1
        return out / count

    def _pad_value(self, img: Tensor) -> Tensor:
        """Black after normalisation (the official ``padvalue = -mean / std``), (1, C, 1, 1)."""
        pre = self.data_preprocessor
        mean, std = getattr(pre, 'mean', None), getattr(pre, 'std', None)
        if mean is None or std is None:
            return img.new_zeros(1, img.shape[1], 1, 1)
        return (-mean / std).to(img).view(1, -1, 1, 1)

    def _pad_to(self, x: Tensor, size, value: Tensor) -> Tensor:
        """``x`` padded at the bottom / right to at least ``size`` with ``value`` (per channel)."""
        h, w = x.shape[-2:]
        ph, pw = max(size[0] - h, 0), max(size[1] - w, 0)
        if not (ph or pw):
            return x
        out = value.expand(x.shape[0], x.shape[1], h + ph, w + pw).clone()
        out[..., :h, :w] = x
        return out

    def _slide_padded(self, img: Tensor, flip: bool, perm: Sequence[int] | None = None) -> Tensor:
        """The official generic sliding window (``BaseDataset.multi_scale_inference``, PASCAL-Context / LIP /
        ADE20K): an image no larger than the window runs padded to it; else the image is padded up to the window,
        windows start every ``stride`` (official: 2/3 of the window) and those reaching the border are padded
        (``crop_size`` set: :meth:`_slide` runs an image without one as one window)."""
        crop = self.test_cfg['crop_size']
        ch, cw = crop
        h, w = img.shape[-2:]
        value = self._pad_value(img)
        if max(h, w) <= min(ch, cw):
            return self._window_probs(self._pad_to(img, crop, value), flip, perm)[..., :h, :w]
        sh, sw = self.test_cfg.get('stride') or (int(ch * 2 / 3), int(cw * 2 / 3))
        x = self._pad_to(img, crop, value)
        H, W = x.shape[-2:]
        rows = max(math.ceil((H - ch) / sh), 0) + 1
        cols = max(math.ceil((W - cw) / sw), 0) + 1
        out = None
        count = x.new_zeros((1, 1, H, W), dtype=torch.float32)
        for r in range(rows):
            for c in range(cols):
                y0, x0 = r * sh, c * sw
                y1, x1 = min(y0 + ch, H), min(x0 + cw, W)
                win = x[..., y0:y1, x0:x1]
                if y1 == H or x1 == W:
                    win = self._pad_to(win, crop, value)
                probs = self._window_probs(win, flip, perm)[..., :y1 - y0, :x1 - x0]
                if out is None:
                    out = probs.new_zeros(probs.shape[0], probs.shape[1], H, W)
                out[..., y0:y1, x0:x1] += probs
                count[..., y0:y1, x0:x1] += 1
        return (out / count)[..., :h, :w]

    def flip_class_indices(self, sample: DataSample | None = None) -> list[int] | None:
        """The class permutation of a horizontal flip: the sample's ``flip_class_indices`` (dataset metadata), else
        the checkpoint's ``dataset_meta``; None when no class is sided (the identity)."""
        perm = sample.metainfo.get('flip_class_indices') if sample is not None else None
        source = 'the data sample'
        if perm is None:
            perm, source = (getattr(self, 'dataset_meta', None) or {}).get('flip_class_indices'), \
                "the checkpoint's dataset_meta"
        if perm is None:
            return None
        perm = [int(i) for i in perm]
        n = int(self.head.num_classes)
        if sorted(perm) != list(range(n)):
            raise ConfigError(f'the flip test has flip_class_indices for {len(perm)} classes ({source}) but '
                              f'model.head.num_classes={n}')
        return None if perm == list(range(n)) else perm

    def inference(self, img: Tensor, out_size, flip_perm: Sequence[int] | None = None) -> Tensor:
        """Summed per-scale scores (N, C, *out_size) for images of one size (official protocol); ``flip_perm``:
        the flip test's class permutation (:meth:`flip_class_indices`)."""
        cfg = self.test_cfg
        h, w = img.shape[-2:]
        ac = self.head.align_corners
        total = None
        for s in cfg.get('scales') or [1.0]:
            size = self._scaled_size(h, w, s)
            x = img if size == (h, w) else F.interpolate(img, size=size, mode='bilinear', align_corners=ac)
            probs = self._slide(x, cfg.get('flip', False), flip_perm)
            if tuple(probs.shape[-2:]) != tuple(out_size):
                probs = F.interpolate(probs, size=out_size, mode='bilinear', align_corners=ac)
            total = probs if total is None else total + probs
        return total

    def labels_only(self, img: Tensor, out_size, flip_perm: Sequence[int] | None = None) -> Tensor | None:
        """The (H, W) class map of one image without its full-size scores (:func:`upsampled_argmax`: the
        upsampling of every class and its ``exp`` skipped where the classes agree), or None where the prediction
        needs the scores: several scales or windows, a resize to another output size. The labels equal
        :meth:`inference`'s maximum except where two classes tie within float rounding."""
        cfg = self.test_cfg
        h, w = img.shape[-2:]
        native = list(cfg.get('scales') or [1.0]) == [1.0] and self._scaled_size(h, w, 1.0) == (h, w)
        if not (native and self._one_window(h, w) and tuple(out_size) == (h, w)):
            return None
        logits = self.logits(img).float()
        if cfg.get('flip', False):   # low-res: upsampling commutes with the flip
            logits = (logits + self._mirror_logits(img, flip_perm).float()) * 0.5
        return upsampled_argmax(logits[0], (h, w), self.head.align_corners)

    def predict(self, inputs: Tensor, data_samples: Sequence[DataSample] | None = None) -> list[DataSample]:
        """Per image: crop the batch padding, run the official inference at label / original size (with
        ``keep_scores`` False, labels only where :meth:`labels_only` can)."""
        if data_samples is None:
            data_samples = [DataSample(metainfo=dict(img_shape=tuple(inputs.shape[-2:]),
                                                     ori_shape=tuple(inputs.shape[-2:]))) for _ in inputs]
        out = []
        for img, sample in zip(inputs, data_samples):
            ih, iw = SegmentationBridge.valid_shape(sample)
            img, size = img[None, :, :ih, :iw], SegmentationBridge.output_size(sample)
            perm = self.flip_class_indices(sample) if self.test_cfg.get('flip') else None
            labels = None if self.keep_scores else self.labels_only(img, size, perm)
            if labels is not None:
                sample.pred_sem_seg = labels
            else:
                SegmentationBridge.write(sample, self.inference(img, size, perm)[0])
            out.append(sample)
        return out
