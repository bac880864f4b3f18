"""Detection in ``hrvision.Inferencer`` / ``hrvision infer``: boxes, captions, COCO results JSON; the
onnxruntime swap of the detector's network (:func:`use_onnx_outputs`, shared with the multi-task detector): the
runtime's levels stand in for backbone + neck, its dense-head outputs for the head's convolutions."""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Sequence

import numpy as np
from torch import Tensor, nn

from hrvision.inference.task import TaskInference, to_numpy
from hrvision.inference.writers import xywh
from hrvision.registry import register_inference, register_kind_alias
from hrvision.visualization import draw_boxes

from .vis import captions

FCOS_OUTPUTS = ('cls_logits', 'bbox_regression', 'bbox_ctrness')   # torchvision's FCOSHead output dict


def onnx_output_names(det, prefix: str = '') -> list[str]:
    """The exported detector's outputs (the model's ``tensor`` dict, named by ``export_model``): the pyramid levels
    (``features.<level>``), then the dense head's (FCOS: class logits, box regression, centerness; Faster R-CNN:
    objectness and box deltas per level). ``det``: the ``DetectionHead`` head."""
    levels = det.levels
    head = list(FCOS_OUTPUTS) if det.kind == 'fcos' else \
        [f'{k}.{i}' for k in ('objectness', 'rpn_bbox_deltas') for i in range(len(levels))]
    return [f'{prefix}{n}' for n in [f'features.{v}' for v in levels] + head]


class OnnxPyramid(nn.Module):
    """Backbone + neck under the onnxruntime backend: ``run(x)`` gives the exported outputs for the batch; returns
    the levels (what the torch neck returns) and keeps the dense head's outputs for :class:`_StoredHead`.
    Multi-task: the features are already inside ``run``'s outputs, so its input is not used."""

    def __init__(self, names: Sequence[str], fcos: bool, run: Callable[[Tensor], list]) -> None:
        super().__init__()
        self.names, self.fcos, self.run = list(names), fcos, run
        self.head_out = None

    def forward(self, x) -> 'OrderedDict[str, Tensor]':
        outs, n = list(self.run(x)), len(self.names)
        rest = outs[n:]
        self.head_out = dict(zip(FCOS_OUTPUTS, rest)) if self.fcos else \
            (rest[:n], rest[n:])
        return OrderedDict(zip(self.names, outs[:n]))


class _StoredHead(nn.Module):
    """The dense head (FCOS head / RPN head) under the onnxruntime backend: the outputs the pyramid call kept."""

    def __init__(self, pyramid: OnnxPyramid) -> None:
        super().__init__()
        object.__setattr__(self, 'pyramid', pyramid)   # not a second registration of the same module

    def forward(self, features):
        out, self.pyramid.head_out = self.pyramid.head_out, None
        if out is None:
            raise RuntimeError('the detector called its head without the onnxruntime pyramid call before it')
        return out


def use_onnx_outputs(det, run: Callable[[Tensor], list], model) -> OnnxPyramid:
    """The exported network's outputs (``run(batch)`` -> levels + dense-head outputs) in place of ``det``'s (a
    ``DetectionHead`` of ``model``) dense head, in place; returns the module that stands for backbone + neck
    (the caller puts it where they were). torchvision's anchors, box decoding, NMS and the Faster R-CNN RoI stage
    then run in torch on them, as with the torch backend. That RoI stage has weights (box head, class predictor)
    the file does not hold: a Faster R-CNN needs the checkpoint too."""
    if det.kind != 'fcos' and getattr(model, 'load_report', None) is None:
        from hrvision.errors import InputError
        raise InputError(f'the ONNX backends run the {det.kind} RoI box head in torch with the checkpoint\'s '
                         'weights: give the checkpoint as well as the ONNX file')
    pyramid = OnnxPyramid(det.levels, det.kind == 'fcos', run)
    if det.kind == 'fcos':
        det.head = _StoredHead(pyramid)
    else:
        det.rpn.head = _StoredHead(pyramid)
    return pyramid


@register_inference('DetectionModel')
class DetectionInference(TaskInference):
    """Results carry ``category_ids`` beside the 0-based ``labels`` when the training data's category ids are known
    (:mod:`.categories`: the user's, else the checkpoint's dataset_meta, else the config's annotation file; never
    guessed); captions name the classes from the same place (label indices without). ``detections.json`` without
    known ids is refused before any image runs (:meth:`check_outputs`)."""

    kind = 'detection'   # was 'det' (registered below as an old kind)
    gives_boxes = True
    onnx = True
    json_name = 'detections.json'

    def __init__(self, model, num_classes: int | None = None) -> None:
        super().__init__(model)
        self.num_classes = num_classes or getattr(model, 'num_classes', None)
        self._categories = None
        self.given_ids = None   # the user's ids (Inferencer(category_ids=...)): a list or a file

    def use_category_ids(self, ids) -> None:
        """The user's category ids (a list in label order, or a JSON / COCO annotation file), checked now."""
        from .categories import resolve
        self.given_ids = ids
        self._categories = resolve(self.model, int(self.num_classes), ids)

    def check_outputs(self, what: str | None = None) -> None:
        """Before any image: COCO results need the real category ids (a one-line refusal without them)."""
        from .categories import require_ids
        require_ids(self.categories, int(self.num_classes), what or self.json_name)

    @property
    def categories(self):
        """The label -> category id / class name mapping, resolved once (the warning, if any, printed once)."""
        if self._categories is None:
            from .categories import resolve
            self._categories = resolve(self.model, int(self.num_classes), self.given_ids)
        return self._categories

    def load_fields(self, r: dict, box, pad) -> None:
        r.update(gt_bboxes=np.zeros((0, 4), np.float32), gt_labels=np.zeros(0, np.int64))
        r.setdefault('scale_factor', (1.0, 1.0))   # the image as loaded; DetectionResize multiplies it

    def result(self, samples, boxes=None, box_scores=None, seg_probs: bool = False) -> dict:
        p = samples[0].pred_instances
        labels = to_numpy(p.labels).astype(np.int64)
        out = {'bboxes': to_numpy(p.bboxes).astype(np.float32).reshape(-1, 4),
               'scores': to_numpy(p.scores).astype(np.float32), 'labels': labels}
        if self.categories.ids is not None:   # never made-up ids (label + 1, COCO's 80)
            out['category_ids'] = np.asarray(self.categories.ids, np.int64)[labels]
        return out

    def draw(self, image, r, classes=None, score_thr=0.3, kpt_thr=0.2) -> np.ndarray:
        keep = r['scores'] >= score_thr
        names = classes or self.categories.names
        return draw_boxes(image, r['bboxes'][keep], captions(r['labels'][keep], r['scores'][keep], names),
                          color=(255, 40, 40))

    def use_onnx(self, net) -> None:
        model, det = self.model, self.model.head
        net.select_outputs(onnx_output_names(det), f'the {det.kind} detector')
        model.backbone = use_onnx_outputs(det, net, model)   # the file's levels: no torch backbone or neck left
        model.neck = nn.Identity()

    def record(self, r: dict, image_id: int, name: str) -> list:
        """COCO results (the real ``category_id``, see the class docstring) plus ``file_name`` and ``label``."""
        if 'category_ids' not in r:
            self.check_outputs()
        names = self.categories.names   # the training file's class names, when known (COCO results ignore the key)
        return [dict(image_id=image_id, file_name=name, category_id=int(i), label=int(c), bbox=xywh(b),
                     score=float(s), **({'category_name': names[int(c)]} if names else {}))
                for b, c, i, s in zip(r['bboxes'], r['labels'], r['category_ids'], r['scores'])]


register_kind_alias('det', DetectionInference.kind)   # one vocabulary per task: old configs' kind still read
