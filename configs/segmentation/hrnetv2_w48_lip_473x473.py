# HRNetV2-W48 on LIP (20 human-parsing classes): the official recipe (HRNet-Semantic-Segmentation master,
# experiments/lip/seg_hrnet_w48_473x473_sgd_lr7e-3_wd5e-4_bs_40_epoch150.yaml): images resized to 473x473, long
# side 473 x [0.5, 1.6], 473x473 crops, flip with left/right classes swapped; SGD lr 7e-3, momentum 0.9, wd 5e-4,
# poly 0.9; batch 40 = 10 per GPU x 4 GPUs; 150 epochs x 761 iterations (30462 train images // 40) = 114,150.
#   torchrun --nproc_per_node=4 -m hrvision train configs/segmentation/hrnetv2_w48_lip_473x473.py --launcher pytorch
# The published number (flip test, single scale: hrnetv2_w48_lip_flip_test.py): mIoU 55.83 (W48+OCR: 56.48; the
# master README says 56.04; SPEC §5.2).
# Set model.pretrained to the ImageNet weights (hrnetv2_w48_imagenet_pretrained.pth); any format loads.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/lip.py']
max_iters = 114150
model = dict(
    type='SegmentationModel',
    pretrained=None,
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    # preset 'segmentation': bilinear fuse, align_corners=False (the plain lip yaml), BN momentum 0.1
    backbone=dict(type='HRNet', arch='hrnet_w48', preset='segmentation'),
    neck=dict(type='HRNetV2Concat', mode='bilinear'),
    head=dict(type='SegmentationHead', num_classes=20, loss='ce'),
    # validation during training: the 473x473 image, no flip (one 473x473 window: the official generic test)
    test_cfg=dict(scales=[1.0], flip=False, base_size=473, crop_size=(473, 473), window='pad'),
)
sync_bn = 'torch'
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=7e-3, momentum=0.9, weight_decay=5e-4,
                                                         nesterov=False))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
