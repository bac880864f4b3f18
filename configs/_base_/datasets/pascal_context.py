# PASCAL-Context, 59 classes (the HRNet / mmseg benchmark): the converted PNG layout (mmseg's
# tools/dataset_converters/pascal_context.py output):
#   <root>/JPEGImages/<id>.jpg
#   <root>/SegmentationClassContext/<id>.png   index PNGs: 0 = background, 1..59 = the classes below
#   <root>/ImageSets/SegmentationContext/{train,val}.txt   (4998 / 5105 ids)
# 59 classes: reduce_zero_label (stored 0 = background -> ignore, stored k -> class k-1), as the official
# cls59 yamls and mmseg's PascalContextDataset59. The 60-class variant (background as class 0) is
# pascal_context_60.py. Palette: the PASCAL VOC colour map of the stored ids 1..59 (pictures only).
dataset_info = dict(
    classes=(
             'aeroplane', 'bag', 'bed', 'bedclothes', 'bench', 'bicycle',
             'bird', 'boat', 'book', 'bottle', 'building', 'bus',
             'cabinet', 'car', 'cat', 'ceiling', 'chair', 'cloth',
             'computer', 'cow', 'cup', 'curtain', 'dog', 'door',
             'fence', 'floor', 'flower', 'food', 'grass', 'ground',
             'horse', 'keyboard', 'light', 'motorbike', 'mountain', 'mouse',
             'person', 'plate', 'platform', 'pottedplant', 'road', 'rock',
             'sheep', 'shelves', 'sidewalk', 'sign', 'sky', 'snow',
             'sofa', 'table', 'track', 'train', 'tree', 'truck',
             'tvmonitor', 'wall', 'water', 'window', 'wood',
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
             [128, 192, 192], [64, 64, 64], [192, 64, 64], [64, 192, 64], [192, 192, 64],
    ],
)
# Data (official HRNet pascal_ctx yamls, master): long side 520 x [0.5, 2.1] rescales (SCALE_FACTOR 16), 480x480
# random crops, flip. Test: 480x480 windows at stride 2/3 of the window (the official generic sliding window).
data_root = 'data/VOCdevkit/VOC2010'
train_pipeline = [
    dict(type='LoadSegmentationFolder'),
    dict(type='RandomRescale', base_size=520, scale_range=(0.5, 2.1), step=0.1),
    dict(type='PadRandomCrop', crop_size=(480, 480)),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs'),
]
test_pipeline = [dict(type='LoadSegmentationFolder'), dict(type='PackSegmentationInputs')]
train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='PascalContextDataset', data_root=data_root, split='train', num_classes=59,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='PascalContextDataset', data_root=data_root, split='val', num_classes=59,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='SegmentationMetric')   # classes: the dataset's metadata
test_evaluator = val_evaluator
