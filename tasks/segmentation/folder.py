"""Any segmentation dataset as two folders: images and masks with the same names (the generic format).

Layout (``data_prefix=dict(img='images', seg='masks')``, the folders relative to ``data_root``: the same key
word as every dataset's image folder, ``seg`` for the masks)::

    images/<name><img_suffix>        e.g. images/train/0001.jpg (sub-folders allowed)
    masks/<name><seg_map_suffix>     e.g. masks/train/0001.png

The images are every ``*<img_suffix>`` file under ``data_prefix.img`` (sorted), or the names listed in a ``split``
file (one per line, relative to ``data_prefix.img``, without the suffix). Masks are either class-index PNGs (8/16-bit
grey, or palette PNGs as VOC writes them: the pixel value is the class) or RGB colour masks mapped through
``metainfo.palette`` (a colour not in the palette is an error naming the file and the colour). Class names and
palette are the dataset's metadata (``metainfo=dict(classes=..., palette=...)`` or ``from_file=`` a JSON /
python file; see :mod:`hrvision.data.metainfo`).

Internally the ignore label is 255 whatever the dataset's ``ignore_index``: the reader maps the stored value
to 255 (``reduce_zero_label``: stored 0 is ignored and stored k is class k-1), so padding, the loss and the metric
need no per-dataset setting; a stored class id above ``len(classes) - 1`` is refused naming the file.
"""
from __future__ import annotations

import os
import os.path as osp
import struct

import cv2
import numpy as np
from mmengine.dataset import BaseDataset

from hrvision.checks import check_choice
from hrvision.data.checks import check_dataset_args
from hrvision.data.io import _check_label_content, _read, read_text
from hrvision.data.pipeline import build_pipeline
from hrvision.errors import ConfigError, DataError, EmptyDatasetError, MissingFileError
from hrvision.registry import DATASETS, TRANSFORMS

from .labels import IGNORE_INDEX
from .transforms import check_label_size, read_image_into
from .meta import colour_table, generated_palette

MASK_FORMATS = ('auto', 'index', 'color')
DEFAULT_PREFIX = dict(img='images', seg='masks')   # data_prefix keys not given take these


class SegMetaMixin:
    """A segmentation dataset's metadata: its class preset (``METAINFO``) < the config's ``metainfo``, parsed once
    by :func:`hrvision.data.metainfo.merge_metainfo` (mmengine's own merge would read a ``from_file`` string as a
    list of lines)."""

    METAINFO: dict = {}

    @classmethod
    def _load_metainfo(cls, metainfo=None) -> dict:
        from hrvision.data.metainfo import merge_metainfo
        cfg = dict(metainfo) if metainfo else None
        return merge_metainfo(dict(cls.METAINFO) or None, None, cfg, config_source=f'{cls.__name__} metainfo')

    def get_data_info(self, idx: int) -> dict:
        """The entry, with the metadata's ``flip_class_indices`` when some classes are sided (LIP's left-arm /
        right-arm): the flip augmentation swaps those labels and the flip test their score channels."""
        info = super().get_data_info(idx)
        perm = self._metainfo.get('flip_class_indices')
        if perm is not None:
            info['flip_class_indices'] = list(perm)
        return info


def _png_colour_type(path: str) -> int | None:
    """The PNG header's colour type (3 = palette indices), None for other files."""
    try:
        with open(path, 'rb') as f:
            head = f.read(26)
    except OSError:
        return None
    if len(head) < 26 or not head.startswith(b'\x89PNG\r\n\x1a\n') or head[12:16] != b'IHDR':
        return None
    return struct.unpack('B', head[25:26])[0]


class SegMaskReader:
    """Reads one mask file into (H, W) uint8 class ids, 255 = ignore; refuses what would train wrong.

    Args:
        classes: the class names (their count bounds the ids).
        palette: one RGB colour per class (colour masks, pictures).
        ignore_index: the stored value that means "no label" (default 255).
        reduce_zero_label: stored 0 is ignored, stored k is class k-1 (datasets whose 0 is "other").
        mask_format: 'auto' (one channel or a palette PNG = class indices, RGB = colours), 'index' or 'color'.
        ignore_color: in colour masks, the colour that means "no label" (none by default).
    """

    def __init__(self, classes, palette, ignore_index: int = IGNORE_INDEX, reduce_zero_label: bool = False,
                 mask_format: str = 'auto', ignore_color=None) -> None:
        self.num_classes = len(classes)
        self.palette = [tuple(int(v) for v in c) for c in palette]
        self.ignore_index = int(ignore_index)
        self.reduce_zero_label = bool(reduce_zero_label)
        self.mask_format = mask_format
        self.ignore_color = None if ignore_color is None else tuple(int(v) for v in ignore_color)
        self._keys, self._cls = colour_table(self.palette)
        offset = int(self.reduce_zero_label)
        size = 65536
        lut = np.full(size, -1, np.int32)
        lut[offset:offset + self.num_classes] = np.arange(self.num_classes)
        lut[self.ignore_index] = IGNORE_INDEX
        if self.reduce_zero_label:
            lut[0] = IGNORE_INDEX
        self._lut = lut

    def _describe_ids(self) -> str:
        first = int(self.reduce_zero_label)
        extra = f'ignore_index {self.ignore_index}' + (', 0 (reduce_zero_label)' if self.reduce_zero_label else '')
        return f'expected {first}-{first + self.num_classes - 1} ({self.num_classes} classes) or {extra}'

    def __call__(self, path: str) -> np.ndarray:
        _check_label_content(path)
        if self.mask_format != 'color' and _png_colour_type(path) == 3:   # palette PNG: the indices are the labels
            from PIL import Image
            _read(path, 'label map', cv2.IMREAD_UNCHANGED)   # completeness and size checks, errors naming the file
            with Image.open(path) as im:
                arr = np.asarray(im)
        else:
            arr = _read(path, 'label map', cv2.IMREAD_UNCHANGED)
        if arr.ndim == 2:
            if self.mask_format == 'color':
                raise DataError(f"{path}: a single-channel mask, but mask_format='color' expects RGB colour masks "
                                "(set mask_format='index' for class-index PNGs)")
            return self._from_index(arr, path)
        if arr.ndim == 3 and arr.shape[2] in (3, 4):
            if self.mask_format == 'index':
                raise DataError(f"{path}: an RGB mask, but mask_format='index' expects single-channel class-index "
                                "PNGs (set mask_format='color' to map colours through metainfo.palette)")
            return self._from_colour(np.ascontiguousarray(arr[..., 2::-1]), path)
        raise DataError(f'label map {path} has shape {arr.shape}; expected an HxW class-index PNG or an HxWx3 '
                        'colour PNG')

    def _from_index(self, arr: np.ndarray, path: str) -> np.ndarray:
        if arr.dtype not in (np.uint8, np.uint16):
            raise DataError(f'label map {path} has {arr.dtype} pixels; expected an 8- or 16-bit PNG')
        mapped = self._lut[arr]
        bad = mapped < 0
        if bad.any():
            ids = np.unique(arr[bad])[:10].tolist()
            raise DataError(f'{path}: class ids {ids} in the mask are outside the classes ({self._describe_ids()}); '
                            'metainfo.classes names every class in index order')
        return mapped.astype(np.uint8)

    def _from_colour(self, rgb: np.ndarray, path: str) -> np.ndarray:
        keys = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
        if len(set(self.palette)) != len(self.palette):
            dup = next(c for c in self.palette if self.palette.count(c) > 1)
            raise ConfigError(f'metainfo.palette gives two classes the colour {list(dup)}: colour masks ({path}) '
                              'need one colour per class')
        pos = np.searchsorted(self._keys, keys).clip(0, len(self._keys) - 1)
        hit = self._keys[pos] == keys
        out = np.where(hit, self._cls[pos], IGNORE_INDEX).astype(np.uint8)
        miss = ~hit
        if self.ignore_color is not None:
            ic = (self.ignore_color[0] << 16) | (self.ignore_color[1] << 8) | self.ignore_color[2]
            miss &= keys != ic
        if miss.any():
            ys, xs = np.nonzero(miss)
            colour = tuple(int(v) for v in rgb[ys[0], xs[0]])
            others = len(np.unique(keys[miss]))
            raise DataError(f'{path}: colour {list(colour)} at pixel (x={xs[0]}, y={ys[0]}) is not in '
                            f'metainfo.palette ({int(miss.sum())} pixels in {others} unknown colour'
                            f'{"s" if others > 1 else ""}; palette: {len(self.palette)} colours'
                            f'{", ignore_color " + str(list(self.ignore_color)) if self.ignore_color else ""})')
        return out


def _names_from_split(path: str, img_dir: str, img_suffix: str, seg_map_suffix: str = '.png') -> list:
    """The split file's entries: a name (relative to ``data_prefix.img``, with or without the suffix), or an
    ``<image> <label>`` pair (the official HRNet repo's list files, e.g. ``train_images/1_2.jpg
    train_segmentations/1_2.png``: the image relative to ``data_prefix.img``, the label to ``data_prefix.seg``),
    given as a (name, image file, label file) tuple."""
    names = []
    for n, line in enumerate(read_text(path, 'split file').splitlines(), 1):
        name = line.strip()
        if not name or name.startswith('#'):
            continue
        fields = name.split()
        if len(fields) == 2 and fields[0].endswith(img_suffix) and fields[1].endswith(seg_map_suffix):
            if not osp.isfile(osp.join(img_dir, fields[0])):
                raise MissingFileError(f'{path} line {n}: image {osp.join(img_dir, fields[0])} not found (an image / '
                                       f'label pair: the image relative to data_prefix.img {img_dir}, the label to '
                                       'data_prefix.seg)')
            names.append((fields[0][:-len(img_suffix)], fields[0], fields[1]))
            continue
        if name.endswith(img_suffix):
            name = name[:-len(img_suffix)]
        if not osp.isfile(osp.join(img_dir, name + img_suffix)):
            raise MissingFileError(f'{path} line {n}: image {osp.join(img_dir, name + img_suffix)} not found '
                                   f'(names are relative to data_prefix.img {img_dir}, with or without {img_suffix!r})')
        names.append(name)
    return names


@DATASETS.register_module()
class SegmentationFolderDataset(SegMetaMixin, BaseDataset):
    """Images and masks in two folders (see the module docstring); one entry per image.

    Args:
        data_root: the folder ``data_prefix`` / ``split`` are relative to (absolute paths are kept).
        data_prefix: ``dict(img='images', seg='masks')``: the image and mask folders (a key not given keeps its
            default); ``seg=None``: images only (prediction). Any other key is refused with a did-you-mean.
        img_suffix / seg_map_suffix: what follows the shared name (``'.jpg'`` / ``'.png'``; ``'_mask.png'`` works).
        split: a text file listing the names to use (one per line, relative to ``data_prefix.img``), or image /
            label path pairs (``<image> <label>`` a line, relative to ``data_prefix.img`` / ``.seg``: the official
            HRNet repo's lists); None: every image.
        ignore_index / reduce_zero_label / mask_format / ignore_color: see :class:`SegMaskReader`
            (``ignore_index`` defaults to ``metainfo.ignore_index``, else 255).
        metainfo: ``dict(classes=(...), palette=[[r, g, b], ...])`` or ``dict(from_file='meta.json')``; a missing
            palette is generated (index masks only).
    """

    METAINFO: dict = {}

    def __init__(self, data_root: str = '', data_prefix: dict | None = None,
                 img_suffix: str = '.jpg', seg_map_suffix: str = '.png', split: str | None = None,
                 ignore_index: int | None = None, reduce_zero_label: bool = False, mask_format: str = 'auto',
                 ignore_color=None, pipeline=(), metainfo=None, **kwargs) -> None:
        check_dataset_args(type(self), dict(kwargs, data_prefix=data_prefix), prefix_keys=('img', 'seg'),
                           optional=('seg',))
        prefix = dict(DEFAULT_PREFIX, **(data_prefix or {}))
        self.with_masks = prefix['seg'] is not None
        if not self.with_masks:
            del prefix['seg']   # mmengine joins every data_prefix value with data_root: strings only
        check_choice('SegmentationFolderDataset mask_format', mask_format, MASK_FORMATS)
        if ignore_color is not None and (len(ignore_color) != 3 or
                                         not all(isinstance(v, int) and 0 <= v <= 255 for v in ignore_color)):
            raise ConfigError(f'SegmentationFolderDataset ignore_color must be [r, g, b] integers 0-255, got {ignore_color!r}')
        self.split = split
        self.img_suffix, self.seg_map_suffix = img_suffix, seg_map_suffix
        self._opts = dict(ignore_index=ignore_index, reduce_zero_label=bool(reduce_zero_label),
                          mask_format=mask_format, ignore_color=ignore_color)
        self.mask_reader: SegMaskReader | None = None
        from hrvision.data.metainfo import rebase_from_file   # the data's own metadata file: data_root first
        metainfo = rebase_from_file(metainfo, data_root, 'SegmentationFolderDataset metainfo')
        super().__init__(data_root=data_root, data_prefix=prefix, metainfo=metainfo,
                         pipeline=build_pipeline(pipeline), serialize_data=False, **kwargs)

    def _path(self, p: str | None) -> str | None:
        return p if p is None or osp.isabs(p) else osp.join(self.data_root or '', p)

    def _build_reader(self) -> SegMaskReader:
        meta, src = self._metainfo, 'SegmentationFolderDataset metainfo'
        classes = meta.get('classes')
        if not classes:
            raise ConfigError(f"{src}: classes is required (the class names in label-index order), e.g. "
                              "metainfo=dict(classes=('background', 'road', ...), palette=[[0, 0, 0], ...]) or "
                              "metainfo=dict(from_file='meta.json')")
        n = len(classes)
        if n > IGNORE_INDEX:
            raise ConfigError(f'{src}: {n} classes; at most {IGNORE_INDEX} (label {IGNORE_INDEX} is ignore)')
        o = self._opts
        ignore = o['ignore_index'] if o['ignore_index'] is not None else meta.get('ignore_index', IGNORE_INDEX)
        if isinstance(ignore, bool) or not isinstance(ignore, int) or not 0 <= ignore <= 65535:
            raise ConfigError(f'SegmentationFolderDataset ignore_index must be an integer 0-65535, got {ignore!r}')
        first = int(o['reduce_zero_label'])
        if first <= ignore < first + n:
            raise ConfigError(f'SegmentationFolderDataset ignore_index={ignore} is a class id (stored ids are {first}-'
                              f'{first + n - 1} for {n} classes{" with reduce_zero_label" if first else ""})')
        if o['reduce_zero_label'] and o['mask_format'] == 'color':
            raise ConfigError("SegmentationFolderDataset reduce_zero_label applies to class-index masks, not to "
                              "mask_format='color' (colours map to classes through metainfo.palette)")
        if meta.get('palette') is None:
            if o['mask_format'] == 'color':
                raise ConfigError(f"{src}: mask_format='color' needs metainfo.palette (one [r, g, b] per class)")
            self._metainfo['palette'] = generated_palette(n)   # pictures; saved with the checkpoint's metadata
        if o['ignore_color'] is not None and list(o['ignore_color']) in [list(c) for c in self._metainfo['palette']]:
            raise ConfigError(f'SegmentationFolderDataset ignore_color {list(o["ignore_color"])} is also a class colour '
                              'in metainfo.palette')
        return SegMaskReader(classes, self._metainfo['palette'], ignore, o['reduce_zero_label'], o['mask_format'],
                             o['ignore_color'])

    def load_data_list(self) -> list[dict]:
        self.mask_reader = self._build_reader()
        img_dir, ann_dir = self.data_prefix['img'], self.data_prefix.get('seg')   # joined with data_root by mmengine
        if not osp.isdir(img_dir):
            raise MissingFileError(f'SegmentationFolderDataset data_prefix.img folder not found: {img_dir} '
                                   f'(data_root {self.data_root!r})')
        if ann_dir is not None and not osp.isdir(ann_dir):
            raise MissingFileError(f'SegmentationFolderDataset data_prefix.seg folder not found: {ann_dir} (data_root '
                                   f'{self.data_root!r}; data_prefix=dict(seg=None) reads images without masks)')
        if self.split:
            names = _names_from_split(self._path(self.split), img_dir, self.img_suffix, self.seg_map_suffix)
        else:
            names = sorted(osp.relpath(osp.join(d, f), img_dir)[:-len(self.img_suffix)]
                           for d, _, files in os.walk(img_dir, followlinks=True) for f in files
                           if f.endswith(self.img_suffix) and len(f) > len(self.img_suffix))
        if not names:
            raise EmptyDatasetError(f'SegmentationFolderDataset: no *{self.img_suffix} images in {img_dir}'
                                    f'{" listed in " + self.split if self.split else ""} (img_suffix '
                                    f'{self.img_suffix!r})')
        data = []
        for name in names:
            name, img_rel, seg_rel = name if isinstance(name, tuple) else \
                (name, name + self.img_suffix, name + self.seg_map_suffix)
            img = osp.join(img_dir, img_rel)
            seg = None
            if ann_dir is not None:
                seg = osp.join(ann_dir, seg_rel)
                if not osp.isfile(seg):
                    raise MissingFileError(f'image {img} has no mask: expected {seg} (seg_map_suffix '
                                           f'{self.seg_map_suffix!r})')
            data.append(dict(img_path=img, seg_path=seg, img_id=name, seg_reader=self.mask_reader))
        return data

    def read_mask(self, idx: int) -> np.ndarray | None:
        """The mask of entry ``idx`` as training reads it (class ids, 255 = ignore); None without masks."""
        path = self.get_data_info(idx)['seg_path']
        return None if path is None else self.mask_reader(path)


@TRANSFORMS.register_module()
class LoadSegmentationFolder:
    """Read the RGB image and its mask through the dataset's :class:`SegMaskReader` (class ids, 255 = ignore);
    a mask whose size differs from its image is an error naming both files."""

    def __call__(self, results: dict) -> dict:
        img, seg_path = read_image_into(results)
        if seg_path is None:
            return results
        reader = results.get('seg_reader')
        if reader is None:
            raise ConfigError('LoadSegmentationFolder reads the masks of a SegmentationFolderDataset (its entries carry the mask '
                              'reader); for Cityscapes use LoadCityscapes')
        seg = reader(seg_path)
        check_label_size('mask', seg, seg_path, img, results['img_path'])
        results['gt_seg'] = seg
        return results
