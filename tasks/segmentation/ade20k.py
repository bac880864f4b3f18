"""ADE20K (the SceneParsing benchmark, ``ADEChallengeData2016.zip``), 150 classes::

    <root>/images/training/ADE_train_<n>.jpg          <root>/images/validation/ADE_val_<n>.jpg
    <root>/annotations/training/ADE_train_<n>.png     <root>/annotations/validation/ADE_val_<n>.png

Annotations are index PNGs: 0 = "other" (ignored: ``reduce_zero_label``), 1..150 = the classes of
``configs/_base_/datasets/ade20k.py`` (stored k = class k-1); 255 is ignored too. A value above 150 is refused in
one line naming the file (it would index past the 150 score channels). Every image of the split folder is read
(the benchmark has no list files). ``hrvision data synth-ade20k`` writes this layout.
"""
from __future__ import annotations

import os.path as osp

import numpy as np

from hrvision.checks import check_choice
from hrvision.cli_args import synth_command
from hrvision.data.io import write_image
from hrvision.registry import DATASETS

from .folder import SegmentationFolderDataset
from .pascal_context import render_classes

PRESET = '_base_/datasets/ade20k.py'
SPLITS = {'training': 'training', 'validation': 'validation', 'train': 'training', 'val': 'validation'}


@DATASETS.register_module()
class ADE20KDataset(SegmentationFolderDataset):
    """ADE20K, 150 classes (see the module docstring).

    Args:
        data_root: the ``ADEChallengeData2016`` folder.
        split: 'training' / 'validation' ('train' / 'val' mean the same).
        data_prefix: ``dict(img='images/<split>', seg='annotations/<split>')`` by default.
        Other arguments: :class:`~.folder.SegmentationFolderDataset`.
    """

    METAINFO = dict(from_file=PRESET)

    def __init__(self, data_root: str = '', split: str = 'training', data_prefix: dict | None = None,
                 img_suffix: str = '.jpg', seg_map_suffix: str = '.png', **kwargs) -> None:
        check_choice('ADE20KDataset split', split, tuple(SPLITS))
        folder = SPLITS[split]
        prefix = dict(img=f'images/{folder}', seg=f'annotations/{folder}', **(data_prefix or {}))
        kwargs.setdefault('reduce_zero_label', True)
        kwargs.setdefault('mask_format', 'index')
        super().__init__(data_root=data_root, data_prefix=prefix, img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix, **kwargs)


def write_ade20k(out: str, *, n_train: int = 8, n_val: int = 4, size: tuple[int, int] = (64, 80),
                 seed: int = 0) -> dict:
    """Synthetic ADE20K in the ``ADEChallengeData2016`` layout (stored 0 = other, 1..150), a few classes an image."""
    rng = np.random.default_rng(seed)
    h, w = size
    for split, tag, n in (('training', 'train', n_train), ('validation', 'val', n_val)):
        for i in range(n):
            stem = f'ADE_{tag}_{i + 1:08d}'
            img, lab = render_classes(h, w, rng.choice(np.arange(1, 151), 4, replace=False), 151, rng)
            write_image(osp.join(out, 'images', split, stem + '.jpg'), img)
            write_image(osp.join(out, 'annotations', split, stem + '.png'), lab)
    return dict(train=n_train, val=n_val, layout='images/{training,validation}/, annotations/{training,validation}/')


synth_command('synth-ade20k', 'synthetic ADE20K in the ADEChallengeData2016 layout (150 classes)', write_ade20k,
              n_train=8, n_val=4, size=(64, 80), n_train_aliases=('--n',),
              what='images/{training,validation}/, annotations/{training,validation}/', size_help='HxW')
