"""Face landmarks in ``hrvision.Inferencer`` / ``hrvision infer``: one crop per face box (the WFLW reader's
landmarks-box rule), landmark pictures, ``landmarks.json``."""
from __future__ import annotations

import numpy as np

from hrvision.inference.task import TopDownInference, draw_crop_boxes
from hrvision.inference.writers import xywh
from hrvision.registry import register_inference
from hrvision.visualization import draw_points

from .dataset import SCALE_PAD


@register_inference('FaceLandmarkModel')
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
        for kp in r['keypoints']:
            out = draw_points(out, kp, (255, 40, 40), max(1, min(image.shape[:2]) // 200))
        return out

    def record(self, r: dict, image_id: int, name: str) -> dict:
        """Per face: box, landmarks in the model's order (WFLW 98-point for 98 landmarks) and scores."""
        k = r['keypoints'].shape[1]
        return dict(image_id=image_id, file_name=name, order='WFLW-98' if k == 98 else f'{k} landmarks',
                    faces=[dict(bbox=xywh(b), landmarks=kp.tolist(), scores=s.tolist())
                           for b, kp, s in zip(r['bboxes'], r['keypoints'], r['keypoint_scores'])])

    def use_onnx(self, net) -> None:
        self.model.extract_feat = lambda x: x   # predict runs head(extract_feat(x))
        self.model.head = net
