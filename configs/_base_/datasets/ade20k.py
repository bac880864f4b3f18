# ADE20K (SceneParsing / ADEChallengeData2016), 150 classes:
#   <root>/images/{training,validation}/ADE_*.jpg
#   <root>/annotations/{training,validation}/ADE_*.png   index PNGs: 0 = other (ignored: reduce_zero_label),
#                                                          1..150 = the classes below; above 150 is refused
# Class names: the benchmark's objectInfo150 short names. Palette: the PASCAL VOC colour map of the stored
# ids 1..150 (pictures only).
dataset_info = dict(
    classes=(
             'wall', 'building', 'sky', 'floor', 'tree', 'ceiling',
             'road', 'bed', 'windowpane', 'grass', 'cabinet', 'sidewalk',
             'person', 'earth', 'door', 'table', 'mountain', 'plant',
             'curtain', 'chair', 'car', 'water', 'painting', 'sofa',
             'shelf', 'house', 'sea', 'mirror', 'rug', 'field',
             'armchair', 'seat', 'fence', 'desk', 'rock', 'wardrobe',
             'lamp', 'bathtub', 'railing', 'cushion', 'base', 'box',
             'column', 'signboard', 'chest of drawers', 'counter', 'sand', 'sink',
             'skyscraper', 'fireplace', 'refrigerator', 'grandstand', 'path', 'stairs',
             'runway', 'case', 'pool table', 'pillow', 'screen door', 'stairway',
             'river', 'bridge', 'bookcase', 'blind', 'coffee table', 'toilet',
             'flower', 'book', 'hill', 'bench', 'countertop', 'stove',
             'palm', 'kitchen island', 'computer', 'swivel chair', 'boat', 'bar',
             'arcade machine', 'hovel', 'bus', 'towel', 'light', 'truck',
             'tower', 'chandelier', 'awning', 'streetlight', 'booth', 'television receiver',
             'airplane', 'dirt track', 'apparel', 'pole', 'land', 'bannister',
             'escalator', 'ottoman', 'bottle', 'buffet', 'poster', 'stage',
             'van', 'ship', 'fountain', 'conveyer belt', 'canopy', 'washer',
             'plaything', 'swimming pool', 'stool', 'barrel', 'basket', 'waterfall',
             'tent', 'bag', 'minibike', 'cradle', 'oven', 'ball',
             'food', 'step', 'tank', 'trade name', 'microwave', 'pot',
             'animal', 'bicycle', 'lake', 'dishwasher', 'screen', 'blanket',
             'sculpture', 'hood', 'sconce', 'vase', 'traffic light', 'tray',
             'ashcan', 'fan', 'pier', 'crt screen', 'plate', 'monitor',
             'bulletin board', 'shower', 'radiator', 'glass', 'clock', 'flag',
    ),
    palette=[
             [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128], [0, 128, 128],
             [128, 128, 128], [64, 0, 0], [192, 0, 0], [64, 128, 0], [192, 128, 0], [64, 0, 128],
             [192, 0, 128], [64, 128, 128], [192, 128, 128], [0, 64, 0], [128, 64, 0], [0, 192, 0],
             [128, 192, 0], [0, 64, 128], [128, 64, 128], [0, 192, 128], [128, 192, 128], [64, 64, 0],
             [192, 64, 0], [64, 192, 0], [192, 192, 0], [64, 64, 128], [192, 64, 128], [64, 192, 128],
             [192, 192, 128], [0, 0, 64], [128, 0, 64], [0, 128, 64], [128, 128, 64], [0, 0, 192],
             [128, 0, 192], [0, 128, 192], [128, 128, 192], [64, 0, 64], [192, 0, 64], [64, 128, 64],
             [192, 128, 64], [64, 0, 192], [192, 0, 192], [64, 128, 192], [192, 128, 192], [0, 64, 64],
             [128, 64, 64], [0, 192, 64], [128, 192, 64], [0, 64, 192], [128, 64, 192], [0, 192, 192],
             [128, 192, 192], [64, 64, 64], [192, 64, 64], [64, 192, 64], [192, 192, 64], [64, 64, 192],
             [192, 64, 192], [64, 192, 192], [192, 192, 192], [32, 0, 0], [160, 0, 0], [32, 128, 0],
             [160, 128, 0], [32, 0, 128], [160, 0, 128], [32, 128, 128], [160, 128, 128], [96, 0, 0],
             [224, 0, 0], [96, 128, 0], [224, 128, 0], [96, 0, 128], [224, 0, 128], [96, 128, 128],
             [224, 128, 128], [32, 64, 0], [160, 64, 0], [32, 192, 0], [160, 192, 0], [32, 64, 128],
             [160, 64, 128], [32, 192, 128], [160, 192, 128], [96, 64, 0], [224, 64, 0], [96, 192, 0],
             [224, 192, 0], [96, 64, 128], [224, 64, 128], [96, 192, 128], [224, 192, 128], [32, 0, 64],
             [160, 0, 64], [32, 128, 64], [160, 128, 64], [32, 0, 192], [160, 0, 192], [32, 128, 192],
             [160, 128, 192], [96, 0, 64], [224, 0, 64], [96, 128, 64], [224, 128, 64], [96, 0, 192],
             [224, 0, 192], [96, 128, 192], [224, 128, 192], [32, 64, 64], [160, 64, 64], [32, 192, 64],
             [160, 192, 64], [32, 64, 192], [160, 64, 192], [32, 192, 192], [160, 192, 192], [96, 64, 64],
             [224, 64, 64], [96, 192, 64], [224, 192, 64], [96, 64, 192], [224, 64, 192], [96, 192, 192],
             [224, 192, 192], [0, 32, 0], [128, 32, 0], [0, 160, 0], [128, 160, 0], [0, 32, 128],
             [128, 32, 128], [0, 160, 128], [128, 160, 128], [64, 32, 0], [192, 32, 0], [64, 160, 0],
             [192, 160, 0], [64, 32, 128], [192, 32, 128], [64, 160, 128], [192, 160, 128], [0, 96, 0],
             [128, 96, 0], [0, 224, 0], [128, 224, 0], [0, 96, 128], [128, 96, 128], [0, 224, 128],
    ],
)
# Data (official HRNet-OCR branch ade20k yamls): long side 520 x [0.5, 1.6] rescales (SCALE_FACTOR 11), 520x520
# crops, flip. (The official reader, lib/datasets/ade20k.py, first resizes the short side to 520; the random
# rescale then sets the long side to 520 x s anyway, so hrvision skips that first resize: one interpolation less.)
# Test (hrnetv2_w48_ade20k_*.py test_cfg): 520x520 windows at stride 2/3 of the window, padded (window='pad').
data_root = 'data/ade/ADEChallengeData2016'
train_pipeline = [
    dict(type='LoadSegmentationFolder'),
    dict(type='RandomRescale', base_size=520, scale_range=(0.5, 1.6), step=0.1),
    dict(type='PadRandomCrop', crop_size=(520, 520)),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs'),
]
test_pipeline = [dict(type='LoadSegmentationFolder'), dict(type='PackSegmentationInputs')]
train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ADE20KDataset', data_root=data_root, split='training', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ADE20KDataset', data_root=data_root, split='validation', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='SegmentationMetric')   # classes: the dataset's metadata
test_evaluator = val_evaluator
