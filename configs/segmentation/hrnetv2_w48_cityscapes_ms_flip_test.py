# The official README test protocol: scales 0.5-1.75, flip, 1024x2048 windows (stride = window).
#   hrvision test configs/segmentation/hrnetv2_w48_cityscapes_ms_flip_test.py CKPT --out preds/
_base_ = ['./hrnetv2_w48_cityscapes_512x1024.py']
model = dict(test_cfg=dict(scales=[0.5, 0.75, 1.0, 1.25, 1.5, 1.75], flip=True, base_size=2048,
                           crop_size=(1024, 2048), stride=(1024, 2048)))
