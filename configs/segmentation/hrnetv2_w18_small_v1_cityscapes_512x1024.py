# HRNetV2-W18-Small-v1 (1.5M params, 31.1 GFLOPs at 1024x2048; README: 70.3 mIoU), same recipe.
_base_ = ['./hrnetv2_w48_cityscapes_512x1024.py']
arch = 'hrnet_w18_small_v1'
model = dict(backbone=dict(arch=arch))   # neck/head input channels follow the backbone
