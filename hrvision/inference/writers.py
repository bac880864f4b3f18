"""``hrvision infer --out``: results in the formats other tools read.

* seg: ``labelIds/<stem>_labelIds.png`` (Cityscapes label ids when the model has the 19 Cityscapes classes,
  otherwise ``labels/<stem>_labels.png`` with the model's class indices) and ``color/<stem>_color.png``;
* pose: ``keypoints.json`` (COCO keypoint results: ``image_id``, ``category_id`` 1, 17 x (x, y, score),
  ``score`` as the COCO evaluation rescoring, plus ``file_name`` and ``bbox``);
* detection: ``detections.json`` (COCO results, ``category_id`` = label + 1, plus ``file_name``, ``label``);
* face: ``landmarks.json`` (per image, per face: box, landmarks in the model's order -- WFLW 98-point for a
  98-landmark model -- and scores);
* multi-task: ``results.json`` with every head, seg masks as above;
* ``--show-dir``: the pictures (see :mod:`.draw`).
JSON files are written once, at the end, complete or not at all.
"""
from __future__ import annotations

import json
import os.path as osp

import numpy as np

from ..atomic import atomic_write_text
from ..data.io import write_image
from .draw import draw


def image_id(name: str, index: int) -> int:
    """COCO style ``000000397133.jpg`` -> 397133; otherwise the running index."""
    stem = osp.splitext(osp.basename(name.partition('#')[0]))[0] if '#' not in name else ''

    return int(stem) if stem.isdigit() else index


def _xywh(b) -> list[float]:
    b = [float(v) for v in b]
    return [b[0], b[1], b[2] - b[0], b[3] - b[1]]


class ResultWriter:
    def __init__(self, out_dir: str | None, kind: str, show_dir: str | None = None, heads: dict | None = None,
                 num_classes: int | None = None, classes=None) -> None:
        self.out, self.kind, self.show, self.heads = out_dir, kind, show_dir, heads or {}
        self.num_classes, self.classes = num_classes, classes
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
            self._masks(r, stem)
            self.records.append(self._record(r, index))
        if self.show is None and not picture:
            return None
        pic = draw(image, r, self.kind, self.classes, heads=self.heads)
        if self.show:
            write_image(osp.join(self.show, f'{stem}.png'), pic)
        return pic

    def _masks(self, r: dict, stem: str) -> None:
        segs = [r] if self.kind == 'seg' else [r[n] for n, k in self.heads.items() if k == 'seg']
        from hrvision.tasks.segmentation.labels import PALETTE, train_ids_to_label_ids
        from hrvision.visualization import colorize
        for k, s in enumerate(segs):
            sfx = '' if len(segs) == 1 else f'_{k}'
            pred = s['sem_seg']
            if self.num_classes == 19:
                write_image(osp.join(self.out, 'labelIds', f'{stem}{sfx}_labelIds.png'), train_ids_to_label_ids(pred))
            else:
                write_image(osp.join(self.out, 'labels', f'{stem}{sfx}_labels.png'), pred.astype(np.uint8))
            write_image(osp.join(self.out, 'color', f'{stem}{sfx}_color.png'), colorize(pred % len(PALETTE), PALETTE))

    def _record(self, r: dict, index: int):
        iid, name = image_id(r['name'], index), r['name']
        if self.kind == 'det':
            return [dict(image_id=iid, file_name=name, category_id=int(c) + 1, label=int(c), bbox=_xywh(b),
                         score=float(s)) for b, c, s in zip(r['bboxes'], r['labels'], r['scores'])]
        if self.kind == 'pose':
            from hrvision.tasks.pose.metric import rescore
            return [dict(image_id=iid, file_name=name, category_id=1, bbox=_xywh(b),
                         keypoints=[float(v) for v in np.concatenate([k, s[:, None]], 1).reshape(-1)],
                         score=rescore(float(bs), s)) for b, bs, k, s in
                    zip(r['bboxes'], r['bbox_scores'], r['keypoints'], r['keypoint_scores'])]
        if self.kind == 'face':
            k = r['keypoints'].shape[1]
            return dict(image_id=iid, file_name=name, order='WFLW-98' if k == 98 else f'{k} landmarks',
                        faces=[dict(bbox=_xywh(b), landmarks=kp.tolist(), scores=s.tolist())
                               for b, kp, s in zip(r['bboxes'], r['keypoints'], r['keypoint_scores'])])
        if self.kind == 'multitask':
            heads = {n: {k: v.tolist() for k, v in r[n].items() if k != 'sem_seg'} for n in self.heads}
            return dict(image_id=iid, file_name=name, heads=heads)
        return None

    def finish(self) -> list[str]:
        """Write the JSON file of the run (seg has none: its PNGs are the output)."""
        if not self.out or self.kind == 'seg':
            return []
        name = {'det': 'detections.json', 'pose': 'keypoints.json', 'face': 'landmarks.json',
                'multitask': 'results.json'}[self.kind]
        recs = [x for rec in self.records for x in (rec if isinstance(rec, list) else [rec])]
        path = osp.join(self.out, name)
        atomic_write_text(path, json.dumps(recs) + '\n')
        return [path]
