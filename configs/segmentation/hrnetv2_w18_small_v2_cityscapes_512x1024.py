# HRNetV2-W18-Small-v2 (3.9M params, 71.6 GFLOPs at 1024x2048; README: 76.2 mIoU), same recipe.
_base_ = ['./hrnetv2_w48_cityscapes_512x1024.py']
arch = 'hrnet_w18_small_v2'
model = dict(backbone=dict(arch=arch))   # neck/head input channels follow the backbone
