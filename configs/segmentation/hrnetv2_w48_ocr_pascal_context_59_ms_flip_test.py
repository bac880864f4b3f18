# The HRNet-OCR README test protocol for PASCAL-Context + OCR (TEST.SCALE_LIST 0.5,...,2.0, TEST.FLIP_TEST True):
# long side 520 x {0.5, ..., 2.0}, flip, 520x520 windows at stride 346. Published: mIoU 56.2 (59 classes).
#   hrvision test configs/segmentation/hrnetv2_w48_ocr_pascal_context_59_ms_flip_test.py hrnet_ocr_pascal_ctx_5618_torch11.pth
_base_ = ['./hrnetv2_w48_ocr_pascal_context_59_520x520.py']
model = dict(test_cfg=dict(scales=[0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], flip=True))
