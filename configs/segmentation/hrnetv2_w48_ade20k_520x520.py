# HRNetV2-W48 on ADE20K (150 classes). The master branch has no ADE20K config; the HRNet-OCR branch does, and this is
# its plain-HRNet recipe (experiments/ade20k/seg_hrnet_w48_520x520_ohem_sgd_lr2e-2_wd1e-4_bs_16_epoch120.yaml, the
# published number's): 520x520 crops from long side 520 x [0.5, 1.6], flip; OHEM (thresh 0.9, min_kept 131072);
# SGD lr 0.02, momentum 0.9, wd 1e-4, poly 0.9; batch 16 = 4 per GPU x 4 GPUs; 120 epochs x 1263 iterations (20210
# train images // 16) = 151,560 iterations. (mmseg's fcn_hr48 ADE20K recipe instead: 512x512, lr 0.01, wd 5e-4,
# 160k iterations.) This yaml leaves MODEL.ALIGN_CORNERS at the OCR branch's default True (SPEC §2: only the plain
# Cityscapes / LIP / PASCAL-Context yamls set False), so the backbone states align_corners=True (neck and head follow).
#   torchrun --nproc_per_node=4 -m hrvision train configs/segmentation/hrnetv2_w48_ade20k_520x520.py --launcher pytorch
# Published (SPEC §5.2, OHEM): mIoU 43.1 single scale, 44.2 MS+flip (hrnetv2_w48_ade20k_ms_flip_test.py); W48+OCR
# 44.5 / 45.5.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/ade20k.py']
max_iters = 151560
model = dict(
    type='SegmentationModel',
    pretrained=None,
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', arch='hrnet_w48', preset='segmentation', align_corners=True),
    neck=dict(type='HRNetV2Concat', mode='bilinear'),
    head=dict(type='SegmentationHead', num_classes=150, loss='ohem', ohem_thresh=0.9, ohem_min_kept=131072),
    # validation during training: single scale, no flip; the official generic sliding window: 520x520 windows at
    # stride 2/3 (346), the image and the border windows padded with black (window='pad')
    test_cfg=dict(scales=[1.0], flip=False, base_size=520, crop_size=(520, 520), stride=(346, 346), window='pad'),
)
sync_bn = 'torch'
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4,
                                                         nesterov=False))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=8000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
