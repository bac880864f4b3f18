# PASCAL-Context on CPU in minutes: a small HRNetV2 (W18-Small-v1 widths) on the synthetic set that
#   hrvision data synth-pascal-context data/pascal_context_synth
# writes in the converted layout (59 classes, background ignored). Not the official recipe
# (hrnetv2_w48_pascal_context_59_480x480.py): AdamW and a short poly schedule, 64x64 crops.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/pascal_context.py']
data_root = 'data/pascal_context_synth'
crop_size = (64, 64)
max_iters = 200
model = dict(
    type='SegmentationModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', arch='hrnet_w18_small_v1', preset='segmentation'),
    neck=dict(type='HRNetV2Concat', mode='bilinear'),
    head=dict(type='SegmentationHead', num_classes=59, loss='ce'),
    test_cfg=dict(scales=[1.0], flip=True),
)
train_pipeline = [
    dict(type='LoadSegmentationFolder'),
    dict(type='RandomRescale', base_size=80, scale_range=(0.8, 1.2), step=0.1),
    dict(type='PadRandomCrop', crop_size=crop_size),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, begin=0, end=20, by_epoch=False),
                   dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=20, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=25),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
