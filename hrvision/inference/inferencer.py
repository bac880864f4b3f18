"""``hrvision.Inferencer``: a trained model on your own images, folders, globs, arrays and videos.

The config's test pipeline (its loading step replaced by :class:`~.pipeline.LoadArray`), the model's data
preprocessor and ``model.test_step`` -- the path ``hrvision test`` takes -- so predictions equal the test
loop's, in original-image pixels. Top-down tasks (pose, face) run on boxes (the whole image when none are given);
pose runs the flip test of the config (on by default, as the official test configs).
"""
from __future__ import annotations

import threading
import time
from typing import Any, Iterator

import numpy as np
import torch

from ..errors import InputError
from .boxes import BoxFile, as_boxes
from .inputs import Item, Skipped, check_array, collect, load
from .pipeline import LoadArray, test_pipeline
from .task import task_for

BACKENDS = ('torch', 'onnxruntime', 'openvino')


def _default_steps(task) -> list:
    """Test steps for a model built from an official YAML (no mmengine pipeline)."""
    from ..registry import TRANSFORMS
    steps = task.default_steps()
    if steps is None:
        raise InputError(f'Inferencer: a {task.kind} model needs an mmengine config (with a test pipeline)')
    return [TRANSFORMS.build(s) for s in steps]


def default_device(backend: str = 'torch') -> str:
    """The device when none is given: CUDA when present for torch; the CPU for openvino (its only device; CUDA is
    not even queried), and for onnxruntime unless its CUDA provider is installed (no GPU round trip for nothing)."""
    if backend == 'openvino':
        return 'cpu'
    if backend == 'onnxruntime':
        from .ort import cuda_provider_available
        if not cuda_provider_available():
            return 'cpu'
    return 'cuda' if torch.cuda.is_available() else 'cpu'


class Inferencer:
    """``Inferencer(config, checkpoint=None, device=None, backend='torch')``; call it on images.

    Args:
        config: mmengine config (.py or ``Config``), official experiment YAML/JSON, or a zoo alias (its config and
            weights; see ``hrvision.init_model``, :mod:`hrvision.zoo`).
        checkpoint: weights (any format :func:`hrvision.load_weights` reads, or a zoo alias); refused if incomplete.
        device: ``'cpu'``, ``'cuda'``, ...; None: :func:`default_device` of the backend (CUDA when present for
            torch; always the CPU for openvino).
        backend: ``'torch'``, ``'onnxruntime'`` or ``'openvino'`` (CPU; ``onnx`` = the exported network file,
            see :func:`hrvision.export.export_model`).
        det_config / det_checkpoint: hrvision detection model giving person boxes to a pose model (either may be a
            zoo alias).
        det_score_thr / det_label: which detections are people.
        seg_probs: also return per-class probabilities for segmentation.
        cfg_options: dotted-key overrides of an mmengine config, for the model and the test pipeline
            (e.g. ``{'model.test_cfg.flip_test': True}``: the face flip test, off by default as official).
        category_ids: a detector's dataset category ids in label order (a list, or a JSON file with one, or a COCO
            annotation file): needed for COCO results when neither the checkpoint nor the config knows them.
    """

    def __init__(self, config: str, checkpoint: str | None = None, device: str | None = None,
                 backend: str = 'torch', onnx: str | None = None, det_config: str | None = None,
                 det_checkpoint: str | None = None, det_score_thr: float = 0.3, det_label: int = 0,
                 batch_size: int = 1, seg_probs: bool = False, allow_partial: bool = False,
                 cfg_options: dict | None = None, category_ids=None) -> None:
        from ..apis import init_model
        from ..checks import check_choice, check_int
        check_choice('Inferencer backend', backend, BACKENDS)
        self.batch_size = check_int('Inferencer batch_size', batch_size, low=1)
        self.device = torch.device(device or default_device(backend))
        if backend == 'openvino' and self.device.type != 'cpu':   # before the model loads onto that device
            raise InputError(f"the openvino backend runs on the CPU; got device={str(device)!r} (use device='cpu' "
                             'or leave it out)')
        self.model = init_model(config, checkpoint, str(self.device), allow_partial=allow_partial,
                                cfg_options=cfg_options)
        self.task = task_for(self.model)
        if category_ids is not None:   # a detector's dataset category ids (tasks/detection/categories.py)
            if not hasattr(self.task, 'use_category_ids'):
                raise InputError(f"category_ids name a detector's classes; this is a {self.task.kind} model")
            self.task.use_category_ids(category_ids)
        self.kind = self.task.kind
        self.steps = self._steps(self.model.cfg)
        self.loader = LoadArray(self.task)
        self.seg_probs = seg_probs
        self.backend = backend
        if backend == 'onnxruntime':
            from .ort import use_onnxruntime
            use_onnxruntime(self.task, onnx, self.device)
        elif backend == 'openvino':   # the same exported file, compiled by OpenVINO (CPU)
            from .openvino import use_openvino
            use_openvino(self.task, onnx, self.device)
        self.detector = None
        if det_config:
            if not self.task.takes_detector:
                raise InputError(f'--det-config gives person boxes to a pose model; this is a {self.kind} model')
            self.detector = Inferencer(det_config, det_checkpoint, device=str(self.device), batch_size=batch_size)
            if not self.detector.task.gives_boxes:
                raise InputError(f'{det_config}: --det-config must be a detection config, got a '
                                 f'{self.detector.kind} model')
        self.det_score_thr, self.det_label = det_score_thr, det_label
        self._per_thread = threading.local()   # ``skipped`` / ``stats`` of each thread's last call

    @property
    def seg_probs(self) -> bool:
        return self._seg_probs

    @seg_probs.setter
    def seg_probs(self, value: bool) -> None:
        self._seg_probs = bool(value)
        self.task.prepare(seg_probs=self._seg_probs)   # the model computes what the results will hold

    def _steps(self, cfg) -> list:
        """The config's test pipeline (``cfg``: the model's mmengine config, overrides applied), or the task's
        default steps for a model built from an official file (no config)."""
        from mmengine.registry import init_default_scope
        if cfg is None:
            return _default_steps(self.task)
        init_default_scope('hrvision')
        return test_pipeline(cfg, getattr(cfg, 'filename', None) or 'config')

    # ---- public API -----------------------------------------------------------------------------
    def __call__(self, inputs: Any, boxes: Any = None, batch_size: int | None = None) -> list[dict]:
        """Predictions for every readable image of ``inputs`` (see :mod:`.inputs`), in input order.

        ``boxes`` (pose / face): a list with one (N, 4|5) array per image, or a detection JSON path.
        Unreadable images are skipped and listed in ``self.skipped`` (per thread: two threads calling one
        Inferencer each see their own call's list, and ``self.stats``)."""
        skipped = self._per_thread.skipped = Skipped()
        items = collect(inputs, skipped)
        if boxes is not None and not isinstance(boxes, (str, BoxFile)) and len(boxes) != len(items):
            raise InputError(f'boxes: {len(boxes)} entries for {len(items)} images; give one per image')
        start = time.perf_counter()
        out = list(self.run(load(items, skipped), boxes, batch_size, list(items)))
        self._per_thread.stats = dict(images=len(out), skipped=len(skipped), seconds=time.perf_counter() - start)
        if not out:
            raise InputError(f'no image could be read ({len(skipped)} skipped: '
                             f'{skipped.entries[0][0]}: {skipped.entries[0][1]})')
        return out

    @property
    def skipped(self) -> Skipped:
        """The inputs this thread's last call left out, with the reasons (empty before a call)."""
        if getattr(self._per_thread, 'skipped', None) is None:
            self._per_thread.skipped = Skipped()
        return self._per_thread.skipped

    @property
    def stats(self) -> dict:
        """This thread's last call: ``images``, ``skipped``, ``seconds``."""
        return getattr(self._per_thread, 'stats', {})

    def run(self, loaded: Iterator[tuple[Item, np.ndarray]], boxes=None, batch_size: int | None = None,
            order: list | None = None) -> Iterator[dict]:
        """Stream: (item, RGB image) pairs -> result dicts, ``batch_size`` images at a time."""
        for _, _, res in self.stream(loaded, boxes, batch_size, order):
            yield res

    def stream(self, loaded: Iterator[tuple[Item, np.ndarray]], boxes=None, batch_size: int | None = None,
               order: list | None = None) -> Iterator[tuple[Item, np.ndarray, dict]]:
        """Like :meth:`run`, yielding ``(item, image, result)`` (for drawing and writing)."""
        bs = batch_size or self.batch_size
        box_file = BoxFile(boxes) if isinstance(boxes, str) else boxes if isinstance(boxes, BoxFile) else None
        index = {id(it): k for k, it in enumerate(order or [])}
        chunk = []
        for n, (it, img) in enumerate(loaded):
            given = None
            if box_file is not None:
                given = box_file.lookup(it.name)
            elif boxes is not None:
                k = index.get(id(it), n)
                given = as_boxes(f'boxes[{k}]', boxes[k])
            chunk.append((it, img, given))
            if len(chunk) == bs:
                yield from self._predict(chunk, bs)
                chunk = []
        if chunk:
            yield from self._predict(chunk, bs)

    def video(self, path: str, boxes=None) -> Iterator[tuple[np.ndarray, dict]]:
        """Every frame of a video (any format OpenCV reads): ``(RGB frame, result)``, result ``name`` is
        ``<path>#<frame number>`` and ``frame`` the frame number. ``boxes``: a detection JSON keyed by those
        names, or None."""
        from .video import frames, open_video
        cap, _, _ = open_video(path)
        pairs = ((Item(f'{path}#{k:06d}', frame=k), f) for k, f in enumerate(frames(cap)))
        for it, img, res in self.stream(pairs, boxes):
            res['frame'] = it.frame   # what marks a video frame (writers.py): not a '#' in the name
            yield img, res

    def predict_array(self, img: np.ndarray, boxes=None) -> dict:
        """One HxWx3 uint8 RGB image -> its result."""
        img = check_array('image', img)
        return next(self.run(iter([(Item('array0', array=img), img)]), None if boxes is None else [boxes]))

    # ---- internals ------------------------------------------------------------------------------
    def _boxes_for(self, imgs: list, given: list) -> list:
        if not self.task.top_down:
            return [None] * len(imgs)
        if self.detector is not None:
            dets = list(self.detector.run(iter((Item('box source'), im) for im in imgs)))
            given = [np.concatenate([d['bboxes'], d['scores'][:, None]], 1)[
                (d['labels'] == self.det_label) & (d['scores'] >= self.det_score_thr)] for d in dets]
        return given

    @torch.no_grad()
    def _predict(self, chunk: list, bs: int) -> list[tuple]:
        items, imgs, given = zip(*chunk)
        box_lists = list(self._boxes_for(list(imgs), list(given)))
        units, owners = [], []
        for k, (it, img) in enumerate(zip(items, imgs)):
            name = it.path or it.name
            if not self.task.top_down:
                units.append(self.loader(img, name))
                owners.append(k)
                continue
            pad = None
            if box_lists[k] is None:   # the whole image is the person / face, not enlarged
                h, w = img.shape[:2]
                box_lists[k], pad = np.array([[0, 0, w, h, 1.0]], np.float32), 1.0
            for row in box_lists[k]:
                units.append(self.loader(img, name, row[:4], float(row[4]), pad=pad))
                owners.append(k)
        samples = []
        for s in range(0, len(units), bs):
            packed = [self._apply(u) for u in units[s:s + bs]]
            data = {'inputs': [p['inputs'] for p in packed], 'data_samples': [p['data_samples'] for p in packed]}
            samples += self.model.test_step(data)
        out = []
        for k, (it, img) in enumerate(zip(items, imgs)):
            mine = [smp for smp, o in zip(samples, owners) if o == k]
            res = {'name': it.path or it.name, 'ori_shape': tuple(img.shape[:2])}
            b = np.asarray(box_lists[k] if box_lists[k] is not None else [], np.float32).reshape(-1, 5)
            res.update(self.task.result(mine, b[:, :4], b[:, 4], seg_probs=self.seg_probs))
            out.append((it, img, res))
        return out

    def _apply(self, r: dict) -> dict:
        for t in self.steps:
            r = t(r)
        return r
