# The HRNet-OCR README test protocol for LIP + OCR (TEST.FLIP_TEST True, one scale; the mirrored scores flipped back
# with the left/right class channels swapped). Published: mIoU 56.48.
#   hrvision test configs/segmentation/hrnetv2_w48_ocr_lip_flip_test.py hrnet_ocr_lip_5648_torch04.pth
_base_ = ['./hrnetv2_w48_ocr_lip_473x473.py']
model = dict(test_cfg=dict(scales=[1.0], flip=True))
