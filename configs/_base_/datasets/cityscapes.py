# Cityscapes (real layout): 512x1024 random crops from long-side 2048 x [0.5, 2.1] rescales, flip.
data_root = 'data/cityscapes'
crop_size = (512, 1024)
base_size = 2048
train_pipeline = [
    dict(type='LoadCityscapes'),
    dict(type='RandomRescale', base_size=base_size, scale_range=(0.5, 2.1), step=0.1),
    dict(type='PadRandomCrop', crop_size=crop_size),
    dict(type='SegRandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [dict(type='LoadCityscapes'), dict(type='PackSegInputs')]
train_dataloader = dict(
    batch_size=3, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CityscapesDataset', data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CityscapesDataset', data_root=data_root, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CityscapesMetric', num_classes=19)
test_evaluator = val_evaluator
