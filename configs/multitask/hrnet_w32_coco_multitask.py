# HRNet-W32, one backbone pass, three heads on COCO 2017: person keypoints (PoseHead on the stride-4 branch,
# whole-image heatmaps, decoded in detected person boxes), detection (HRNetV2p + FCOS, 80 classes) and
# person/background segmentation (HRNetV2 concat + SegmentationHead; masks from the instance polygons).
# Layout: data/coco/{train2017,val2017}/, data/coco/annotations/{instances,person_keypoints}_{train,val}2017.json
# Start from single-task checkpoints with hrvision.tasks.multitask.load_task_weights(model, 'pose', ckpt), ...
# or from ImageNet with model.pretrained. Not a published recipe: weights, schedule and sizes are a starting point.
_base_ = ['../_base_/default_runtime.py']
custom_imports = dict(imports=['hrvision.tasks.multitask'], allow_failed_imports=False)
env_cfg = dict(cudnn_benchmark=False)   # keep-ratio resizing: batch sizes vary (a cuDNN search per new shape)
data_root = 'data/coco/'
tasks = dict(det='detection', pose='pose', seg='segmentation')   # head name -> task kind
model = dict(
    type='MultiTaskModel',
    data_preprocessor=dict(type='HRVDataPreprocessor', pad_size_divisor=128),   # FCOS p7: stride 128
    backbone=dict(type='HRNet', arch='hrnet_w32', upsample_mode='bilinear', align_corners=False, norm_momentum=0.1),
    heads=dict(
        pose=dict(type='PoseHead', num_keypoints=17, boxes='detection', person_label=0, box_thr=0.3,
                  codec=dict(type='PoseHeatmapCodec', input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)),
        det=dict(type='DetectionHead', kind='fcos', num_classes=80, neck=dict(out_channels=256, num_outs=5,
                                                                                 stride=2),
                 center_sampling_radius=1.5, score_thresh=0.05, nms_thresh=0.6, detections_per_img=100,
                 topk_candidates=1000),
        seg=dict(type='SegmentationHead', num_classes=2),
    ),
    loss_weights=dict(pose=1000.0, det=1.0, seg=1.0),   # heatmap MSE is ~1e-3 per element
    uncertainty=False,
)
train_pipeline = [dict(type='LoadMultiTaskInputs'), dict(type='MultiTaskResize', scale=(1333, 800)),
                  dict(type='MultiTaskRandomFlip', prob=0.5), dict(type='PackMultiTaskInputs')]
test_pipeline = [dict(type='LoadMultiTaskInputs'), dict(type='MultiTaskResize', scale=(1333, 800)),
                 dict(type='PackMultiTaskInputs')]
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CocoMultiTaskDataset', data_root=data_root, ann_file='annotations/instances_train2017.json',
                 kpt_file='annotations/person_keypoints_train2017.json', data_prefix=dict(img='train2017/'),
                 tasks=tasks, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoMultiTaskDataset', data_root=data_root, ann_file='annotations/instances_val2017.json',
                 kpt_file='annotations/person_keypoints_val2017.json', data_prefix=dict(img='val2017/'),
                 tasks=tasks, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='MultiTaskEvaluator', metrics=[
    dict(type='CocoDetectionMetric', prefix='det'),             # ann_file: the dataset's
    dict(type='MultiTaskKeypointMetric', prefix='pose'),  # ann_file: the dataset's kpt_file
    dict(type='SegmentationMetric', num_classes=2, class_names=('background', 'person'), prefix='seg'),
    dict(type='MultiTaskOutputs', max_pictures=32),
])
test_evaluator = val_evaluator
# FCOS 1x-like schedule for a total batch of 16 (8 x 2), epoch-based (the same 12 epochs on any number of GPUs):
# SGD, a 500-iteration warm-up, steps after epochs 8 and 11.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
                     clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=12, milestones=[8, 11], gamma=0.1),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=3),
                     logger=dict(type='LoggerHook', interval=50))
