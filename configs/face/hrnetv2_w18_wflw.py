# HRNetV2-W18 face alignment on WFLW, the official recipe (experiments/wflw/face_alignment_wflw_hrnet_w18.yaml):
# 256x256 input, 64x64 heatmaps, sigma 1.5, MSE loss; Adam lr 1e-4 (no weight decay), batch 16 on one GPU,
# 60 epochs with the LR x0.1 after epochs 30 and 50.
# Iterations: 7,500 training faces / 16 = 469 iterations per epoch (the official loader keeps the last
# partial batch) -> 28,140 iterations, milestones 14,070 and 23,450. (The official script steps its
# scheduler at the start of each epoch, which on PyTorch >= 1.1 decays one epoch early: after 29 and 49
# epochs, SPEC §8.9; we use the yaml's milestones.)
# Official init: ImageNet hrnetv2_w18_imagenet_pretrained.pth: set model.pretrained to its path
# (--cfg-options model.pretrained=...; official, timm and hrvision layouts load 1:1).
_base_ = ['./_wflw_base.py']
model = dict(
    type='FaceModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    # preset 'face': bilinear fuse, align_corners=False, BN momentum 0.01; neck/head inputs and head BN momentum
    # come from the backbone
    backbone=dict(type='HRNet', arch='hrnet_w18', preset='face'),
    neck=dict(type='HRNetV2Concat'),
    head=dict(type='FaceHead', num_landmarks=98, kernel=1),   # BN momentum: the backbone's (preset)
    codec={{_base_.codec}},
    pretrained=None,
    # flip test off: the official face test does not flip (TEST.FLIP_TEST false, SPEC §4.3); True averages the
    # mirrored crop's heatmaps (WFLW pairs), e.g. --cfg-options model.test_cfg.flip_test=True
    test_cfg=dict(flip_test=False),
)
iters_per_epoch = 469
max_iters = 60 * iters_per_epoch
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.0))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
                        milestones=[30 * iters_per_epoch, 50 * iters_per_epoch], gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5 * iters_per_epoch)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5 * iters_per_epoch,
                                     max_keep_ckpts=3, save_best='face/NME', rule='less'),
                     logger=dict(type='LoggerHook', interval=50))
