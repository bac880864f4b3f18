# HRNetV2-W48 + OCR on PASCAL-Context, 59 classes: the HRNet-OCR branch recipe
# (experiments/pascal_ctx/seg_hrnet_ocr_w48_cls59_520x520_sgd_lr1e-3_wd1e-4_bs_16_epoch200.yaml, the README's test
# command): 520x520 crops from long side 520 x [0.5, 2.1], flip; SGD lr 1e-3, momentum 0.9, wd 1e-4, poly 0.9; batch
# 16 = 4 per GPU x 4 GPUs; 200 epochs x 312 iterations = 62,400. OCR: ALIGN_CORNERS True (the config default), MID 512,
# KEY 256, dropout 0.05, LOSS.BALANCE_WEIGHTS [0.4, 1], plain CE (no class weights, no OHEM).
#   torchrun --nproc_per_node=4 -m hrvision train configs/segmentation/hrnetv2_w48_ocr_pascal_context_59_520x520.py --launcher pytorch
# Published (HRNet-OCR README, MS+flip: hrnetv2_w48_ocr_pascal_context_59_ms_flip_test.py): mIoU 56.2 (plain W48 54.1);
# checkpoint hrnet_ocr_pascal_ctx_5618_torch11.pth (official keys, loads strictly with this config).
# The dataset, its metadata and the rest of the recipe: hrnetv2_w48_pascal_context_59_480x480.py.
_base_ = ['./hrnetv2_w48_pascal_context_59_480x480.py']
crop_size = (520, 520)
model = dict(
    backbone=dict(align_corners=True),   # the OCR yamls' convention (neck and head follow the backbone)
    head=dict(_delete_=True, type='OCRHead', num_classes=59, mid_channels=512, key_channels=256, dropout=0.05,
              scale=1, loss='ce', loss_weights=(0.4, 1.0)),
    test_cfg=dict(crop_size=crop_size, stride=(346, 346)),   # 520x520 windows at stride 2/3
)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadSegmentationFolder'),
    dict(type='RandomRescale', base_size=520, scale_range=(0.5, 2.1), step=0.1),
    dict(type='PadRandomCrop', crop_size=crop_size),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs'),
]))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
