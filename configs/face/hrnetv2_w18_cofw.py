# HRNetV2-W18 face alignment on COFW, the official recipe (HRNet-Facial-Landmark-Detection
# experiments/cofw/face_alignment_cofw_hrnet_w18.yaml): 256x256 input, 64x64 heatmaps, sigma 1.5, MSE loss; Adam
# lr 1e-4 (no weight decay), batch 16 on one GPU (test batch 8), 60 epochs with the LR x0.1 after epochs 30 and 50;
# augmentation: scale x U(0.75, 1.25), rotation U(-30, 30) with p 0.6, flip p 0.5 with the 29-point pairs; test
# without flip (TEST.FLIP_TEST false).
# Published (official README, HRNetV2-W18 on COFW test; SPEC §5.3): NME 3.45 % (inter-ocular: ||gt[8] - gt[9]||,
# the official compute_nme for 29 points), FR@0.1 0.20 %.
# Data: the official data/cofw: COFW_train_color.mat / COFW_test_color.mat (images inside; MATLAB v5-v7.2 files read
# with scipy.io, v7.3 (HDF5) files with h5py, which must then be installed: pip install h5py), or the CSV form
# face_landmarks_cofw_{train,test}.csv with images/ (FaceCOFWDataset picks the .mat when present).
# Crop box as the official COFW loader: floor/ceil of the landmarks' box, max side / 200, x1.25.
# Iterations: 1,345 training faces / 16 = 85 per epoch (the last partial batch kept) -> 5,100; milestones 2,550 and
# 4,250. Official init: hrnetv2_w18_imagenet_pretrained.pth (--cfg-options model.pretrained=PATH).
_base_ = ['../_base_/default_runtime.py']
custom_imports = dict(imports=['hrvision.tasks.face'], allow_failed_imports=False)

data_root = 'data/cofw/'
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
    dataset=dict(type='FaceCOFWDataset', data_root=data_root, subset='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=4, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FaceCOFWDataset', data_root=data_root, subset='test', test_mode=True, pipeline=test_pipeline))
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
    head=dict(type='FaceHead', num_landmarks=29, kernel=1),
    codec=codec,
    pretrained=None,
    test_cfg=dict(flip_test=False),
)
iters_per_epoch = 85
max_iters = 60 * iters_per_epoch
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.0))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
                        milestones=[30 * iters_per_epoch, 50 * iters_per_epoch], gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5 * iters_per_epoch)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5 * iters_per_epoch,
                                     max_keep_ckpts=3, save_best='face/NME', rule='less'),
                     logger=dict(type='LoggerHook', interval=50))
