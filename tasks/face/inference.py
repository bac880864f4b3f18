"""Face landmarks in ``hrvision.Inferencer`` / ``hrvision infer``: one crop per face box (the WFLW reader's
landmarks-box rule), landmark pictures (the metadata's skeleton), ``landmarks.json`` (the metadata's landmark names).

The metadata is the checkpoint's ``meta.dataset_meta`` (``model.dataset_meta``); the flip test reads its
``flip_indices`` there (:meth:`FaceModel.flip_indices`)."""
from __future__ import annotations

import numpy as np

from hrvision.inference.task import TopDownInference, draw_crop_boxes
from hrvision.inference.writers import xywh
from hrvision.registry import register_inference
from hrvision.visualization import draw_points, draw_skeleton

from .dataset import SCALE_PAD


@register_inference('FaceModel')
class FaceInference(TopDownInference):
    kind = 'face'
    onnx = True
    json_name = 'landmarks.json'

    def load_fields(self, r: dict, box, pad) -> None:
        x1, y1, x2, y2 = box   # the landmarks-box rule of the WFLW reader, x1.25
        r['center'] = np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0], np.float64)
        r['scale'] = max(x2 - x1, y2 - y1) / 200.0 * (SCALE_PAD if pad is None else pad)
        r['keypoints'] = np.zeros((getattr(getattr(self.model, 'head', None), 'num_landmarks', 98), 2), np.float64)
        r['ori_keypoints'] = r['keypoints'].copy()
        r['rotation'] = 0.0

    def default_steps(self) -> list:
        return [dict(type='FaceCrop', input_size=self.input_size), dict(type='PackFaceInputs')]

    def draw(self, image, r, classes=None, score_thr=0.3, kpt_thr=0.2) -> np.ndarray:
        out = draw_crop_boxes(image, r)
        links = [tuple(p) for p in (self.meta().get('skeleton') or ())]
        radius = max(1, min(image.shape[:2]) // 200)
        for kp in r['keypoints']:
            if links and all(max(p) < len(kp) for p in links):
                out = draw_skeleton(out, kp, links, color=(255, 200, 0), point_color=(255, 40, 40), thickness=radius)
            else:
                out = draw_points(out, kp, (255, 40, 40), radius)
        return out

    def meta(self) -> dict:
        """The checkpoint's dataset metadata (``{}`` for a model without one, e.g. official weights)."""
        return getattr(self.model, 'dataset_meta', None) or {}

    def record(self, r: dict, image_id: int, name: str) -> dict:
        """Per face: box, landmarks in the model's order (``WFLW-98``, else the metadata's ``dataset_name``, else
        ``'<K> landmarks'``) and scores."""
        k = r['keypoints'].shape[1]
        meta = self.meta()
        name_ = meta.get('dataset_name') or ('wflw' if k == 98 and not meta.get('keypoint_names') else None)
        order = 'WFLW-98' if name_ == 'wflw' and k == 98 else (name_ or f'{k} landmarks')
        return dict(image_id=image_id, file_name=name, order=order,
                    faces=[dict(bbox=xywh(b), landmarks=kp.tolist(), scores=s.tolist())
                           for b, kp, s in zip(r['bboxes'], r['keypoints'], r['keypoint_scores'])])

    def use_onnx(self, net) -> None:
        self.model.extract_feat = lambda x: x   # predict runs head(extract_feat(x))
        self.model.head = net
