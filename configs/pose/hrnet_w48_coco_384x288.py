# Official w48_384x288_adam_lr1e-3.yaml (SPEC §2.1): input 288x384, heatmaps 72x96, sigma 3; batch 24/GPU x 4
# -> ceil(149813 / 96) = 1561 iterations/epoch; 210 epochs = 327,810 iterations; steps at 170 / 200 epochs.
# The crop size is in the base's pipelines and datasets (mmengine replaces lists whole), so they are restated here
# with input_size; everything else comes from the W32 recipe.
_base_ = ['./hrnet_w32_coco_256x192.py']
input_size = (288, 384)
iters_per_epoch = 1561
max_iters = 210 * iters_per_epoch
codec = dict(type='PoseHeatmapCodec', input_size=input_size, sigma=3)   # heatmaps 72x96: input / stride 4, in code
model = dict(backbone=dict(arch='hrnet_w48'), codec=codec,
             pretrained='models/pytorch/imagenet/hrnet_w48-8ef0771d.pth')
train_pipeline = [
    dict(type='LoadPoseImage'),
    dict(type='TopDownHalfBody', input_size=input_size, prob=0.3, min_visible=8),
    dict(type='TopDownRandomScaleRotation', scale_factor=0.35, rot_factor=45, rot_prob=0.6),
    dict(type='PoseRandomFlip', prob=0.5),
    dict(type='TopDownAffine', input_size=input_size),
    dict(type='PoseHeatmapTargets', codec=codec),
    dict(type='PackPoseInputs'),
]
test_pipeline = [dict(type='LoadPoseImage'), dict(type='TopDownAffine', input_size=input_size),
                 dict(type='PackPoseInputs')]
train_dataloader = dict(batch_size=24, dataset=dict(input_size=input_size, pipeline=train_pipeline))
val_dataloader = dict(batch_size=24, dataset=dict(input_size=input_size, pipeline=test_pipeline))
test_dataloader = val_dataloader
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[170 * iters_per_epoch, 200 * iters_per_epoch],
                        gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10 * iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=10 * iters_per_epoch))
