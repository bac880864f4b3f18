# Official recipe of deep-high-resolution-net.pytorch experiments/coco/hrnet/w32_256x192_adam_lr1e-3.yaml
# (SPEC §2.1): input 192x256 (W, H), heatmaps 48x64, sigma 2; Adam lr 1e-3 without weight decay; 210 epochs,
# lr x0.1 at epochs 170 and 200; batch 32/GPU x 4 GPUs; flip test + quarter shift + OKS-NMS at test time.
# Epoch-based as the official loop: COCO train2017's 149,813 person boxes at a total batch of 128 (32 x 4 GPUs) make
# 1,171 iterations per epoch; on one GPU (batch 32) an epoch is 4,682 iterations and the schedule stays 210 epochs.
# (The official loop steps its scheduler at the start of each epoch, which under torch >= 1.1 drops the lr one
# epoch early, at 169 and 199 -- SPEC §8.9; we use the yaml's 170/200.)
# The crop size and sigma are stated once, in model.codec: the crops (TopDownAffine, TopDownHalfBody), the datasets'
# box aspect ratio and the training targets take them, and the heatmap size follows from the branch the head reads
# (tasks/pose/config.py).
_base_ = ['../_base_/default_runtime.py']
data_root = 'data/coco/'
model = dict(
    type='PoseModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', arch='hrnet_w32', multi_scale_output=False, out_indices=(0,), preset='pose'),
    head=dict(type='PoseHead', num_keypoints=17, use_target_weight=True),   # in_channels: backbone branch 0
    # input (W, H) and sigma; heatmap_size follows from the map the head reads: input / stride 4 = 48x64
    codec=dict(type='PoseHeatmapCodec', input_size=(192, 256), sigma=2),
    test_cfg=dict(flip_test=True),
    # ImageNet initialisation as officially; the loader reports the dropped classification-head keys.
    # Set model.pretrained=None to train from scratch.
    pretrained='models/pytorch/imagenet/hrnet_w32-36af842e.pth',
)
train_pipeline = [
    dict(type='LoadPoseImage'),
    dict(type='TopDownHalfBody', prob=0.3, min_visible=8),
    dict(type='TopDownRandomScaleRotation', scale_factor=0.35, rot_factor=45, rot_prob=0.6),
    dict(type='PoseRandomFlip', prob=0.5),
    dict(type='TopDownAffine'),
    dict(type='PoseHeatmapTargets'),
    dict(type='PackPoseInputs'),
]
test_pipeline = [dict(type='LoadPoseImage'), dict(type='TopDownAffine'), dict(type='PackPoseInputs')]
train_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CocoKeypointDataset', data_root=data_root, ann_file='annotations/person_keypoints_train2017.json',
                 data_prefix=dict(img='images/train2017/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoKeypointDataset', data_root=data_root, ann_file='annotations/person_keypoints_val2017.json',
                 data_prefix=dict(img='images/val2017/'), test_mode=True,
                 # official TEST.USE_GT_BBOX true; for the README's detector numbers set
                 # bbox_file=data_root + 'person_detection_results/COCO_val2017_detections_AP_H_56_person.json'
                 bbox_file=None, score_thr=0.0, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoKeypointMetric', vis_thr=0.2, oks_thr=0.9, num_vis=4)   # ann_file: the dataset's
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[170, 200], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=210, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=100),
                     checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=10, max_keep_ckpts=3,
                                     save_best='coco/AP', rule='greater'))
