# HRNetV2-W18 face alignment on AFLW, the official recipe (HRNet-Facial-Landmark-Detection
# experiments/aflw/face_alignment_aflw_hrnet_w18.yaml): 256x256 input, 64x64 heatmaps, sigma 1.5, MSE loss; Adam
# lr 2e-4 (the AFLW yaml's; 300W, COFW and WFLW use 1e-4), no weight decay, batch 16 on one GPU (test batch 8),
# 60 epochs with the LR x0.1 after epochs 30 and 50; augmentation: scale x U(0.75, 1.25), rotation U(-30, 30) with
# p 0.6, flip p 0.5 with the 19-point pairs; test without flip (TEST.FLIP_TEST false).
# Published (official README, HRNetV2-W18; SPEC §5.3): NME full 1.57 %, frontal 1.46 % (normalised by the CSV's
# box_size, the official compute_nme for 19 points).
# Data: the official data/aflw: face_landmarks_aflw_{train,test,test_frontal}.csv (image_name, scale, box_size,
# center_w, center_h, 19 x/y pairs) and images/. The test set is 'full' with the frontal CSV's faces tagged, so the
# test prints full and frontal (NME / FR / AUC each).
# Iterations: 20,000 training faces / 16 = 1,250 per epoch -> 75,000; milestones 37,500 and 62,500.
# Official init: hrnetv2_w18_imagenet_pretrained.pth (--cfg-options model.pretrained=PATH).
_base_ = ['../_base_/default_runtime.py']
custom_imports = dict(imports=['hrvision.tasks.face'], allow_failed_imports=False)

data_root = 'data/aflw/'
input_size = (256, 256)
codec = dict(type='FaceHeatmapCodec', input_size=input_size, heatmap_size=(64, 64), sigma=1.5)
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='FaceRandomAugment', scale_factor=0.25, rot_factor=30, rot_prob=0.6, flip_prob=0.5),
    dict(type='FaceCrop', input_size=input_size, bytescale=True),   # official per-crop byte-scaling (SPEC §8.11)
    dict(type='FaceHeatmapTargets', codec=codec),
    dict(type='PackFaceInputs'),
]
test_pipeline = [dict(type='LoadFaceImage'), dict(type='FaceCrop', input_size=input_size, bytescale=True),
                 dict(type='PackFaceInputs')]
train_dataloader = dict(
    batch_size=16, num_workers=4, persistent_workers=True, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='FaceAFLWDataset', data_root=data_root, subset='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=4, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FaceAFLWDataset', data_root=data_root, subset='full', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='FaceNMEMetric', thresholds=(0.08, 0.10))
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

model = dict(
    type='FaceModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', arch='hrnet_w18', preset='face'),   # bilinear fuse, BN momentum 0.01
    neck=dict(type='HRNetV2Concat'),
    head=dict(type='FaceHead', num_landmarks=19, kernel=1),
    codec=codec,
    pretrained=None,
    test_cfg=dict(flip_test=False),
)
iters_per_epoch = 1250
max_iters = 60 * iters_per_epoch
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, weight_decay=0.0))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
                        milestones=[30 * iters_per_epoch, 50 * iters_per_epoch], gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5 * iters_per_epoch)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5 * iters_per_epoch,
                                     max_keep_ckpts=3, save_best='face/NME', rule='less'),
                     logger=dict(type='LoggerHook', interval=50))
