# HRNetV2-W18 face alignment on 300W, the official recipe (HRNet-Facial-Landmark-Detection
# experiments/300w/face_alignment_300w_hrnet_w18.yaml): 256x256 input, 64x64 heatmaps, sigma 1.0 (the 300W yaml's;
# WFLW, COFW and AFLW use 1.5), MSE loss; Adam lr 1e-4 (no weight decay), batch 16 on one GPU (test batch 8),
# 60 epochs with the LR x0.1 after epochs 30 and 50; augmentation: scale x U(0.75, 1.25), rotation U(-30, 30) with
# p 0.6, flip p 0.5 with the 68-point pairs; test without flip (TEST.FLIP_TEST false).
# Published (official README, HRNetV2-W18, NME % inter-ocular = outer eye corners 36/45; SPEC §5.3):
#   common 2.91, challenging 5.11, full 3.34, test 3.85.
# Data: the official data/300w (face_landmarks_300w_{train,valid,valid_common,valid_challenge,test}.csv + images/),
# or the 300W release (.pts beside the images in images/{lfpw,helen}/{trainset,testset}, images/afw, images/ibug):
# Face300WDataset reads the CSVs when present, else the .pts files. The test set is 'full' = common + challenging,
# each face tagged, so the test prints full, common and challenging (NME / FR / AUC each).
# Iterations: 3,148 training faces / 16 = 197 per epoch (the last partial batch kept) -> 11,820; milestones 5,910
# and 9,850. Official init: hrnetv2_w18_imagenet_pretrained.pth (--cfg-options model.pretrained=PATH).
_base_ = ['../_base_/default_runtime.py']
custom_imports = dict(imports=['hrvision.tasks.face'], allow_failed_imports=False)

data_root = 'data/300w/'
input_size = (256, 256)
codec = dict(type='FaceHeatmapCodec', input_size=input_size, heatmap_size=(64, 64), sigma=1.0)
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
    dataset=dict(type='Face300WDataset', data_root=data_root, subset='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=4, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='Face300WDataset', data_root=data_root, subset='full', test_mode=True, pipeline=test_pipeline))
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
    head=dict(type='FaceHead', num_landmarks=68, kernel=1),
    codec=codec,
    pretrained=None,
    test_cfg=dict(flip_test=False),
)
iters_per_epoch = 197
max_iters = 60 * iters_per_epoch
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.0))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
                        milestones=[30 * iters_per_epoch, 50 * iters_per_epoch], gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5 * iters_per_epoch)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5 * iters_per_epoch,
                                     max_keep_ckpts=3, save_best='face/NME', rule='less'),
                     logger=dict(type='LoggerHook', interval=50))
