"""Segmentation in ``hrvision.Inferencer`` / ``hrvision infer``: masks, colour pictures, label PNGs."""
from __future__ import annotations

import os.path as osp

import numpy as np

from hrvision.data.io import write_image
from hrvision.inference.task import TaskInference, to_numpy
from hrvision.registry import register_inference, register_kind_alias
from hrvision.visualization import blend, colorize

from .labels import train_ids_to_label_ids
from .meta import is_cityscapes, palette_array


def color(pred: np.ndarray, palette: np.ndarray | None = None) -> np.ndarray:
    """Colour picture of a class map in ``palette`` (Cityscapes' by default)."""
    palette = palette_array(None, 19) if palette is None else palette
    return colorize(pred % len(palette), palette)


def write_masks(out: str, segs: list, stem: str, num_classes: int | None, meta: dict | None = None) -> None:
    """``labelIds/<stem>_labelIds.png`` (Cityscapes label ids: a model trained on Cityscapes' classes, or a
    19-class model without metadata) or ``labels/<stem>_labels.png`` (class indices), and ``color/<stem>_color.png``
    in the palette of ``meta`` (the checkpoint's ``dataset_meta``); several masks of one image get ``_<k>``
    suffixes."""
    cityscapes = is_cityscapes(meta) if (meta or {}).get('classes') else num_classes == 19
    palette = palette_array(meta, num_classes) if (meta or {}).get('palette') or num_classes else None
    for k, s in enumerate(segs):
        sfx = '' if len(segs) == 1 else f'_{k}'
        pred = s['sem_seg']
        if cityscapes:
            write_image(osp.join(out, 'labelIds', f'{stem}{sfx}_labelIds.png'), train_ids_to_label_ids(pred))
        else:
            write_image(osp.join(out, 'labels', f'{stem}{sfx}_labels.png'), pred.astype(np.uint8))
        write_image(osp.join(out, 'color', f'{stem}{sfx}_color.png'), color(pred, palette))


@register_inference('SegmentationModel')
class SegmentationInference(TaskInference):
    kind = 'segmentation'   # was 'seg' (registered below as an old kind)
    onnx = True

    def default_steps(self) -> list:
        return [dict(type='PackSegmentationInputs')]

    def prepare(self, seg_probs: bool = False) -> None:
        self.model.keep_scores = seg_probs   # labels only: no full-size scores where the model can skip them

    def result(self, samples, boxes=None, box_scores=None, seg_probs: bool = False) -> dict:
        sample = samples[0]
        out = {'sem_seg': to_numpy(sample.pred_sem_seg).astype(np.int64)}
        if seg_probs and 'seg_logits' in sample:   # the official scores: summed exp of the logits (per scale)
            scores = sample.seg_logits.float()
            out['seg_probs'] = to_numpy(scores / scores.sum(0, keepdim=True))   # one scale: softmax(logits)
        return out

    def _meta(self) -> tuple[dict | None, int | None]:
        """The checkpoint's dataset metadata (classes, palette) and the head's class count."""
        return (getattr(self.model, 'dataset_meta', None) or None,
                getattr(getattr(self.model, 'head', None), 'num_classes', None))

    def draw(self, image, r, classes=None, score_thr=0.3, kpt_thr=0.2) -> np.ndarray:
        meta, n = self._meta()
        return blend(image, color(r['sem_seg'], palette_array(meta, n) if meta or n else None), 0.6)

    def write_files(self, out: str, r: dict, stem: str) -> None:
        meta, n = self._meta()
        write_masks(out, [r], stem, n, meta)

    def use_onnx(self, net) -> None:
        # an instance attribute outranks the method; nn.Module.__setattr__ would file a module under _modules
        object.__setattr__(self.model, 'logits', net)


register_kind_alias('seg', SegmentationInference.kind)   # one vocabulary per task: old configs' kind still read
