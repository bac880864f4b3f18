# CPU demo on synthetic MPII data in the official layout (`hrvision data synth-mpii work_dirs/mpii_demo/data --n 64`):
# a small pose HRNet (W18-Small-v1 structure, pose conventions) at 96x96, the MPII reader, flip test, PCKh with the
# synthetic head boxes. Not the official recipe (see hrnet_w32_mpii_256x256.py): tiny input, lr 2e-3, 200 iterations.
_base_ = ['../_base_/default_runtime.py']
data_root = 'work_dirs/mpii_demo/data/'
input_size = (96, 96)
max_iters = 200
codec = dict(type='PoseHeatmapCodec', input_size=input_size, sigma=1.5)   # heatmaps 24x24: input / stride 4, in code
model = dict(
    type='PoseModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', arch='hrnet_w18_small_v1', multi_scale_output=False, out_indices=(0,),
                  preset='pose'),
    head=dict(type='PoseHead', num_keypoints=16),
    codec=codec,
    test_cfg=dict(flip_test=True),
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
    batch_size=8, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='MPIIPoseDataset', data_root=data_root, ann_file='annot/train.json',
                 data_prefix=dict(img='images/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='MPIIPoseDataset', data_root=data_root, ann_file='annot/valid.json',
                 data_prefix=dict(img='images/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='MPIIPoseMetric', gt_file=data_root + 'annot/gt_valid.mat')
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, begin=0, end=20, by_epoch=False),
                   dict(type='MultiStepLR', by_epoch=False, milestones=[int(max_iters * 0.8)], gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=25),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1,
                                     save_best='mpii/Mean', rule='greater'))
