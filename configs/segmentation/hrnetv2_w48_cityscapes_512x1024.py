# HRNetV2-W48 on Cityscapes, the official recipe (HRNet-Semantic-Segmentation, seg_hrnet_w48_train_512x1024_
# sgd_lr1e-2_wd5e-4_bs_12_epoch484.yaml): batch 12 = 3 per GPU x 4 GPUs
#   torchrun --nproc_per_node=4 -m hrvision train configs/segmentation/hrnetv2_w48_cityscapes_512x1024.py --launcher pytorch
# Class-weighted CE; bilinear fusion with align_corners=False (the Cityscapes yaml); BN momentum 0.1 (HRNet-OCR branch).
# Set model.pretrained to the ImageNet weights (hrnetv2_w48_imagenet_pretrained.pth); any format loads.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/cityscapes.py', '../_base_/schedules/poly_sgd.py']
arch = 'hrnet_w48'
model = dict(
    type='SegmentationModel',
    pretrained=None,
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    # preset 'segmentation' (bilinear, align_corners=False, momentum 0.1); neck/head inputs come from the backbone
    backbone=dict(type='HRNet', arch=arch, preset='segmentation'),
    neck=dict(type='HRNetV2Concat', mode='bilinear'),
    head=dict(type='SegmentationHead', num_classes=19,
              loss='ce', class_weight=[0.8373, 0.918, 0.866, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786, 1.0023,
                                       0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529, 1.0507]),
    # validation during training: single scale, no flip, full resolution (as the official validate())
    test_cfg=dict(scales=[1.0], flip=False, base_size=2048, crop_size=(1024, 2048), stride=(1024, 2048)),
)
# SyncBN across GPUs as the official training (converted by mmengine when launched distributed)
sync_bn = 'torch'
