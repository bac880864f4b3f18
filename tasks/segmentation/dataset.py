"""Cityscapes in its real layout.

``leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png`` with ``gtFine/{split}/{city}/{stem}_gtFine_labelIds.png``
(34 ids mapped to 19 train ids, 255 ignored) or ``{stem}_gtFine_labelTrainIds.png`` when present.
"""
from __future__ import annotations

import glob
import os.path as osp

from mmengine.dataset import BaseDataset

from hrvision.data.pipeline import build_pipeline
from hrvision.errors import MissingFileError
from hrvision.registry import DATASETS

from .folder import SegMetaMixin
from .meta import CITYSCAPES_PRESET

IMG_SUFFIX = '_leftImg8bit.png'
LABEL_ID_SUFFIX = '_gtFine_labelIds.png'
TRAIN_ID_SUFFIX = '_gtFine_labelTrainIds.png'


@DATASETS.register_module()
class CityscapesDataset(SegMetaMixin, BaseDataset):
    """One entry per image: ``img_path``, ``seg_path``, ``seg_is_train_ids``.

    Args:
        data_root: the folder holding ``leftImg8bit/`` and ``gtFine/``.
        split: 'train', 'val' or 'test'.
        pipeline: transform configs.
        prefer_train_ids: use ``*_labelTrainIds.png`` when it exists next to the labelIds file.
    """

    # classes and palette: the Cityscapes preset (configs/_base_/datasets/cityscapes.py); a config's metainfo
    # overrides it
    METAINFO = dict(from_file=CITYSCAPES_PRESET)

    def __init__(self, data_root: str, split: str = 'train', pipeline=(), prefer_train_ids: bool = True,
                 **kwargs) -> None:
        self.split = split
        self.prefer_train_ids = prefer_train_ids
        super().__init__(data_root=data_root, pipeline=build_pipeline(pipeline), serialize_data=False, **kwargs)

    def load_data_list(self) -> list[dict]:
        img_dir = osp.join(self.data_root, 'leftImg8bit', self.split)
        ann_dir = osp.join(self.data_root, 'gtFine', self.split)
        if not osp.isdir(img_dir):
            raise MissingFileError(f'Cityscapes image folder not found: {img_dir} '
                                    f'(expected <root>/leftImg8bit/{self.split}/<city>/*{IMG_SUFFIX})')
        images = sorted(glob.glob(osp.join(img_dir, '*', '*' + IMG_SUFFIX)))
        if not images:
            raise MissingFileError(f'no *{IMG_SUFFIX} images in {img_dir}/<city>/: empty split folder')
        data = []
        for img in images:
            city = osp.basename(osp.dirname(img))
            stem = osp.basename(img)[:-len(IMG_SUFFIX)]
            train_ids = osp.join(ann_dir, city, stem + TRAIN_ID_SUFFIX)
            label_ids = osp.join(ann_dir, city, stem + LABEL_ID_SUFFIX)
            if self.prefer_train_ids and osp.isfile(train_ids):
                seg, is_train = train_ids, True
            elif osp.isfile(label_ids):
                seg, is_train = label_ids, False
            elif self.split == 'test':
                seg, is_train = None, False  # the official test split has no public labels
            else:
                raise MissingFileError(f'image {img} has no label file: expected {label_ids}')
            data.append(dict(img_path=img, seg_path=seg, seg_is_train_ids=is_train, img_id=stem, city=city))
        return data

