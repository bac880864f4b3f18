# Test-sized segmentation config: tiny HRNet, 64x128 synthetic images. Data root comes from --cfg-options.
_base_ = ['../../configs/segmentation/demo_synthetic.py']
max_iters = 8
tiny = dict(STAGE1=dict(NUM_MODULES=1, BLOCK='BOTTLENECK', NUM_BLOCKS=[1], NUM_CHANNELS=[8]),
            STAGE2=dict(NUM_MODULES=1, BLOCK='BASIC', NUM_BLOCKS=[1, 1], NUM_CHANNELS=[4, 8]),
            STAGE3=dict(NUM_MODULES=1, BLOCK='BASIC', NUM_BLOCKS=[1, 1, 1], NUM_CHANNELS=[4, 8, 16]),
            STAGE4=dict(NUM_MODULES=1, BLOCK='BASIC', NUM_BLOCKS=[1, 1, 1, 1], NUM_CHANNELS=[4, 8, 16, 32]))
model = dict(backbone=dict(_delete_=True, type='HRNet', extra=tiny, upsample_mode='bilinear', align_corners=False),
             neck=dict(in_channels=[4, 8, 16, 32]), head=dict(in_channels=60))
crop_size = (64, 128)
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=[
    dict(type='LoadCityscapes'),
    dict(type='RandomRescale', base_size=128, scale_range=(0.8, 1.2), step=0.1),
    dict(type='PadRandomCrop', crop_size=crop_size),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs')]))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(type='LoggerHook', interval=2),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4, max_keep_ckpts=5))
