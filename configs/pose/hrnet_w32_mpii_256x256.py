# Official recipe of deep-high-resolution-net.pytorch experiments/mpii/hrnet/w32_256x256_adam_lr1e-3.yaml (SPEC §2.1
# "MPII"): 16 joints, input 256x256, heatmaps 64x64, sigma 2; scale 0.25, rotation 30 (p 0.6), flip, no half-body
# (PROB_HALF_BODY -1); Adam lr 1e-3 without weight decay; 210 epochs, lr x0.1 at epochs 170 and 200; batch 32/GPU x
# 4 GPUs; flip test. Official MPII val (README of that repo, SPEC §5.1), pose_hrnet_w32 256x256, PCKh@0.5:
# Head 97.1, Shoulder 95.9, Elbow 90.3, Wrist 86.4, Hip 89.1, Knee 87.1, Ankle 83.3, Mean 90.3, Mean@0.1 37.7.
# Iteration-based: the official annot/train.json holds 22,246 entries -> ceil(22246 / 128) = 174 iterations/epoch at
# a total batch of 128; 210 epochs = 36,540 iterations, steps at 170 -> 29,580 and 200 -> 34,800. Change
# `iters_per_epoch` if the total batch differs.
# Data: data/mpii/{images/, annot/{train,valid,test}.json, annot/gt_valid.mat} as the official repo lays it out.
# Test split (labels not public): hrvision test CONFIG CKPT --out DIR --cfg-options
#   test_dataloader.dataset.ann_file=annot/test.json test_evaluator.format_only=True   -> DIR/pred.mat for the server
_base_ = ['../_base_/default_runtime.py']
data_root = 'data/mpii/'
input_size = (256, 256)
iters_per_epoch = 174
max_iters = 210 * iters_per_epoch
# heatmap_size follows in code from the map the head reads: input / stride 4 = 64x64 (hrvision.codecs.fill_heatmap_size)
codec = dict(type='PoseHeatmapCodec', input_size=input_size, sigma=2)
model = dict(
    type='PoseModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', arch='hrnet_w32', multi_scale_output=False, out_indices=(0,), preset='pose'),
    head=dict(type='PoseHead', num_keypoints=16, use_target_weight=True),   # in_channels: backbone branch 0
    codec=codec,
    test_cfg=dict(flip_test=True),
    # ImageNet initialisation as officially; set model.pretrained=None to train from scratch
    pretrained='models/pytorch/imagenet/hrnet_w32-36af842e.pth',
)
train_pipeline = [
    dict(type='LoadPoseImage'),
    dict(type='TopDownRandomScaleRotation', scale_factor=0.25, rot_factor=30, rot_prob=0.6),
    dict(type='PoseRandomFlip', prob=0.5),
    dict(type='TopDownAffine', input_size=input_size),
    dict(type='PoseHeatmapTargets', codec=codec),
    dict(type='PackPoseInputs'),
]
test_pipeline = [dict(type='LoadPoseImage'), dict(type='TopDownAffine', input_size=input_size),
                 dict(type='PackPoseInputs')]
train_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='MPIIPoseDataset', data_root=data_root, ann_file='annot/train.json',
                 data_prefix=dict(img='images/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='MPIIPoseDataset', data_root=data_root, ann_file='annot/valid.json',
                 data_prefix=dict(img='images/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
# PCKh with the official head boxes (tasks/pose/mpii_metric.py); pred.mat goes to the work dir (or hrvision test --out)
val_evaluator = dict(type='MPIIPoseMetric', gt_file=data_root + 'annot/gt_valid.mat')
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[170 * iters_per_epoch, 200 * iters_per_epoch],
                        gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10 * iters_per_epoch)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=100),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10 * iters_per_epoch,
                                     max_keep_ckpts=3, save_best='mpii/Mean', rule='greater'))
