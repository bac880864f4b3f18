"""What the Inferencer asks of a task, so that ``hrvision/inference`` names none.

Each task subclasses :class:`TaskInference` in ``tasks/<task>/inference.py`` and registers it for its model
class with ``@register_inference('<ModelClass>')`` (``hrvision.registry.INFERENCE``); the Inferencer, the
writers and the pictures only call these methods. The defaults are those of a whole-image task with no
files besides its JSON.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..registry import INFERENCE, load_tasks, task_kind


def to_numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, 'detach') else np.asarray(t)


def top_down_result(samples: list, boxes, box_scores) -> dict:
    """Top-down crops of one image: one row per box (``bboxes``, ``bbox_scores``, ``keypoints``,
    ``keypoint_scores``)."""
    k = [to_numpy(s.pred_keypoints).astype(np.float32) for s in samples]
    sc = [to_numpy(s.keypoint_scores).astype(np.float32).reshape(len(k[0]), ) for s in samples] if samples else []
    kdim = k[0].shape[0] if k else 0
    return {'bboxes': np.asarray(boxes, np.float32).reshape(-1, 4), 'bbox_scores': np.asarray(box_scores, np.float32),
            'keypoints': np.stack(k) if k else np.zeros((0, kdim, 2), np.float32),
            'keypoint_scores': np.stack(sc) if sc else np.zeros((0, kdim), np.float32)}


def draw_crop_boxes(image: np.ndarray, r: dict) -> np.ndarray:
    """The boxes of a top-down result (the pictures' common first layer)."""
    from ..visualization import draw_boxes
    return draw_boxes(image, r['bboxes'], color=(255, 200, 0)) if len(r['bboxes']) else image


class TaskInference:
    """One task's inference pieces, built around its model (``self.model``)."""

    kind = ''               # the task's label: ``Inferencer.kind``, multi-task head kinds
    top_down = False        # one crop per box (the whole image when none is given)
    takes_detector = False  # a detection model (``det_config``) may give it boxes
    gives_boxes = False     # its results (``bboxes``, ``scores``, ``labels``) can be another model's boxes
    onnx = False            # runs with the onnxruntime backend (``use_onnx``)
    json_name = None        # the JSON file ``hrvision infer --out`` writes (None: none)

    def __init__(self, model) -> None:
        self.model = model

    @property
    def input_size(self):
        """The network input (W, H) of a model with a codec (top-down crops), else None."""
        return getattr(getattr(self.model, 'codec', None), 'input_size', None)

    def load_fields(self, r: dict, box: tuple | None, pad: float | None) -> None:
        """Add to ``r`` (image, shapes, name; ``bbox`` for top-down tasks, whose ``box`` is (x1, y1, x2, y2))
        what the task's loading step sets; ``pad``: the box enlargement asked for (None: the task's own)."""

    def default_steps(self) -> list | None:
        """Test transforms (dicts) for a model built from an official YAML; None: it needs an mmengine config."""
        return None

    def prepare(self, seg_probs: bool = False) -> None:
        """Told which results :meth:`result` will be asked for (at construction, and again when that changes), so
        that the model may skip the rest."""

    def result(self, samples: list, boxes: np.ndarray, box_scores: np.ndarray, seg_probs: bool = False) -> dict:
        """Predicted DataSamples of one image (one per box when top-down) -> plain numpy results."""
        raise NotImplementedError

    def draw(self, image: np.ndarray, r: dict, classes=None, score_thr: float = 0.3,
             kpt_thr: float = 0.2) -> np.ndarray:
        raise NotImplementedError

    def write_files(self, out: str, r: dict, stem: str) -> None:
        """Per-image files of ``hrvision infer --out`` (e.g. masks), written as they come."""

    def record(self, r: dict, image_id: int, name: str):
        """This image's entry (or list of entries) in :attr:`json_name`."""
        return None

    def use_onnx(self, net) -> None:
        """Put ``net`` (the exported network under onnxruntime) in place of the model's network part."""
        raise NotImplementedError


def onnx_kinds() -> list[str]:
    """The kinds that run with the onnxruntime backend (in a fixed order, for messages)."""
    load_tasks()
    return sorted({c.kind for c in INFERENCE.values() if c.onnx}, reverse=True)


def task_for(model) -> TaskInference:
    """The registered :class:`TaskInference` of ``model``'s class, built around it."""
    name = type(model).__name__
    if name not in INFERENCE:
        load_tasks()
    if name not in INFERENCE:
        raise ConfigError(f'Inferencer: no inference for a {name} model (expected one of {", ".join(INFERENCE)})')
    return INFERENCE[name](model)


def by_kind(kind: str, model) -> TaskInference:
    """The single-task inference of ``kind`` around ``model`` (a multi-task model's heads reuse them)."""
    load_tasks()
    kind = task_kind(kind)
    for cls in INFERENCE.values():
        if cls.kind == kind:
            return cls(model)
    raise ConfigError(f'no inference registered for a {kind!r} head (registered: '
                      f'{sorted(c.kind for c in INFERENCE.values())})')


class TopDownInference(TaskInference):
    """A task that predicts keypoints in one crop per box (the whole image when none is given): its results are
    :func:`top_down_result`'s rows."""

    top_down = True

    def result(self, samples: list, boxes: np.ndarray, box_scores: np.ndarray, seg_probs: bool = False) -> dict:
        return top_down_result(samples, boxes, box_scores)

