# The official README test protocol for LIP (TEST.FLIP_TEST True, one scale): the image resized to 473x473, the
# mirrored image's scores flipped back with the left/right class channels swapped (the dataset metadata's
# flip_class_indices), upsampled to the label's size. Published: mIoU 55.83 (W48+OCR 56.48).
#   hrvision test configs/segmentation/hrnetv2_w48_lip_flip_test.py CKPT
_base_ = ['./hrnetv2_w48_lip_473x473.py']
model = dict(test_cfg=dict(scales=[1.0], flip=True, base_size=473, crop_size=(473, 473), window='pad'))
