"""Multi-task in ``hrvision.Inferencer`` / ``hrvision infer``: one result per head, keyed by head name; each
head's drawing and masks are those of its single task (looked up by the adapter's ``kind``).

Under the onnxruntime backend the exported network (every head's raw output, the detector's pyramid levels
among them) runs once per batch in ONNX Runtime; each adapter's post-processing then runs in torch on those
outputs (detector: anchors, box decoding, NMS; keypoints: RoI decoding per detected box; masks: resizing)."""
from __future__ import annotations

import numpy as np

from hrvision.inference.task import TaskInference, by_kind, to_numpy
from hrvision.registry import register_inference

from ..detection.inference import DetectionInference, onnx_output_names, use_onnx_outputs
from .transforms import rasterize


def _pose(sample) -> dict:
    p = sample.pred_pose
    return {'bboxes': to_numpy(p.bboxes).astype(np.float32).reshape(-1, 4),
            'bbox_scores': to_numpy(p.scores).astype(np.float32),
            'keypoints': to_numpy(p.keypoints).astype(np.float32),
            'keypoint_scores': to_numpy(p.keypoint_scores).astype(np.float32)}


def _face(sample) -> dict:   # the whole-image landmark head: one face, the whole image its box
    h, w = sample.metainfo['ori_shape'][:2]
    return {'bboxes': np.array([[0, 0, w, h]], np.float32), 'bbox_scores': np.ones(1, np.float32),
            'keypoints': to_numpy(sample.pred_keypoints).astype(np.float32)[None],
            'keypoint_scores': to_numpy(sample.keypoint_scores).astype(np.float32)[None]}


class _NoFeatures(dict):
    """What ``extract_feat`` returns under the onnxruntime backend: every shared feature is already inside the
    heads' outputs (an empty sequence, what the detector's stand-in neck is given and ignores)."""

    def __missing__(self, key):
        return ()


class _StoredOutput:
    """A non-detector head under the onnxruntime backend: its call returns its exported output for the batch;
    everything else (``upsample``, ``num_keypoints``, ...) is the torch head's."""

    def __init__(self, head, outputs: dict, name: str) -> None:
        self.head, self.outputs, self.name = head, outputs, name

    def __call__(self, feat):
        return self.outputs[self.name]

    def __getattr__(self, key):
        return getattr(self.head, key)


# heads whose multi-task predictions sit in other fields than their single task's (whole-image variants)
_OWN_FIELDS = {'pose': _pose, 'face': _face}


@register_inference('MultiTaskModel')
class MultiTaskInference(TaskInference):
    kind = 'multitask'
    json_name = 'results.json'
    onnx = True

    def __init__(self, model) -> None:
        super().__init__(model)
        self.heads = {n: by_kind(a.kind, model) for n, a in model.adapters.items()}
        for n, t in self.heads.items():   # a detector head's classes (its category ids, names) are its own
            if isinstance(t, DetectionInference):
                t.num_classes = getattr(model.heads[n], 'num_classes', None)

    def use_category_ids(self, ids) -> None:
        """The user's category ids, for the detector head (one detector head: with several, which is ambiguous)."""
        dets = [t for t in self.heads.values() if isinstance(t, DetectionInference)]
        if len(dets) != 1:
            from hrvision.errors import InputError
            raise InputError(f'category_ids name the classes of one detector head; this model has {len(dets)}')
        dets[0].use_category_ids(ids)

    def check_outputs(self) -> None:
        """``results.json`` carries each detector head's category ids: refused before any image when unknown."""
        for n, t in self.heads.items():
            if isinstance(t, DetectionInference):
                t.check_outputs(f'{self.json_name} (detector head {n!r})')

    def load_fields(self, r: dict, box, pad) -> None:
        h, w = r['ori_shape']
        r.update(scale_factor=(1.0, 1.0), gt_sem_seg=rasterize([], h, w, 0, 'person'),
                 gt_bboxes=np.zeros((0, 4), np.float32), gt_labels=np.zeros(0, np.int64),
                 gt_person_bboxes=np.zeros((0, 4), np.float32), gt_keypoints=np.zeros((0, 17, 3), np.float32))

    def result(self, samples, boxes=None, box_scores=None, seg_probs: bool = False) -> dict:
        sample = samples[0]
        return {n: _OWN_FIELDS[t.kind](sample) if t.kind in _OWN_FIELDS else t.result([sample])
                for n, t in self.heads.items()}

    def draw(self, image, r, classes=None, score_thr=0.3, kpt_thr=0.2) -> np.ndarray:
        out = image
        for n in sorted(self.heads, key=lambda n: self.heads[n].kind != 'segmentation'):   # masks under boxes and skeletons
            out = self.heads[n].draw(out, r[n], classes, score_thr, kpt_thr)
        return out

    def write_files(self, out: str, r: dict, stem: str) -> None:
        from ..segmentation.inference import write_masks
        segs = [r[n] for n, t in self.heads.items() if t.kind == 'segmentation']
        if segs:
            write_masks(out, segs, stem, None)

    def use_onnx(self, net) -> None:
        model = self.model
        names = {n: onnx_output_names(model.heads[n], f'{n}.') if a.kind == 'detection' else [n]
                 for n, a in model.adapters.items()}
        net.select_outputs([x for v in names.values() for x in v], f'the multi-task model ({", ".join(names)})')
        outputs: dict = {}

        def extract_feat(inputs):   # one ONNX Runtime call per batch; the heads read their share
            flat, k = list(net(inputs)), 0
            for n, v in names.items():
                outputs[n] = flat[k] if model.adapters[n].kind != 'detection' else flat[k:k + len(v)]
                k += len(v)
            return _NoFeatures()

        def det_outputs(name):
            return lambda feat: outputs[name]   # this batch's levels + dense-head outputs of detector ``name``

        heads = {}
        for n, a in model.adapters.items():
            if a.kind == 'detection':   # the file's levels in place of the head's neck
                model.necks[n] = use_onnx_outputs(model.heads[n], det_outputs(n), model)
                heads[n] = model.heads[n]
            else:
                heads[n] = _StoredOutput(model.heads[n], outputs, n)
        model.extract_feat = extract_feat
        object.__setattr__(model, 'heads', heads)   # instance attribute over the ModuleDict (see seg inference)

    def record(self, r: dict, image_id: int, name: str) -> dict:
        heads = {n: {k: v.tolist() for k, v in r[n].items() if k != 'sem_seg'} for n in self.heads}
        return dict(image_id=image_id, file_name=name, heads=heads)
