# HRNetV2-W48 + OCR on Cityscapes, the official recipe (HRNet-Semantic-Segmentation, HRNet-OCR branch,
# experiments/cityscapes/seg_hrnet_ocr_w48_train_512x1024_sgd_lr1e-2_wd5e-4_bs_12_epoch484.yaml): batch 12 = 3 per GPU
# x 4 GPUs, SGD lr 0.01 momentum 0.9 wd 5e-4, poly 0.9 per iteration over 484 epochs, 512x1024 crops.
#   torchrun --nproc_per_node=4 -m hrvision train configs/segmentation/hrnetv2_w48_ocr_cityscapes_512x1024.py --launcher pytorch
# Published (HRNet-OCR README, Cityscapes val, train split, single scale, no flip): W48 + OCR 81.6 mIoU vs 80.9 for
# HRNetV2-W48 alone; checkpoint hrnet_ocr_cs_8162_torch11.pth (official keys; loads strictly: from_official or
# `hrvision test/infer` with this config).
# OCR yaml conventions: ALIGN_CORNERS True (the config default; the plain Cityscapes yaml sets False), BN momentum 0.1,
# MODEL.OCR MID_CHANNELS 512 / KEY_CHANNELS 256 / DROPOUT 0.05 / SCALE 1, LOSS.BALANCE_WEIGHTS [0.4, 1] (auxiliary
# soft-region output 0.4, OCR output 1), class-weighted CE (USE_OHEM off in this yaml). The OHEM variant: set
# model.head.loss='ohem' (official thresh 0.9, min_kept 131072 per GPU; applied to the OCR output).
# Set model.pretrained to the ImageNet weights (hrnetv2_w48_imagenet_pretrained.pth); any format loads.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/cityscapes.py', '../_base_/schedules/poly_sgd.py']
arch = 'hrnet_w48'
model = dict(
    type='SegmentationModel',
    pretrained=None,
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    # preset 'segmentation' (bilinear, momentum 0.1) with the OCR yaml's align_corners=True; neck/head inputs and
    # align_corners come from the backbone
    backbone=dict(type='HRNet', arch=arch, preset='segmentation', align_corners=True),
    neck=dict(type='HRNetV2Concat', mode='bilinear'),
    head=dict(type='OCRHead', num_classes=19, mid_channels=512, key_channels=256, dropout=0.05, scale=1,
              loss='ce', loss_weights=(0.4, 1.0), ohem_thresh=0.9, ohem_min_kept=131072,
              class_weight=[0.8373, 0.918, 0.866, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786, 1.0023,
                            0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529, 1.0507]),
    # validation during training: single scale, no flip, full resolution (as the official validate()); the README
    # test protocol (scales 0.5-1.75 + flip) is model.test_cfg.scales/flip, as hrnetv2_w48_cityscapes_ms_flip_test.py
    test_cfg=dict(scales=[1.0], flip=False, base_size=2048, crop_size=(1024, 2048), stride=(1024, 2048)),
)
# SyncBN across GPUs as the official training (converted by mmengine when launched distributed)
sync_bn = 'torch'
