# The official (HRNet-OCR README) ADE20K test protocol: TEST.SCALE_LIST 0.5,...,2.0, TEST.FLIP_TEST True; long side
# 520 x {0.5, ..., 2.0}, 520x520 windows at stride 346. Published: mIoU 44.2 (W48+OCR 45.5).
#   hrvision test configs/segmentation/hrnetv2_w48_ade20k_ms_flip_test.py CKPT
_base_ = ['./hrnetv2_w48_ade20k_520x520.py']
model = dict(test_cfg=dict(scales=[0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], flip=True, base_size=520,
                           crop_size=(520, 520), stride=(346, 346), window='pad'))
