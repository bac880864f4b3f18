"""PASCAL-Context in the converted PNG layout most users have (mmseg's ``tools/dataset_converters/pascal_context.py``
output; the official HRNet repo reads the raw ``trainval_merged.json`` through the Detail API instead)::

    <root>/JPEGImages/<id>.jpg
    <root>/SegmentationClassContext/<id>.png        index PNGs: 0 = background, 1..59 = the 59 classes
    <root>/ImageSets/SegmentationContext/train.txt   one <id> a line (val.txt: the 5105 validation images)

59 classes (the benchmark, ``num_classes=59``): ``reduce_zero_label`` (background ignored, stored k = class k-1),
metadata ``configs/_base_/datasets/pascal_context.py``. ``num_classes=60``: background is class 0, the stored ids as
they are (``pascal_context_60.py``). A stored id past the classes is refused naming the file (the folder reader's
check). ``hrvision data synth-pascal-context`` writes this layout.
"""
from __future__ import annotations

import os
import os.path as osp

import numpy as np

from hrvision.cli_args import synth_command
from hrvision.data.io import write_image
from hrvision.errors import ConfigError, MissingFileError
from hrvision.registry import DATASETS

from .folder import SegmentationFolderDataset

PRESET_59 = '_base_/datasets/pascal_context.py'
PRESET_60 = '_base_/datasets/pascal_context_60.py'
LIST_DIR = 'ImageSets/SegmentationContext'


def split_list(data_root: str, split: str, default: str, who: str) -> str:
    """The list file of ``split``: a name ('train', 'val') -> ``default`` (the layout's file); a path (``*.txt``) as
    it is; relative paths are relative to ``data_root`` and returned so (the folder dataset joins its ``split``
    with ``data_root``). A missing file is one line naming it and the layout."""
    rel = split if split.endswith('.txt') else default
    path = rel if osp.isabs(rel) else osp.join(data_root or '', rel)
    if not osp.isfile(path):
        raise MissingFileError(f'{who} split list not found: {path} (split={split!r}: expected <data_root>/{rel}, '
                               'one image id a line)')
    return rel


@DATASETS.register_module()
class PascalContextDataset(SegmentationFolderDataset):
    """PASCAL-Context, 59 or 60 classes (see the module docstring).

    Args:
        data_root: the folder holding ``JPEGImages/``, ``SegmentationClassContext/`` and ``ImageSets/``.
        split: 'train' / 'val' (``ImageSets/SegmentationContext/<split>.txt``) or a list file path.
        num_classes: 59 (background ignored, the benchmark) or 60 (background is class 0).
        data_prefix: ``dict(img='JPEGImages', seg='SegmentationClassContext')`` by default.
        Other arguments: :class:`~.folder.SegmentationFolderDataset`.
    """

    METAINFO = dict(from_file=PRESET_59)

    def __init__(self, data_root: str = '', split: str = 'train', num_classes: int = 59,
                 data_prefix: dict | None = None, img_suffix: str = '.jpg', seg_map_suffix: str = '.png',
                 metainfo=None, **kwargs) -> None:
        if num_classes not in (59, 60):
            raise ConfigError(f'PascalContextDataset num_classes must be 59 (background ignored) or 60 (background '
                              f'is class 0), got {num_classes!r}')
        self.num_classes = num_classes
        if metainfo is None and num_classes == 60:
            metainfo = dict(from_file=PRESET_60)
        kwargs.setdefault('reduce_zero_label', num_classes == 59)
        kwargs.setdefault('mask_format', 'index')
        prefix = dict(img='JPEGImages', seg='SegmentationClassContext', **(data_prefix or {}))
        lst = split_list(data_root, split, f'{LIST_DIR}/{split}.txt', 'PASCAL-Context')
        super().__init__(data_root=data_root, data_prefix=prefix, img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix, split=lst, metainfo=metainfo, **kwargs)
        classes = self.metainfo.get('classes') or ()
        if len(classes) != num_classes:   # the label shift follows num_classes, the names the metadata
            raise ConfigError(f'PascalContextDataset num_classes={num_classes} but its metainfo has {len(classes)} '
                              f'classes ({", ".join(map(str, classes[:3]))}, ...): the stored labels would be read '
                              f'shifted; give num_classes={len(classes)} or the metadata of {num_classes} classes')


# ---- synthetic data in the exact layout -------------------------------------------------------------------------
def render_classes(h: int, w: int, stored_ids, num_stored: int, rng: np.random.Generator,
                   background: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The folder writer's shapes (:func:`~.synth.render_shapes`) with shape k labelled ``stored_ids[k-1]`` and
    painted in that id's own look (fixed per id, so a model can learn it): (RGB uint8, stored-id uint8)."""
    from .synth import render_shapes
    _, shapes = render_shapes(h, w, len(stored_ids) + 1, rng)
    table = np.asarray([background, *stored_ids], np.uint8)
    lab = table[shapes]
    look = np.random.default_rng(11).integers(30, 240, (num_stored, 3)).astype(np.float32)
    img = look[lab] + rng.normal(0, 6, (h, w, 3))
    img *= np.linspace(0.9, 1.1, w)[None, :, None]
    return np.clip(img, 0, 255).astype(np.uint8), lab


def write_pascal_context(out: str, *, n_train: int = 8, n_val: int = 4, size: tuple[int, int] = (64, 80),
                         seed: int = 0) -> dict:
    """Synthetic PASCAL-Context in the converted layout (stored ids 0 = background, 1..59), a few classes an image."""
    rng = np.random.default_rng(seed)
    h, w = size
    lists = {}
    for split, n in (('train', n_train), ('val', n_val)):
        ids = []
        for i in range(n):
            stem = f'2008_{(0 if split == "train" else 500000) + i:06d}'
            img, lab = render_classes(h, w, rng.choice(np.arange(1, 60), 4, replace=False), 60, rng)
            write_image(osp.join(out, 'JPEGImages', stem + '.jpg'), img)
            write_image(osp.join(out, 'SegmentationClassContext', stem + '.png'), lab)
            ids.append(stem)
        lists[split] = ids
    from hrvision.atomic import atomic_write_text
    os.makedirs(osp.join(out, LIST_DIR), exist_ok=True)
    for split, ids in lists.items():
        atomic_write_text(osp.join(out, LIST_DIR, f'{split}.txt'), ''.join(f'{s}\n' for s in ids), 'split list')
    return dict(train=n_train, val=n_val, layout='JPEGImages/, SegmentationClassContext/, '
                                                 f'{LIST_DIR}/{{train,val}}.txt')


synth_command('synth-pascal-context', 'synthetic PASCAL-Context in the converted PNG layout (59/60 classes)',
              write_pascal_context, n_train=8, n_val=4, size=(64, 80), n_train_aliases=('--n',),
              what=f'JPEGImages/, SegmentationClassContext/, {LIST_DIR}/{{train,val}}.txt', size_help='HxW')
