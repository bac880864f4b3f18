"""PoseTrack people as top-down training crops: the pose task's reader over a folder of per-video PoseTrack
JSONs (2018 or 2017 format; labelled frames only), with PoseTrack's joint names and flip pairs."""
from __future__ import annotations

import os.path as osp

from mmengine.logging import print_log

from hrvision.data.checks import require_samples
from hrvision.data.coco import build_coco, file_summary
from hrvision.registry import DATASETS
from hrvision.tasks.pose.dataset import CocoKeypointDataset

from .formats import read_dir, to_coco


@DATASETS.register_module()
class PoseTrackDataset(CocoKeypointDataset):
    """Args as :class:`~hrvision.tasks.pose.CocoKeypointDataset`, except ``ann_file``: the folder of per-video
    JSONs (``annotations/train/``); image ``file_name`` s are relative to ``data_root`` (``data_prefix`` '')."""

    METAINFO = dict(from_file='_base_/datasets/posetrack18.py')   # the preset (joints.py reads the same file)

    def load_data_list(self) -> list[dict]:
        data = to_coco(read_dir(self.ann_file))
        self._resolve_metainfo(data['categories'])   # preset < the files' joint names < the config's metainfo
        self.coco = build_coco(data)
        data = self._from_detections() if self.bbox_file else self._from_ground_truth()
        if self.skipped:
            print_log(f'{osp.basename(self.ann_file.rstrip("/"))}: skipped {dict(self.skipped)}', logger='current')
        return require_samples(data, self.ann_file, 'person annotations', self.skipped, file_summary(self.coco))
