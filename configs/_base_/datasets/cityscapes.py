# Cityscapes (real layout): 512x1024 random crops from long-side 2048 x [0.5, 2.1] rescales, flip.
# The dataset's metadata (the Cityscapes preset of hrvision.data.metainfo): the 19 evaluated classes in train-id
# order and their official colours. CityscapesDataset reads it (METAINFO from_file), and so does every config
# based on this file.
dataset_info = dict(
    classes=(
             'road', 'sidewalk', 'building', 'wall',
             'fence', 'pole', 'traffic light', 'traffic sign',
             'vegetation', 'terrain', 'sky', 'person',
             'rider', 'car', 'truck', 'bus',
             'train', 'motorcycle', 'bicycle',
    ),
    palette=[
             [128, 64, 128], [244, 35, 232], [70, 70, 70], [102, 102, 156], [190, 153, 153],
             [153, 153, 153], [250, 170, 30], [220, 220, 0], [107, 142, 35], [152, 251, 152],
             [70, 130, 180], [220, 20, 60], [255, 0, 0], [0, 0, 142], [0, 0, 70],
             [0, 60, 100], [0, 80, 100], [0, 0, 230], [119, 11, 32],
    ],
)
data_root = 'data/cityscapes'
crop_size = (512, 1024)
base_size = 2048
train_pipeline = [
    dict(type='LoadCityscapes'),
    dict(type='RandomRescale', base_size=base_size, scale_range=(0.5, 2.1), step=0.1),
    dict(type='PadRandomCrop', crop_size=crop_size),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs'),
]
test_pipeline = [dict(type='LoadCityscapes'), dict(type='PackSegmentationInputs')]
train_dataloader = dict(
    batch_size=3, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CityscapesDataset', data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CityscapesDataset', data_root=data_root, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='SegmentationMetric')   # classes: the dataset's metadata
test_evaluator = val_evaluator
