# The CPU demos of the official segmentation datasets (demo_ade20k.py, demo_pascal_context.py, demo_lip.py): a small
# HRNetV2 (W18-Small-v1 widths) trained on their synthetic sets in minutes with AdamW and a short poly schedule on
# 64x64 crops, tested with the flip test. Not the official recipes (hrnetv2_w48_*.py). Each demo adds its dataset
# base, its class count and its data_root.
_base_ = ['../_base_/default_runtime.py']
max_iters = 200
model = dict(
    type='SegmentationModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', arch='hrnet_w18_small_v1', preset='segmentation'),
    neck=dict(type='HRNetV2Concat', mode='bilinear'),
    head=dict(type='SegmentationHead', loss='ce'),   # num_classes: the demo's dataset
    test_cfg=dict(scales=[1.0], flip=True),
)
demo_train_pipeline = [
    dict(type='LoadSegmentationFolder'),
    dict(type='RandomRescale', base_size=80, scale_range=(0.8, 1.2), step=0.1),
    dict(type='PadRandomCrop', crop_size=(64, 64)),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs'),
]
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, begin=0, end=20, by_epoch=False),
                   dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=20, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=25),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
