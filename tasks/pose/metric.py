"""COCO keypoint AP/AR with the official protocol (SPEC §4.1).

Per person: ``score = box_score * mean(joint maxima > 0.2)`` (0 when none passes); per image OKS-NMS at
0.9 (the dataset's sigmas, ``dataset_meta['sigmas']``; ``area = prod(scale * 200)``); results written as COCO
results JSON in the work dir; scored by pycocotools ``COCOeval(iouType='keypoints')`` with
``params.kpt_oks_sigmas`` = the same sigmas, on the images the evaluated dataset holds, its prints silenced.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from collections import defaultdict
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hrvision.data.coco import keypoint_category, load_coco
from hrvision.engine.metric_files import DatasetFileMetric, check_evaluated_images, metric_ann_file
from hrvision.errors import ConfigError
from hrvision.metrics import default_out_dir, flatten, image_result, oks_nms, person, rescore, score_keypoints
from hrvision.metrics.oks import check_sigmas
from hrvision.registry import METRICS

STAT_NAMES = ('AP', 'AP50', 'AP75', 'APm', 'APl', 'AR', 'AR50', 'AR75', 'ARm', 'ARl')


@METRICS.register_module()
class CocoKeypointMetric(DatasetFileMetric, BaseMetric):
    """Args:
        ann_file: the COCO keypoint ground truth of the evaluated split; default (None) the evaluated dataset's
            (``dataset_meta[dataset_file_key]``). Another file than the dataset's is refused, and so is an evaluated
            image the file does not hold (:mod:`hrvision.engine.metric_files`): scored against other ground truth,
            perfect predictions would lose AP silently.
        out_dir: where ``keypoints_results.json`` goes (default: the Runner's work dir).
        vis_thr: joint maxima above this count in the rescoring (official ``IN_VIS_THRE`` 0.2).
        oks_thr: OKS-NMS threshold (official 0.9); ``None`` disables NMS.
        num_vis: write skeleton overlays of this many images (PNG) into ``out_dir/vis``.

    OKS (NMS and COCOeval) uses ``dataset_meta['sigmas']``, one per keypoint. Without keypoint metadata at all
    (the metric used on its own) COCO's preset applies, and only to a 17-keypoint file.
    """

    default_prefix = 'coco'

    def __init__(self, ann_file: str | None = None, out_dir: str | None = None, vis_thr: float = 0.2,
                 oks_thr: float | None = 0.9, num_vis: int = 0, collect_device: str = 'cpu', prefix: str | None = None,
                 format_only: bool = False) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ann_file = ann_file
        self.format_only = format_only   # write keypoints_results.json only (COCO test-dev: no annotations)
        self.out_dir = out_dir
        self.vis_thr = vis_thr
        self.oks_thr = oks_thr
        self.num_vis = num_vis

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            if 'pred_keypoints' not in s:
                raise KeyError('CocoKeypointMetric needs pred_keypoints in the data samples (model predict mode)')
            self.results.append(image_result(s, [person(s['pred_keypoints'], s['keypoint_scores'], s['area'],
                                                        s.get('bbox_score', 1.0))]))

    def sigmas(self, gt=None, categories=None) -> np.ndarray:
        """The dataset's OKS sigmas (``dataset_meta['sigmas']``); without any keypoint metadata, COCO's preset,
        refused for a file whose keypoint category lists another number of keypoints (``gt``, or the file's
        ``categories`` before its annotations are checked)."""
        meta = self.dataset_meta or {}
        name = type(self).__name__
        if meta.get('sigmas') is not None:
            return check_sigmas(meta['sigmas'], None, f'{name} dataset_meta')
        if meta.get('keypoint_names'):
            raise ConfigError(f'{name}: the dataset metainfo has {len(meta["keypoint_names"])} keypoint_names but '
                              f'no sigmas; OKS needs one per keypoint (metainfo=dict(sigmas=[...]))')
        sigmas = coco_preset_sigmas()
        if gt is not None or categories is not None:
            categories = gt.dataset['categories'] if categories is None else categories
            cat = keypoint_category(categories)
            names = next((c.get('keypoints') for c in categories if c['id'] == cat), None)
            if names and len(names) != len(sigmas):
                raise ConfigError(f'{name}: no sigmas in the dataset metainfo, and COCO\'s {len(sigmas)} do not fit '
                                  f'the {len(names)} keypoints of category {cat}; state metainfo.sigmas')
        return sigmas

    def category_id(self) -> int:
        """The keypoint category results are tagged with: ``dataset_meta['category_id']`` (the file's keypoint
        category); without any keypoint metadata COCO's person (the preset), never a guess otherwise."""
        meta = self.dataset_meta or {}
        if meta.get('category_id') is not None:
            return int(meta['category_id'])
        if meta.get('keypoint_names'):
            raise ConfigError(f'{type(self).__name__}: the dataset metainfo has no category_id; the results need '
                              'the keypoint category id of the file (metainfo=dict(category_id=...))')
        return int(coco_preset()['category_id'])

    def results_to_coco(self, results: Sequence[dict], sigmas=None, category_id: int | None = None) -> list[dict]:
        """Rescoring + per-image OKS-NMS (``sigmas``: the dataset's) -> COCO results entries (plain lists)."""
        by_img: dict[int, list[dict]] = defaultdict(list)
        for r in flatten(results):
            by_img[r['img_id']].append(dict(r, score=rescore(r['box_score'], r['keypoints'][:, 2], self.vis_thr)))
        category_id = self.category_id() if category_id is None else int(category_id)
        out = []
        for img_id in sorted(by_img):
            people = by_img[img_id]
            if self.oks_thr is not None and len(people) > 1:
                keep = oks_nms(np.stack([p['keypoints'] for p in people]), np.array([p['score'] for p in people]),
                               np.array([p['area'] for p in people]), self.oks_thr,
                               self.sigmas() if sigmas is None else sigmas)
                people = [people[i] for i in keep] if keep else people
            out += [dict(image_id=int(img_id), category_id=category_id,
                         keypoints=[float(v) for v in p['keypoints'].reshape(-1)], score=float(p['score']))
                    for p in people]
        return out

    def compute_metrics(self, results: list) -> dict[str, float]:
        out_dir = self.out_dir or default_out_dir()
        os.makedirs(out_dir, exist_ok=True)
        gt = None
        if not self.format_only:
            ann_file = metric_ann_file(type(self).__name__, self.ann_file, self.dataset_meta, self.dataset_file_key)
            # the file's categories first: a 12-keypoint file read by a metric without metadata is refused for
            # its sigmas, not blamed for having other than COCO's 51 numbers per person
            gt = load_coco(ann_file, keypoints=lambda cats: len(self.sigmas(categories=cats)))
            sigmas = self.sigmas(gt)
            check_evaluated_images(ann_file, gt.imgs, [r['img_id'] for r in results])
            category = keypoint_category(gt.dataset['categories'], ann_file)
        else:   # test-dev: no ground truth; the dataset's keypoint category
            sigmas, category = self.sigmas(), self.category_id()
        entries = self.results_to_coco(results, sigmas, category)
        res_file = osp.join(out_dir, 'keypoints_results.json')
        with open(res_file, 'w', encoding='utf-8') as f:
            json.dump(entries, f)
        logger = MMLogger.get_current_instance()
        logger.info(f'keypoint results ({len(entries)} people) written to {res_file}')
        if self.format_only:
            return {}
        if not entries:
            return {name: 0.0 for name in STAT_NAMES}
        # a subset of the file (mmengine's ``indices``) is scored on the images it holds, not the whole file
        stats, text = score_keypoints(gt, entries, sigmas, (self.dataset_meta or {}).get('img_ids'), category)
        logger.info('\n' + text)
        if self.num_vis:
            from .vis import save_overlays
            save_overlays(flatten(results), gt, osp.join(out_dir, 'vis'), self.num_vis,
                          skeleton=(self.dataset_meta or {}).get('skeleton'))
        return {name: float(v) for name, v in zip(STAT_NAMES, stats)}


def coco_preset() -> dict:
    """The pose dataset's preset metadata, parsed (COCO: the one place its sigmas and category are stated)."""
    from .dataset import CocoKeypointDataset
    meta = dict(CocoKeypointDataset.METAINFO)
    if 'from_file' in meta:
        from hrvision.data.metainfo import parse_metainfo
        meta = parse_metainfo(meta, 'CocoKeypointDataset.METAINFO')
    return meta


def coco_preset_sigmas() -> np.ndarray:
    """COCO's 17 OKS sigmas, from the pose dataset's preset metadata."""
    return np.asarray(coco_preset()['sigmas'], np.float64)


# what the INT8 / BF16 export compares (hrvision.quantize): COCO AP on a 0-1 scale, 0.5 point by default
from hrvision.quantize import register_deploy_metric  # noqa: E402
register_deploy_metric('AP', higher_better=True, max_drop=0.005)
