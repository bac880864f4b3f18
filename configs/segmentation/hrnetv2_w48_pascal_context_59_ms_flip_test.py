# The official README test protocol for PASCAL-Context (TEST.SCALE_LIST 0.5,...,2.0, TEST.FLIP_TEST True): long side
# 520 x {0.5, 0.75, ..., 2.0}, flip, 480x480 windows at stride 320, padded (the official generic sliding window). Published: mIoU 54.1 (59 classes; W48+OCR 56.2).
#   hrvision test configs/segmentation/hrnetv2_w48_pascal_context_59_ms_flip_test.py CKPT
_base_ = ['./hrnetv2_w48_pascal_context_59_480x480.py']
model = dict(test_cfg=dict(scales=[0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], flip=True, base_size=520,
                           crop_size=(480, 480), stride=(320, 320), window='pad'))
