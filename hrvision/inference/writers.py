"""``hrvision infer --out``: results in the formats other tools read.

* seg: ``labelIds/<stem>_labelIds.png`` (Cityscapes label ids when the model has the 19 Cityscapes classes,
  otherwise ``labels/<stem>_labels.png`` with the model's class indices) and ``color/<stem>_color.png``;
* pose: ``keypoints.json`` (COCO keypoint results: ``image_id``, ``category_id`` 1, 17 x (x, y, score),
  ``score`` as the COCO evaluation rescoring, plus ``file_name`` and ``bbox``);
* detection: ``detections.json`` (COCO results with the real ``category_id``, plus ``file_name`` and the 0-based
  ``label``). The label -> category id mapping (and the class names of the pictures) is the training data's,
  first found: the user's (``--category-ids FILE``, ``category_ids`` in the config or ``Inferencer``), the
  checkpoint's ``meta['dataset_meta']`` (``cat_ids``/``classes``, which mmengine saves in every checkpoint; kept
  by ``hrvision.init_model`` as ``model.dataset_meta``, and by ``export --format onnx`` in the file's metadata),
  the config's test/val dataset annotation file when it exists. Never guessed: without any, ``detections.json``
  is refused before any image runs (pictures caption label indices). The task's ``categories`` decides
  (``tasks/detection/categories.py``);
* face: ``landmarks.json`` (per image, per face: box, landmarks in the model's order -- WFLW 98-point for a
  98-landmark model -- and scores);
* multi-task: ``results.json`` with every head (a detector head's ``category_ids`` as above), seg masks as above;
* ``--show-dir``: the pictures.
What each task writes and draws is its ``TaskInference`` (``tasks/<task>/inference.py``); this module names the
files and writes them. JSON files are written once, at the end, complete or not at all; an image's files are all
written or none (staged in a private folder, moved in without following symlinks; Ctrl-C waits for the image).
Only a video frame (``r['frame']``, set by ``Inferencer.video``) gets a frame suffix: ``#`` in a name is a character.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import re
import shutil
import tempfile

import numpy as np

from ..atomic import atomic_write_text, defer_sigint
from ..data.io import write_image


def image_id(name: str, index: int, frame: int | None = None) -> int:
    """COCO style ``000000397133.jpg`` -> 397133; otherwise (and for a video frame) the running index."""
    stem = '' if frame is not None else osp.splitext(osp.basename(name))[0]
    return int(stem) if stem.isdigit() else index


def xywh(b) -> list[float]:
    """(x1, y1, x2, y2) -> COCO's [x, y, w, h] as floats."""
    b = [float(v) for v in b]
    return [b[0], b[1], b[2] - b[0], b[3] - b[1]]


class ResultWriter:
    """``task``: the run's ``TaskInference`` (``Inferencer.task``)."""

    def __init__(self, out_dir: str | None, task, show_dir: str | None = None, classes=None) -> None:
        self.out, self.task, self.show, self.classes = out_dir, task, show_dir, classes
        if out_dir and task.json_name and hasattr(task, 'check_outputs'):
            task.check_outputs()   # e.g. detections.json without known category ids: refused before any image
        self.real = osp.realpath(out_dir) if out_dir else None
        self.records: list = []
        self.stems: set = set()
        self.count = 0   # images whose files are all written

    def stem(self, name: str, index: int, frame: int | None = None) -> str:
        """``frame``: the result is that frame of a video (``r['frame']``; its name is ``<video>#<frame>``);
        a ``#`` in a file name is just a character."""
        if frame is not None and name.endswith(f'#{frame:06d}'):
            name = name[:-len(f'#{frame:06d}')]
        stem = osp.basename(name)
        stem = stem[:-len('_leftImg8bit.png')] if stem.endswith('_leftImg8bit.png') else osp.splitext(stem)[0]
        stem = f'{stem}_{frame:06d}' if frame is not None else stem
        if stem in self.stems:   # two folders with the same file name
            stem = f'{index:06d}_{stem}'
        self.stems.add(stem)
        return stem

    def add(self, r: dict, image: np.ndarray, index: int, picture: bool = False) -> np.ndarray | None:
        """Write what belongs to one image, all its files or none (also on Ctrl-C, which waits for the image
        to be done, and on a failed write); returns the drawn picture (``--show-dir`` or ``picture``)."""
        with defer_sigint():
            frame = r.get('frame')
            stem, done = self.stem(r['name'], index, frame), []
            try:
                if self.out:
                    self._write_files(r, stem, done)
                    record = self.task.record(r, image_id(r['name'], index, frame), r['name'])
                pic = None
                if self.show is not None or picture:
                    pic = self.task.draw(image, r, self.classes)
                    if self.show:
                        write_image(osp.join(self.show, f'{stem}.png'), pic)
            except BaseException:
                for path in done:
                    if osp.isfile(path):
                        os.remove(path)
                raise
            if self.out:
                self.records.append(record)
            self.count += 1
        return pic

    def _write_files(self, r: dict, stem: str, done: list) -> None:
        """The task's files for one image, written into a private staging folder inside ``--out``, then moved
        into place without following symlinks (:func:`hrvision.outdir.move_in`); ``done`` gets each target."""
        from ..atomic import write_error
        from ..outdir import STAGE, move_in
        stage, target = tempfile.mkdtemp(prefix=STAGE, dir=self.real), None
        try:
            self.task.write_files(stage, r, stem)
            for d, _, names in os.walk(stage):
                for n in sorted(names):
                    target = osp.join(self.out, osp.relpath(osp.join(d, n), stage))
                    done.append(move_in(osp.join(d, n), self.real, osp.relpath(osp.join(d, n), stage)))
        except OSError as e:   # name the file of --out, not the staging copy
            if isinstance(e.filename, str) and e.filename.startswith(stage):
                target = re.sub(r'\.tmp\d+$', '', osp.join(self.out, osp.relpath(e.filename, stage)))
            if target is None:
                raise
            raise write_error(e, target, 'image' if target.endswith(('.png', '.jpg')) else 'file') from e
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def finish(self) -> list[str]:
        """Write the JSON file of the run (none when the task has none, e.g. seg: its PNGs are the output)."""
        if not self.out or not self.task.json_name:
            return []
        recs = [x for rec in self.records for x in (rec if isinstance(rec, list) else [rec])]
        path = osp.join(self.out, self.task.json_name)
        atomic_write_text(path, json.dumps(recs) + '\n')
        return [path]
