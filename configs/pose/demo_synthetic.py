# CPU demo: a small pose HRNet (W18-Small-v1 structure, pose conventions) learns synthetic stick figures
# (`hrvision data synth-coco-pose work_dirs/pose_demo/data --n 256`) at 96x72 (H x W) on a 2-core CPU
# (timings in benchmarks/RESULTS.md).
# Not the official recipe (see hrnet_w32_coco_256x192.py): no half-body, milder augmentation, lr 2e-3.
_base_ = ['../_base_/default_runtime.py']
data_root = 'work_dirs/pose_demo/data/'
max_iters = 200
model = dict(
    type='PoseModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', arch='hrnet_w18_small_v1', multi_scale_output=False, out_indices=(0,),
                  preset='pose'),
    head=dict(type='PoseHead', num_keypoints=17),   # in_channels: the backbone's branch 0
    # crops of 72x96 (W x H) and sigma, stated once: the crops, datasets and targets take them; heatmaps 18x24 =
    # input / stride 4, in code (tasks/pose/config.py)
    codec=dict(type='PoseHeatmapCodec', input_size=(72, 96), sigma=1.5),
    test_cfg=dict(flip_test=True),
)
train_pipeline = [
    dict(type='LoadPoseImage'),
    dict(type='TopDownRandomScaleRotation', scale_factor=0.2, rot_factor=15, rot_prob=0.5),
    dict(type='PoseRandomFlip', prob=0.5),
    dict(type='TopDownAffine'),
    dict(type='PoseHeatmapTargets'),
    dict(type='PackPoseInputs'),
]
test_pipeline = [dict(type='LoadPoseImage'), dict(type='TopDownAffine'), dict(type='PackPoseInputs')]
train_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CocoKeypointDataset', data_root=data_root, ann_file='annotations/person_keypoints_train.json',
                 data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoKeypointDataset', data_root=data_root, ann_file='annotations/person_keypoints_val.json',
                 data_prefix=dict(img='val/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoKeypointMetric', num_vis=4)   # ann_file: the dataset's
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, begin=0, end=20, by_epoch=False),
                   dict(type='MultiStepLR', by_epoch=False, milestones=[int(max_iters * 0.8)], gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=25),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
