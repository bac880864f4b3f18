"""The Cityscapes label table: 34 label ids -> 19 train ids (255 = ignore), names, palette, weights."""
import numpy as np

from hrvision.errors import DataError

IGNORE_INDEX = 255

# (train id, name, label id, RGB colour) of the 19 evaluated classes.
CLASSES = (
    (0, 'road', 7, (128, 64, 128)),
    (1, 'sidewalk', 8, (244, 35, 232)),
    (2, 'building', 11, (70, 70, 70)),
    (3, 'wall', 12, (102, 102, 156)),
    (4, 'fence', 13, (190, 153, 153)),
    (5, 'pole', 17, (153, 153, 153)),
    (6, 'traffic light', 19, (250, 170, 30)),
    (7, 'traffic sign', 20, (220, 220, 0)),
    (8, 'vegetation', 21, (107, 142, 35)),
    (9, 'terrain', 22, (152, 251, 152)),
    (10, 'sky', 23, (70, 130, 180)),
    (11, 'person', 24, (220, 20, 60)),
    (12, 'rider', 25, (255, 0, 0)),
    (13, 'car', 26, (0, 0, 142)),
    (14, 'truck', 27, (0, 0, 70)),
    (15, 'bus', 28, (0, 60, 100)),
    (16, 'train', 31, (0, 80, 100)),
    (17, 'motorcycle', 32, (0, 0, 230)),
    (18, 'bicycle', 33, (119, 11, 32)),
)
CLASS_NAMES = tuple(c[1] for c in CLASSES)
PALETTE = np.array([c[3] for c in CLASSES], dtype=np.uint8)
NUM_LABEL_IDS = 34  # ids 0..33 (-1 'license plate' never appears in gtFine PNGs)

# Official class weights of the HRNet-Semantic-Segmentation Cityscapes loss.
CLASS_WEIGHTS = (0.8373, 0.918, 0.866, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786, 1.0023,
                 0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529, 1.0507)

ID_TO_TRAINID = np.full(256, IGNORE_INDEX, dtype=np.uint8)
for _tid, _name, _lid, _rgb in CLASSES:
    ID_TO_TRAINID[_lid] = _tid

# Inverse map for writing *_labelIds.png; the official inverse sends ignore (255) to 30 ('trailer').
TRAINID_TO_ID = np.full(256, 30, dtype=np.uint8)
for _tid, _name, _lid, _rgb in CLASSES:
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
VALID_TRAIN_IDS[[c[0] for c in CLASSES] + [IGNORE_INDEX]] = True
VALID_LABEL_IDS = np.zeros(256, bool)
VALID_LABEL_IDS[:NUM_LABEL_IDS] = True


def checked_train_ids(lab: np.ndarray, path: str) -> np.ndarray:
    """A ``*_labelTrainIds.png`` map -> uint8, refusing values other than 0-18 and 255.

    A 16-bit PNG must not wrap (256 would become 0, road) and a train id past the classes would end
    in an index error inside the loss, far from the file."""
    bad = values_outside(lab, VALID_TRAIN_IDS)
    if bad:
        raise DataError(f'{path}: train ids {bad} are outside 0-{len(CLASSES) - 1} and {IGNORE_INDEX} (ignore) '
                         f'({lab.dtype} PNG); expected a Cityscapes labelTrainIds map')
    return lab.astype(np.uint8)
