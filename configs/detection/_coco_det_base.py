# Shared COCO 2017 detection data, evaluation and 1x schedule for the HRNetV2p detectors.
# Layout: data/coco/{train2017,val2017}/ and data/coco/annotations/instances_{train,val}2017.json
_base_ = ['../_base_/default_runtime.py']
custom_imports = dict(imports=['hrvision.tasks.detection'], allow_failed_imports=False)
env_cfg = dict(cudnn_benchmark=False)   # keep-ratio resizing: batch sizes vary (a cuDNN search per new shape)

data_root = 'data/coco/'
# COCO's 80 categories (names and ids, stated once): a file with other ids is refused, and a COCO model reports
# COCO ids without an annotation file at hand. Your own data: metainfo=None (its file decides) or its own preset.
coco_categories = dict(from_file='_base_/datasets/coco_detection.py')
train_pipeline = [
    dict(type='LoadDetectionImage'),
    dict(type='DetectionResize', scale=(1333, 800)),  # keep aspect: long side <= 1333, short side <= 800
    dict(type='DetectionRandomFlip', prob=0.5),
    dict(type='PackDetectionInputs'),
]
test_pipeline = [
    dict(type='LoadDetectionImage'),
    dict(type='DetectionResize', scale=(1333, 800)),
    dict(type='PackDetectionInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,  # 8 GPUs x 2 images = batch 16
    sampler=dict(type='DefaultSampler', shuffle=True),   # epochs, the last partial batch kept
    dataset=dict(type='CocoDetectionDataset', data_root=data_root, ann_file='annotations/instances_train2017.json',
                 data_prefix=dict(img='train2017/'), filter_empty_gt=True, metainfo=coco_categories,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoDetectionDataset', data_root=data_root, ann_file='annotations/instances_val2017.json',
                 data_prefix=dict(img='val2017/'), test_mode=True, metainfo=coco_categories,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoDetectionMetric')  # ann_file comes from the dataset's metainfo
test_evaluator = val_evaluator

# 1x schedule = 12 epochs of COCO train2017 (117,266 images with boxes: 7,330 iterations per epoch at batch 16),
# epoch-based as mmdet's: the same 12 epochs on any number of GPUs (the learning rates are for a total batch of 16);
# a 500-iteration linear warm-up, then the LR x0.1 after epochs 8 and 11.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),  # linear warmup (iterations)
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=12, milestones=[8, 11], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=3),
                     logger=dict(type='LoggerHook', interval=50))
