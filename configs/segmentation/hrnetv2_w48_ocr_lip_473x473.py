# HRNetV2-W48 + OCR on LIP (20 human-parsing classes): the HRNet-OCR branch recipe
# (experiments/lip/seg_hrnet_ocr_w48_473x473_sgd_lr7e-3_wd5e-4_bs_40_epoch150.yaml, the README's test command): the
# plain LIP recipe (473x473, flip with the left/right classes swapped; SGD lr 7e-3, wd 5e-4, poly 0.9; batch 40 = 10
# per GPU x 4 GPUs; 150 epochs = 114,150 iterations) with the OCR head: ALIGN_CORNERS True (the config default), MID 512,
# KEY 256, dropout 0.05, LOSS.BALANCE_WEIGHTS [0.4, 1], plain CE.
#   torchrun --nproc_per_node=4 -m hrvision train configs/segmentation/hrnetv2_w48_ocr_lip_473x473.py --launcher pytorch
# Published (HRNet-OCR README, flip test: hrnetv2_w48_ocr_lip_flip_test.py): mIoU 56.48 (plain W48 55.83); checkpoint
# hrnet_ocr_lip_5648_torch04.pth (official keys).
_base_ = ['./hrnetv2_w48_lip_473x473.py']
model = dict(
    backbone=dict(align_corners=True),   # the OCR yamls' convention (neck and head follow the backbone)
    head=dict(_delete_=True, type='OCRHead', num_classes=20, mid_channels=512, key_channels=256, dropout=0.05,
              scale=1, loss='ce', loss_weights=(0.4, 1.0)),
)
