"""Segmentation in ``hrvision.Inferencer`` / ``hrvision infer``: masks, colour pictures, label PNGs."""
from __future__ import annotations

import os.path as osp

import numpy as np

from hrvision.data.io import write_image
from hrvision.inference.task import TaskInference, to_numpy
from hrvision.registry import register_inference
from hrvision.visualization import blend, colorize

from .labels import PALETTE, train_ids_to_label_ids


def color(pred: np.ndarray) -> np.ndarray:
    return colorize(pred % len(PALETTE), PALETTE)


def write_masks(out: str, segs: list, stem: str, num_classes: int | None) -> None:
    """``labelIds/<stem>_labelIds.png`` (Cityscapes label ids, 19-class models) or ``labels/<stem>_labels.png``
    (class indices), and ``color/<stem>_color.png``; several masks of one image get ``_<k>`` suffixes."""
    for k, s in enumerate(segs):
        sfx = '' if len(segs) == 1 else f'_{k}'
        pred = s['sem_seg']
        if num_classes == 19:
            write_image(osp.join(out, 'labelIds', f'{stem}{sfx}_labelIds.png'), train_ids_to_label_ids(pred))
        else:
            write_image(osp.join(out, 'labels', f'{stem}{sfx}_labels.png'), pred.astype(np.uint8))
        write_image(osp.join(out, 'color', f'{stem}{sfx}_color.png'), color(pred))


@register_inference('SegmentationModel')
class SegInference(TaskInference):
    kind = 'seg'
    onnx = True

    def default_steps(self) -> list:
        return [dict(type='PackSegInputs')]

    def result(self, samples, boxes=None, box_scores=None, seg_probs: bool = False) -> dict:
        sample = samples[0]
        out = {'sem_seg': to_numpy(sample.pred_sem_seg).astype(np.int64)}
        if seg_probs and 'seg_logits' in sample:   # the official scores: summed exp of the logits (per scale)
            scores = sample.seg_logits.float()
            out['seg_probs'] = to_numpy(scores / scores.sum(0, keepdim=True))   # one scale: softmax(logits)
        return out

    def draw(self, image, r, classes=None, score_thr=0.3, kpt_thr=0.2) -> np.ndarray:
        return blend(image, color(r['sem_seg']), 0.6)

    def write_files(self, out: str, r: dict, stem: str) -> None:
        write_masks(out, [r], stem, getattr(getattr(self.model, 'head', None), 'num_classes', None))

    def use_onnx(self, net) -> None:
        # an instance attribute outranks the method; nn.Module.__setattr__ would file a module under _modules
        object.__setattr__(self.model, 'logits', net)
