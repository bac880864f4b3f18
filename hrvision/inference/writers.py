"""``hrvision infer --out``: results in the formats other tools read.

* seg: ``labelIds/<stem>_labelIds.png`` (Cityscapes label ids when the model has the 19 Cityscapes classes,
  otherwise ``labels/<stem>_labels.png`` with the model's class indices) and ``color/<stem>_color.png``;
* pose: ``keypoints.json`` (COCO keypoint results: ``image_id``, ``category_id`` 1, 17 x (x, y, score),
  ``score`` as the COCO evaluation rescoring, plus ``file_name`` and ``bbox``);
* detection: ``detections.json`` (COCO results with the real ``category_id``, plus ``file_name`` and the 0-based
  ``label``). The label -> category id mapping (and the class names of the pictures) is the training data's,
  first found: the checkpoint's ``meta['dataset_meta']`` (``cat_ids``/``classes``, which mmengine saves in every
  checkpoint; kept by ``hrvision.init_model`` as ``model.dataset_meta``, and by ``export --format onnx`` in the
  file's metadata), the config's test/val dataset annotation file when it exists, COCO's 80 ids for an 80-class
  model; else ``category_id`` = label + 1 with a printed warning line (never silently). The task's
  ``categories`` decides (``tasks/detection/categories.py``);
* face: ``landmarks.json`` (per image, per face: box, landmarks in the model's order -- WFLW 98-point for a
  98-landmark model -- and scores);
* multi-task: ``results.json`` with every head (a detector head's ``category_ids`` as above), seg masks as above;
* ``--show-dir``: the pictures.
What each task writes and draws is its ``TaskInference`` (``tasks/<task>/inference.py``); this module names the
files and writes them. JSON files are written once, at the end, complete or not at all.
"""
from __future__ import annotations

import json
import os.path as osp

import numpy as np

from ..atomic import atomic_write_text
from ..data.io import write_image


def image_id(name: str, index: int) -> int:
    """COCO style ``000000397133.jpg`` -> 397133; otherwise the running index."""
    stem = '' if '#' in name else osp.splitext(osp.basename(name))[0]   # video frames: the running index
    return int(stem) if stem.isdigit() else index


def xywh(b) -> list[float]:
    """(x1, y1, x2, y2) -> COCO's [x, y, w, h] as floats."""
    b = [float(v) for v in b]
    return [b[0], b[1], b[2] - b[0], b[3] - b[1]]


class ResultWriter:
    """``task``: the run's ``TaskInference`` (``Inferencer.task``)."""

    def __init__(self, out_dir: str | None, task, show_dir: str | None = None, classes=None) -> None:
        self.out, self.task, self.show, self.classes = out_dir, task, show_dir, classes
        self.records: list = []
        self.stems: set = set()

    def stem(self, name: str, index: int) -> str:
        name, _, frame = name.partition('#')   # video frames: <video>#<frame number>
        stem = osp.basename(name)
        stem = stem[:-len('_leftImg8bit.png')] if stem.endswith('_leftImg8bit.png') else osp.splitext(stem)[0]
        stem = f'{stem}_{frame}' if frame else stem
        if stem in self.stems:   # two folders with the same file name
            stem = f'{index:06d}_{stem}'
        self.stems.add(stem)
        return stem

    def add(self, r: dict, image: np.ndarray, index: int, picture: bool = False) -> np.ndarray | None:
        """Write what belongs to one image; returns the drawn picture (``--show-dir`` or ``picture``)."""
        stem = self.stem(r['name'], index)
        if self.out:
            self.task.write_files(self.out, r, stem)
            self.records.append(self.task.record(r, image_id(r['name'], index), r['name']))
        if self.show is None and not picture:
            return None
        pic = self.task.draw(image, r, self.classes)
        if self.show:
            write_image(osp.join(self.show, f'{stem}.png'), pic)
        return pic

    def finish(self) -> list[str]:
        """Write the JSON file of the run (none when the task has none, e.g. seg: its PNGs are the output)."""
        if not self.out or not self.task.json_name:
            return []
        recs = [x for rec in self.records for x in (rec if isinstance(rec, list) else [rec])]
        path = osp.join(self.out, self.task.json_name)
        atomic_write_text(path, json.dumps(recs) + '\n')
        return [path]
