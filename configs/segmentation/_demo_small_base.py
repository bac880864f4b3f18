# The CPU demos of the official segmentation datasets (demo_ade20k.py, demo_pascal_context.py, demo_lip.py): a small
# HRNetV2 (W18-Small-v1 widths) trained on their synthetic sets in minutes with AdamW and a short poly schedule on
# 64x64 crops, tested with the flip test. Not the official recipes (hrnetv2_w48_*.py). Each demo adds its dataset
# base, its class count and its data_root. (The ADE20K and PASCAL-Context bases state their crop and rescale sizes in
# their pipelines, not as top-level variables, so a demo's dumped config shows no size its pipeline does not use.)
_base_ = ['../_base_/demo_runtime.py']   # AdamW, warm-up + poly, 200 iterations
demo_crop_size = (64, 64)
demo_base_size = 80
model = dict(
    type='SegmentationModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', arch='hrnet_w18_small_v1', preset='segmentation'),
    neck=dict(type='HRNetV2Concat', mode='bilinear'),
    head=dict(type='SegmentationHead', loss='ce'),   # num_classes: the demo's dataset
    test_cfg=dict(scales=[1.0], flip=True),
)
demo_train_pipeline = [
    dict(type='LoadSegmentationFolder'),
    dict(type='RandomRescale', base_size=demo_base_size, scale_range=(0.8, 1.2), step=0.1),
    dict(type='PadRandomCrop', crop_size=demo_crop_size),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs'),
]
