"""Top-down pose in ``hrvision.Inferencer`` / ``hrvision infer``: one crop per person box, skeletons, COCO
keypoint results JSON (scored as the COCO evaluation rescores)."""
from __future__ import annotations

import numpy as np

from hrvision.data.keypoints import box_to_center_scale
from hrvision.errors import ConfigError
from hrvision.inference.task import TopDownInference, draw_crop_boxes
from hrvision.inference.writers import xywh
from hrvision.registry import register_inference

from .metric import rescore


def keypoint_category_id(meta: dict | None) -> int:
    """The keypoint category results are tagged with: the metadata's ``category_id``, else its only category id;
    COCO's person only for a model without keypoint metadata (official weights); never a guess."""
    meta = meta or {}
    if meta.get('category_id') is not None:
        return int(meta['category_id'])
    ids = meta.get('category_ids') or []
    if len(ids) == 1:
        return int(ids[0])
    if meta.get('keypoint_names'):
        raise ConfigError(f'the model\'s dataset metadata has no category_id (category_ids {list(ids)}); state '
                          'metainfo.category_id (the keypoint category of the training file)')
    from .metric import coco_preset
    return int(coco_preset()['category_id'])
from .vis import draw_people


@register_inference('PoseModel')
class PoseInference(TopDownInference):
    kind = 'pose'
    takes_detector = True
    onnx = True
    json_name = 'keypoints.json'

    def load_fields(self, r: dict, box, pad) -> None:
        iw, ih = self.input_size
        r['center'], r['scale'] = box_to_center_scale(r['bbox'], iw / ih, 1.25 if pad is None else pad)
        r['rotation'] = 0.0

    def default_steps(self) -> list:
        return [dict(type='TopDownAffine', input_size=self.input_size), dict(type='PackPoseInputs')]

    def draw(self, image, r, classes=None, score_thr=0.3, kpt_thr=0.2) -> np.ndarray:
        out = draw_crop_boxes(image, r)
        kp = np.concatenate([r['keypoints'], r['keypoint_scores'][..., None]], -1) if len(r['keypoints']) else []
        return draw_people(out, list(kp), kpt_thr, skeleton=(getattr(self.model, 'dataset_meta', None) or {}).get(
            'skeleton'))   # the checkpoint's metadata: the links of the keypoints it was trained on

    def record(self, r: dict, image_id: int, name: str) -> list:
        """COCO keypoint results: K x (x, y, score), ``score`` rescored, plus ``file_name`` and ``bbox``."""
        category = keypoint_category_id(getattr(self.model, 'dataset_meta', None))
        return [dict(image_id=image_id, file_name=name, category_id=category, bbox=xywh(b),
                     keypoints=[float(v) for v in np.concatenate([k, s[:, None]], 1).reshape(-1)],
                     score=rescore(float(bs), s)) for b, bs, k, s in
                zip(r['bboxes'], r['bbox_scores'], r['keypoints'], r['keypoint_scores'])]

    def use_onnx(self, net) -> None:
        # an instance attribute outranks the method (see the segmentation inference)
        object.__setattr__(self.model, 'heatmaps', net)
