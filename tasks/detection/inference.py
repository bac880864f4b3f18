"""Detection in ``hrvision.Inferencer`` / ``hrvision infer``: boxes, captions, COCO results JSON."""
from __future__ import annotations

import numpy as np

from hrvision.inference.task import TaskInference, to_numpy
from hrvision.inference.writers import xywh
from hrvision.registry import register_inference
from hrvision.visualization import draw_boxes

from .vis import _captions


@register_inference('HRNetDetector')
class DetInference(TaskInference):
    kind = 'det'
    gives_boxes = True
    json_name = 'detections.json'

    def load_fields(self, r: dict, box, pad) -> None:
        r.update(gt_bboxes=np.zeros((0, 4), np.float32), gt_labels=np.zeros(0, np.int64))

    def result(self, samples, boxes=None, box_scores=None, seg_probs: bool = False) -> dict:
        p = samples[0].pred_instances
        return {'bboxes': to_numpy(p.bboxes).astype(np.float32).reshape(-1, 4),
                'scores': to_numpy(p.scores).astype(np.float32), 'labels': to_numpy(p.labels).astype(np.int64)}

    def draw(self, image, r, classes=None, score_thr=0.3, kpt_thr=0.2) -> np.ndarray:
        keep = r['scores'] >= score_thr
        return draw_boxes(image, r['bboxes'][keep], _captions(r['labels'][keep], r['scores'][keep], classes),
                          color=(255, 40, 40))

    def record(self, r: dict, image_id: int, name: str) -> list:
        """COCO results (``category_id`` = label + 1) plus ``file_name`` and ``label``."""
        return [dict(image_id=image_id, file_name=name, category_id=int(c) + 1, label=int(c), bbox=xywh(b),
                     score=float(s)) for b, c, s in zip(r['bboxes'], r['labels'], r['scores'])]
