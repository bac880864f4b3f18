# The shipped smp FPN config at test size: HRNet-W18-small-v1 encoder, small FPN, 64x128 synthetic data,
# AdamW so a few iterations learn. Data root comes from --cfg-options.
_base_ = ['../../configs/segmentation/hrnet_w18_smp_fpn_cityscapes_512x1024.py']
max_iters = 30
crop_size = (64, 128)
model = dict(arch='hrnet_w18_small_v1', decoder_cfg=dict(decoder_pyramid_channels=32, decoder_segmentation_channels=32,
                                                         decoder_dropout=0.0),
             test_cfg=dict(base_size=None, crop_size=None, stride=None))
sync_bn = None
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, dataset=dict(pipeline=[
    dict(type='LoadCityscapes'),
    dict(type='PadRandomCrop', crop_size=crop_size),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs')]))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(_delete_=True, type='AdamW', lr=3e-3, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(type='LoggerHook', interval=5),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
