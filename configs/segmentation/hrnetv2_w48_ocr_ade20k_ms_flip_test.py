# The HRNet-OCR README test protocol for ADE20K + OCR: scales 0.5-2.0 + flip, 520x520 windows at stride 346.
# Published: mIoU 45.5 (single scale 44.5).
#   hrvision test configs/segmentation/hrnetv2_w48_ocr_ade20k_ms_flip_test.py hrnet_ocr_ade20k_4451_torch04.pth
_base_ = ['./hrnetv2_w48_ocr_ade20k_520x520.py']
model = dict(test_cfg=dict(scales=[0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], flip=True))
