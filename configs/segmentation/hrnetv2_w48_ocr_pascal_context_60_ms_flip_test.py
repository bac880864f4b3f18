# The HRNet-OCR README test protocol for PASCAL-Context 60 classes + OCR: scales 0.5-2.0 + flip, 520x520 windows at
# stride 346. Published: mIoU 50.1.
#   hrvision test configs/segmentation/hrnetv2_w48_ocr_pascal_context_60_ms_flip_test.py CKPT
_base_ = ['./hrnetv2_w48_ocr_pascal_context_60_520x520.py']
model = dict(test_cfg=dict(scales=[0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], flip=True))
