# HRNetV2-W48 on PASCAL-Context, 59 classes (background ignored): the official recipe (HRNet-Semantic-Segmentation
# master, experiments/pascal_ctx/seg_hrnet_w48_cls59_480x480_sgd_lr4e-3_wd1e-4_bs_16_epoch200.yaml): 480x480 crops
# from long side 520 x [0.5, 2.1], flip; SGD lr 4e-3, momentum 0.9, wd 1e-4, poly 0.9; batch 16 = 4 per GPU x 4 GPUs;
# 200 epochs x 312 iterations (4998 train images // 16) = 62,400 iterations.
#   torchrun --nproc_per_node=4 -m hrvision train configs/segmentation/hrnetv2_w48_pascal_context_59_480x480.py --launcher pytorch
# The published number (MS+flip test, hrnetv2_w48_pascal_context_59_ms_flip_test.py): mIoU 54.1 (W48+OCR: 56.2;
# SPEC §5.2). 520x520 crops are the HRNet-OCR branch's size for this dataset.
# Set model.pretrained to the ImageNet weights (hrnetv2_w48_imagenet_pretrained.pth); any format loads.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/pascal_context.py']
max_iters = 62400
model = dict(
    type='SegmentationModel',
    pretrained=None,
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    # preset 'segmentation': bilinear fuse, align_corners=False (the plain pascal_ctx yamls), BN momentum 0.1
    backbone=dict(type='HRNet', arch='hrnet_w48', preset='segmentation'),
    neck=dict(type='HRNetV2Concat', mode='bilinear'),
    head=dict(type='SegmentationHead', num_classes=59, loss='ce'),
    # validation during training: single scale, no flip (as the official validate()); the official generic sliding
    # window (lib/datasets/base_dataset.py multi_scale_inference): 480x480 windows at stride 2/3 (320), the image
    # and the border windows padded with black (window='pad')
    test_cfg=dict(scales=[1.0], flip=False, base_size=520, crop_size=(480, 480), stride=(320, 320), window='pad'),
)
sync_bn = 'torch'   # SyncBN across GPUs as the official training (converted by mmengine when launched distributed)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=4e-3, momentum=0.9, weight_decay=1e-4,
                                                         nesterov=False))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
