# HRNetV2-W18 face alignment on WFLW, the official recipe (experiments/wflw/face_alignment_wflw_hrnet_w18.yaml):
# 256x256 input, 64x64 heatmaps, sigma 1.5, MSE loss; Adam lr 1e-4 (no weight decay), batch 16 on one GPU,
# 60 epochs with the LR x0.1 after epochs 30 and 50.
# Epoch-based as the official loop: 7,500 training faces / 16 = 469 iterations per epoch (the last partial batch
# kept). (The official script steps its scheduler at the start of each epoch, which on PyTorch >= 1.1 decays one
# epoch early: after 29 and 49 epochs, SPEC §8.9; we use the yaml's milestones.)
# The 300W, COFW and AFLW recipes are this file with their data, landmark count, sigma and lr
# (hrnetv2_w18_{300w,cofw,aflw}.py).
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
    # the training targets take this codec too (hrvision.tasks.face.config): heatmap size and sigma stated once
    codec=dict(type='FaceHeatmapCodec', input_size={{_base_.input_size}}, heatmap_size=(64, 64), sigma=1.5),
    pretrained=None,
    # flip test off: the official face test does not flip (TEST.FLIP_TEST false, SPEC §4.3); True averages the
    # mirrored crop's heatmaps (WFLW pairs), e.g. --cfg-options model.test_cfg.flip_test=True
    test_cfg=dict(flip_test=False),
)
train_dataloader = dict(sampler=dict(type='DefaultSampler', shuffle=True))   # epochs, the last batch kept
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.0))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[30, 50], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=60, val_interval=5)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=5, max_keep_ckpts=3,
                                     save_best='face/NME', rule='less'),
                     logger=dict(type='LoggerHook', interval=50))
