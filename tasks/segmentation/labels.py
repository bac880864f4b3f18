"""The Cityscapes label table: 34 label ids -> 19 train ids (255 = ignore), class weights."""
import numpy as np

from hrvision.errors import DataError

IGNORE_INDEX = 255

# Label id of each train id 0..18: the Cityscapes format's own mapping (gtFine ``*_labelIds.png`` -> train ids).
# The classes' names and colours are the dataset's metadata, stated once in the Cityscapes preset
# (configs/_base_/datasets/cityscapes.py, ``dataset_info``); ``CLASS_NAMES`` / ``PALETTE`` below read it.
LABEL_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)
NUM_LABEL_IDS = 34  # ids 0..33 (-1 'license plate' never appears in gtFine PNGs)

# Official class weights of the HRNet-Semantic-Segmentation Cityscapes loss.
CLASS_WEIGHTS = (0.8373, 0.918, 0.866, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786, 1.0023,
                 0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529, 1.0507)

ID_TO_TRAINID = np.full(256, IGNORE_INDEX, dtype=np.uint8)
for _tid, _lid in enumerate(LABEL_IDS):
    ID_TO_TRAINID[_lid] = _tid

# Inverse map for writing *_labelIds.png; the official inverse sends ignore (255) to 30 ('trailer').
TRAINID_TO_ID = np.full(256, 30, dtype=np.uint8)
for _tid, _lid in enumerate(LABEL_IDS):
    TRAINID_TO_ID[_tid] = _lid


def label_ids_to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Map a labelIds image (0..33) to train ids; every other id becomes 255."""
    return ID_TO_TRAINID[label_ids.astype(np.int64).clip(0, 255)]


def train_ids_to_label_ids(train_ids: np.ndarray) -> np.ndarray:
    """Inverse map (for the official benchmark server); 255 -> 30 as in the official code."""
    return TRAINID_TO_ID[train_ids.astype(np.int64).clip(0, 255)]


def values_outside(lab: np.ndarray, valid: np.ndarray, limit: int = 10) -> list[int]:
    """Sorted label values of ``lab`` (uint8/uint16) not in ``valid`` (a bool table over 0..255); first ``limit``."""
    big = np.unique(lab[lab > 255]).tolist() if lab.dtype != np.uint8 and lab.max() > 255 else []
    counts = np.bincount(lab[lab <= 255].ravel() if big else lab.ravel(), minlength=256)[:256]
    return (np.flatnonzero((counts > 0) & ~valid).tolist() + big)[:limit]


VALID_TRAIN_IDS = np.zeros(256, bool)
VALID_TRAIN_IDS[list(range(len(LABEL_IDS))) + [IGNORE_INDEX]] = True
VALID_LABEL_IDS = np.zeros(256, bool)
VALID_LABEL_IDS[:NUM_LABEL_IDS] = True


def checked_train_ids(lab: np.ndarray, path: str) -> np.ndarray:
    """A ``*_labelTrainIds.png`` map -> uint8, refusing values other than 0-18 and 255.

    A 16-bit PNG must not wrap (256 would become 0, road) and a train id past the classes would end
    in an index error inside the loss, far from the file."""
    bad = values_outside(lab, VALID_TRAIN_IDS)
    if bad:
        raise DataError(f'{path}: train ids {bad} are outside 0-{len(LABEL_IDS) - 1} and {IGNORE_INDEX} (ignore) '
                         f'({lab.dtype} PNG); expected a Cityscapes labelTrainIds map')
    return lab.astype(np.uint8)


def __getattr__(name: str):
    """``CLASS_NAMES`` / ``PALETTE`` / ``CLASSES`` (older names), read from the Cityscapes preset on first use."""
    if name in ('CLASS_NAMES', 'PALETTE', 'CLASSES'):
        from .meta import cityscapes_meta
        meta = cityscapes_meta()
        if name == 'CLASS_NAMES':
            return meta['classes']
        if name == 'PALETTE':
            return np.asarray(meta['palette'], np.uint8)
        return tuple((i, n, lid, tuple(c)) for i, (n, lid, c) in enumerate(zip(meta['classes'], LABEL_IDS,
                                                                                 meta['palette'])))
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
