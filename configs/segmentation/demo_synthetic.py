# The README's main job: a small HRNetV2 (W18-Small-v1 widths) trained on synthetic Cityscapes-format
# scenes (`hrvision data synth-cityscapes`), 128x256 images, CPU-friendly. Not the official recipe
# (see hrnetv2_w48_cityscapes_512x1024.py for that): AdamW and a short poly schedule converge in minutes.
_base_ = ['../_base_/demo_runtime.py']   # AdamW, warm-up + poly (here over 300 iterations)
data_root = 'work_dirs/demo/data'
crop_size = (128, 256)
max_iters = 300
model = dict(
    type='SegmentationModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    # preset 'segmentation': bilinear fuse, align_corners=False, BN momentum 0.1; neck and head take their input
    # channels and align_corners from the backbone
    backbone=dict(type='HRNet', arch='hrnet_w18_small_v1', preset='segmentation'),
    neck=dict(type='HRNetV2Concat', mode='bilinear'),
    head=dict(type='SegmentationHead', num_classes=19, loss='ce'),
    test_cfg=dict(scales=[1.0], flip=False),
)
train_pipeline = [
    dict(type='LoadCityscapes'),
    dict(type='RandomRescale', base_size=256, scale_range=(0.8, 1.4), step=0.1),
    dict(type='PadRandomCrop', crop_size=crop_size),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs'),
]
test_pipeline = [dict(type='LoadCityscapes'), dict(type='PackSegmentationInputs')]
train_dataloader = dict(batch_size=4, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='CityscapesDataset', data_root=data_root, split='train',
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type='CityscapesDataset', data_root=data_root, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='SegmentationMetric')   # classes: the dataset's metadata
test_evaluator = val_evaluator
# the demo runtime's schedule over 300 iterations (what depends on max_iters, restated: see demo_runtime.py)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, begin=0, end=max_iters // 10, by_epoch=False),
                   dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=max_iters // 10, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
