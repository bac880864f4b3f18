# HRNetV2-W48 + OCR on ADE20K (150 classes): the HRNet-OCR branch recipe
# (experiments/ade20k/seg_hrnet_ocr_w48_520x520_ohem_sgd_lr2e-2_wd1e-4_bs_16_epoch120.yaml): the plain ADE20K recipe
# (520x520 crops, flip; SGD lr 0.02, wd 1e-4, poly 0.9; batch 16; 120 epochs = 151,560 iterations) with the OCR head:
# ALIGN_CORNERS True (the config default), MID 512, KEY 256, dropout 0.05, LOSS.BALANCE_WEIGHTS [0.4, 1], OHEM
# (thresh 0.9, min_kept 131072 per GPU) on the OCR output, plain CE on the auxiliary one (the official criterion).
#   torchrun --nproc_per_node=4 -m hrvision train configs/segmentation/hrnetv2_w48_ocr_ade20k_520x520.py --launcher pytorch
# Published (HRNet-OCR README, OHEM): mIoU 44.5 single scale, 45.5 MS+flip (hrnetv2_w48_ocr_ade20k_ms_flip_test.py);
# checkpoint hrnet_ocr_ade20k_4451_torch04.pth (official keys).
_base_ = ['./hrnetv2_w48_ade20k_520x520.py']
model = dict(
    backbone=dict(align_corners=True),   # the OCR yamls' convention (neck and head follow the backbone)
    head=dict(_delete_=True, type='OCRHead', num_classes=150, mid_channels=512, key_channels=256, dropout=0.05,
              scale=1, loss='ohem', ohem_thresh=0.9, ohem_min_kept=131072, loss_weights=(0.4, 1.0)),
)
