# CPU demo: a small pose HRNet (W18-Small-v1 structure, pose conventions) learns the 17 PoseTrack joints on
# synthetic videos, then estimates + tracks the val videos:
#   hrvision data synth-posetrack work_dirs/posetrack_demo/data --n-train 24 --n-val 4
#   hrvision train configs/posetrack/demo_synthetic.py
#   hrvision bench posetrack configs/posetrack/demo_synthetic.py work_dirs/demo_synthetic/iter_300.pth \
#       --data-root work_dirs/posetrack_demo/data
# Training reads the per-video PoseTrack 2018 files (PoseTrackDataset); the val loop scores single frames with
# the COCO keypoint AP on the merged per-frame file the generator also writes (ground-truth boxes).
_base_ = ['../_base_/default_runtime.py']
data_root = 'work_dirs/posetrack_demo/data/'
posetrack_joints = 'posetrack'
input_size = (72, 96)
heatmap_size = (18, 24)
max_iters = 300
flip_pairs = ((3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
codec = dict(type='PoseHeatmapCodec', input_size=input_size, heatmap_size=heatmap_size, sigma=1.5)
model = dict(
    type='PoseModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', arch='hrnet_w18_small_v1', multi_scale_output=False, out_indices=(0,),
                  upsample_mode='nearest', norm_momentum=0.1),
    head=dict(type='KeypointHead', in_channels=16, num_keypoints=17, flip_pairs=flip_pairs),
    codec=codec,
    test_cfg=dict(flip_test=True),
)
train_pipeline = [
    dict(type='LoadPoseImage'),
    dict(type='TopDownRandomScaleRotation', scale_factor=0.2, rot_factor=15, rot_prob=0.5),
    dict(type='TopDownRandomFlip', prob=0.5, flip_pairs=flip_pairs),
    dict(type='TopDownAffine', input_size=input_size),
    dict(type='GenerateHeatmapTarget', codec=codec),
    dict(type='PackPoseInputs'),
]
test_pipeline = [dict(type='LoadPoseImage'), dict(type='TopDownAffine', input_size=input_size),
                 dict(type='PackPoseInputs')]
train_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='PoseTrackDataset', data_root=data_root, ann_file='annotations/train',
                 input_size=input_size, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoKeypointDataset', data_root=data_root, ann_file='annotations/person_keypoints_val.json',
                 input_size=input_size, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoKeypointMetric', ann_file=data_root + 'annotations/person_keypoints_val.json')
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, begin=0, end=20, by_epoch=False),
                   dict(type='MultiStepLR', by_epoch=False, milestones=[int(max_iters * 0.8)], gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=25),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
