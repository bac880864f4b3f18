"""``DetectionBridge``: data samples <-> :class:`~hrvision.heads.detection.DetectionHead`.

Ground truth -> torchvision targets, and detections in resized-input pixels -> ``pred_instances`` in
original-image pixels (divided by ``scale_factor``, clamped to the original size; a missing key is an error, see
:mod:`hrvision.engine.bridge`): shared by
:class:`~hrvision.tasks.detection.model.DetectionModel` and the multi-task detection adapter.
"""
from __future__ import annotations

from typing import Sequence

from torch import Tensor

from hrvision.engine.bridge import require_meta, to_original
from hrvision.structures import DataSample, InstanceData


class DetectionBridge:
    """Stateless; every method is a static method."""

    @staticmethod
    def valid_images(inputs: Tensor, samples: Sequence[DataSample]) -> list[Tensor]:
        """Crop the padded batch back to each image's ``img_shape`` (what torchvision calls image size; required:
        the padded size would let boxes reach into the padding)."""
        out = []
        for img, ds in zip(inputs, samples):
            h, w = require_meta(ds, 'img_shape', who='the detector')[0][:2]
            out.append(img[:, :int(h), :int(w)])
        return out

    @staticmethod
    def targets(data_samples: Sequence[DataSample], device) -> list[dict[str, Tensor]]:
        """``gt_instances`` -> torchvision targets (xyxy ``boxes``, 0-based ``labels``)."""
        targets = []
        for i, ds in enumerate(data_samples):
            if 'gt_instances' not in ds:
                raise KeyError(f'data sample {i} ({ds.metainfo.get("img_path", "?")}) has no gt_instances')
            gt = ds.gt_instances
            targets.append({'boxes': gt.bboxes.to(device).reshape(-1, 4),
                            'labels': gt.labels.to(device).reshape(-1)})
        return targets

    @staticmethod
    def predict(dets: Sequence[dict], data_samples: Sequence[DataSample], cpu: bool = False) -> list[DataSample]:
        """Write ``pred_instances`` (boxes in original pixels, clamped to ``ori_shape``; both keys required)."""
        for det, ds in zip(dets, data_samples):
            ori_shape, _ = require_meta(ds, 'ori_shape', 'scale_factor', who='the detector')
            h, w = ori_shape[:2]
            boxes = to_original(det['boxes'], ds)
            boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
            boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
            labels, scores = det['labels'], det['scores']
            if cpu:
                boxes, labels, scores = boxes.cpu(), labels.cpu(), scores.cpu()
            ds.pred_instances = InstanceData(bboxes=boxes, labels=labels, scores=scores)
        return list(data_samples)


__all__ = ['DetectionBridge']
