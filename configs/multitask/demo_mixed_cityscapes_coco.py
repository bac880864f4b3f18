# Mixed sources: Cityscapes-format scenes label the 19-class segmentation head, COCO-format people label the
# keypoint head; every batch comes from one source (MultiTaskBatchSampler, alternating) and is labelled for its own
# head, so the other head gets exactly zero gradient from it. CPU demo on synthetic data:
#   hrvision data synth-cityscapes work_dirs/demo/data ; hrvision data synth-coco-multi work_dirs/multitask_demo/data
_base_ = ['../_base_/default_runtime.py']
custom_imports = dict(imports=['hrvision.tasks.multitask', 'hrvision.tasks.segmentation'], allow_failed_imports=False)
env_cfg = dict(cudnn_benchmark=False)   # COCO-source batches keep their image sizes (a cuDNN search per new shape)
city_root = 'work_dirs/demo/data'
coco_root = 'work_dirs/multitask_demo/data/'
max_iters = 300
model = dict(
    type='MultiTaskModel',
    data_preprocessor=dict(type='HRVDataPreprocessor', pad_size_divisor=32),
    backbone=dict(type='HRNet', arch='hrnet_w18_small_v1', upsample_mode='bilinear', align_corners=False),
    heads=dict(
        seg=dict(type='SegmentationHead', num_classes=19),
        pose=dict(type='PoseHead', num_keypoints=17, boxes='gt',
                  codec=dict(type='PoseHeatmapCodec', input_size=(72, 96), heatmap_size=(18, 24), sigma=1.5)),
    ),
    loss_weights=dict(seg=1.0, pose=300.0),
)
seg_train = [dict(type='LoadCityscapes'), dict(type='RandomRescale', base_size=256, scale_range=(0.8, 1.4), step=0.1),
             dict(type='PadRandomCrop', crop_size=(128, 256)), dict(type='SegmentationRandomFlip', prob=0.5),
             dict(type='PackSegmentationInputs')]
pose_train = [dict(type='LoadMultiTaskInputs'), dict(type='MultiTaskRandomFlip', prob=0.5),
              dict(type='PackMultiTaskInputs')]
seg_test = [dict(type='LoadCityscapes'), dict(type='PackSegmentationInputs')]
pose_test = [dict(type='LoadMultiTaskInputs'), dict(type='PackMultiTaskInputs')]


def _coco(split, pipeline, test_mode=False):
    return dict(type='CocoMultiTaskDataset', data_root=coco_root, ann_file=f'annotations/instances_{split}2017.json',
                kpt_file=f'annotations/person_keypoints_{split}2017.json', data_prefix=dict(img=f'{split}2017/'),
                tasks=dict(pose='pose'), test_mode=test_mode, pipeline=pipeline)


train_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='MultiTaskBatchSampler', mode='alternate'),
    dataset=dict(type='MultiSourceDataset', sources=[
        dict(dataset=dict(type='CityscapesDataset', data_root=city_root, split='train', pipeline=seg_train),
             tasks=['seg']),
        dict(dataset=_coco('train', pose_train), tasks=['pose'])]))
val_dataloader = dict(
    batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='MultiSourceDataset', sources=[
        dict(dataset=dict(type='CityscapesDataset', data_root=city_root, split='val', pipeline=seg_test),
             tasks=['seg']),
        dict(dataset=_coco('val', pose_test, True), tasks=['pose'])]))
test_dataloader = val_dataloader
val_evaluator = dict(type='MultiTaskEvaluator', metrics=[
    dict(type='SegmentationMetric', num_classes=19, prefix='seg', task='seg'),
    dict(type='MultiTaskKeypointMetric', ann_file=coco_root + 'annotations/person_keypoints_val2017.json',
         prefix='pose', task='pose'),
])
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, begin=0, end=20, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=25),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
