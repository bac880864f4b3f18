# CPU demo: one small HRNet (W18-Small-v1 structure) learns keypoints + detection + person masks together on
# synthetic scenes (`hrvision data synth-coco-multi work_dirs/multitask_demo/data --n 128`), 128x128 images.
# Figures and commands: benchmarks/RESULTS.md.
_base_ = ['../_base_/default_runtime.py']
custom_imports = dict(imports=['hrvision.tasks.multitask'], allow_failed_imports=False)
data_root = 'work_dirs/multitask_demo/data/'
max_iters = 300
classes = ('person', 'circle', 'square', 'triangle', 'bar')
model = dict(
    type='MultiTaskModel',
    data_preprocessor=dict(type='HRVDataPreprocessor', pad_size_divisor=32),
    backbone=dict(type='HRNet', arch='hrnet_w18_small_v1', upsample_mode='bilinear', align_corners=False,
                  norm_momentum=0.1),
    heads=dict(
        seg=dict(type='SegmentationHead', num_classes=2),
        pose=dict(type='PoseHead', num_keypoints=17, boxes='detection', person_label=0,
                  codec=dict(type='PoseHeatmapCodec', input_size=(72, 96), heatmap_size=(18, 24), sigma=1.5)),
        det=dict(type='DetectionHead', kind='fcos', num_classes=len(classes), head_convs=2,
                 neck=dict(out_channels=64, num_outs=3, stride=2), score_thresh=0.05, detections_per_img=50),
    ),
    loss_weights=dict(seg=1.0, pose=300.0, det=2.0),   # heatmap MSE is ~1e-3 per element
)
tasks = dict(det='detection', pose='pose', seg='segmentation')   # head name -> task kind
train_pipeline = [dict(type='LoadMultiTaskInputs'), dict(type='MultiTaskRandomFlip', prob=0.5),
                  dict(type='PackMultiTaskInputs')]
test_pipeline = [dict(type='LoadMultiTaskInputs'), dict(type='PackMultiTaskInputs')]
train_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CocoMultiTaskDataset', data_root=data_root, ann_file='annotations/instances_train2017.json',
                 kpt_file='annotations/person_keypoints_train2017.json', data_prefix=dict(img='train2017/'),
                 tasks=tasks, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoMultiTaskDataset', data_root=data_root, ann_file='annotations/instances_val2017.json',
                 kpt_file='annotations/person_keypoints_val2017.json', data_prefix=dict(img='val2017/'),
                 tasks=tasks, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='MultiTaskEvaluator', metrics=[
    dict(type='CocoDetectionMetric', prefix='det'),             # ann_file: the dataset's
    dict(type='MultiTaskKeypointMetric', prefix='pose'),  # ann_file: the dataset's kpt_file
    dict(type='SegmentationMetric', num_classes=2, class_names=('background', 'person'), prefix='seg'),
    dict(type='MultiTaskOutputs', max_pictures=8),
])
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3), clip_grad=dict(max_norm=35.0))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, begin=0, end=20, by_epoch=False),
                   dict(type='MultiStepLR', by_epoch=False, milestones=[int(max_iters * 0.8)], gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=25),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
