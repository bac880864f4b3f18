# LIP on CPU in minutes: a small HRNetV2 (W18-Small-v1 widths) on the synthetic people that
#   hrvision data synth-lip data/lip_synth
# writes in the LIP layout (20 classes; left/right limbs, swapped by the flip augmentation and the flip test).
# Not the official recipe (hrnetv2_w48_lip_473x473.py): AdamW and a short poly schedule, 64x64 inputs.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/lip.py']
data_root = 'data/lip_synth'
crop_size = (64, 64)
max_iters = 200
model = dict(
    type='SegmentationModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', arch='hrnet_w18_small_v1', preset='segmentation'),
    neck=dict(type='HRNetV2Concat', mode='bilinear'),
    head=dict(type='SegmentationHead', num_classes=20, loss='ce'),
    test_cfg=dict(scales=[1.0], flip=True),   # the official LIP test: flip, left/right channels swapped back
)
train_pipeline = [
    dict(type='LoadSegmentationFolder'),
    dict(type='SegmentationResize', size=crop_size),
    dict(type='RandomRescale', base_size=64, scale_range=(0.8, 1.2), step=0.1),
    dict(type='PadRandomCrop', crop_size=crop_size),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs'),
]
test_pipeline = [dict(type='LoadSegmentationFolder'), dict(type='SegmentationResize', size=crop_size, keep_label=True),
                 dict(type='PackSegmentationInputs')]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, begin=0, end=20, by_epoch=False),
                   dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=20, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=25),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
