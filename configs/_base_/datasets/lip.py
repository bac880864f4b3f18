# LIP (Look Into Person) human parsing, 20 classes, 0 = background (evaluated). The left/right classes
# (left-arm/right-arm, left-leg/right-leg, left-shoe/right-shoe = 14/15, 16/17, 18/19) are paired from their
# names (hrvision.data.metainfo derives flip_class_pairs / flip_class_indices): the flip augmentation swaps
# their labels and the flip test swaps their score channels back. Palette: the PASCAL VOC colour map
# (pictures only).
dataset_info = dict(
    classes=(
             'background', 'hat', 'hair', 'glove', 'sunglasses', 'upper-clothes',
             'dress', 'coat', 'socks', 'pants', 'jumpsuits', 'scarf',
             'skirt', 'face', 'left-arm', 'right-arm', 'left-leg', 'right-leg',
             'left-shoe', 'right-shoe',
    ),
    palette=[
             [0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128],
             [0, 128, 128], [128, 128, 128], [64, 0, 0], [192, 0, 0], [64, 128, 0], [192, 128, 0],
             [64, 0, 128], [192, 0, 128], [64, 128, 128], [192, 128, 128], [0, 64, 0], [128, 64, 0],
             [0, 192, 0], [128, 192, 0],
    ],
)
# Data (official HRNet lip yaml, master): image and label resized to 473x473, long side 473 x [0.5, 1.6]
# rescales (SCALE_FACTOR 11), 473x473 crops, flip with the left/right classes swapped. Test: the image resized to
# 473x473, the prediction upsampled to the label's size.
data_root = 'data/LIP'
crop_size = (473, 473)
base_size = 473
train_pipeline = [
    dict(type='LoadSegmentationFolder'),
    dict(type='SegmentationResize', size=crop_size),
    dict(type='RandomRescale', base_size=base_size, scale_range=(0.5, 1.6), step=0.1),
    dict(type='PadRandomCrop', crop_size=crop_size),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs'),
]
test_pipeline = [dict(type='LoadSegmentationFolder'), dict(type='SegmentationResize', size=crop_size, keep_label=True),
                 dict(type='PackSegmentationInputs')]
train_dataloader = dict(
    batch_size=10, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='LIPDataset', data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='LIPDataset', data_root=data_root, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='SegmentationMetric')   # classes: the dataset's metadata
test_evaluator = val_evaluator
