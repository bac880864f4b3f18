# Your own segmentation data in the generic folder format (docs/custom_data.md, "Segmentation"): a tiny HRNetV2
# trained on the 5-class synthetic set that `hrvision data synth-seg data/seg_custom` writes (colour masks +
# metainfo.json). For your data: point data_root at it, data_prefix=dict(img=..., seg=...) at the image and mask
# folders (relative to data_root), set img_suffix / seg_map_suffix, and state the classes and palette
# (metainfo.json, or metainfo=dict(classes=(...), palette=[...]) below); model.head.num_classes must be the number
# of classes (checked before training).
_base_ = ['../_base_/demo_runtime.py']   # AdamW, warm-up + poly, 200 iterations
data_root = 'data/seg_custom'
crop_size = (64, 64)
model = dict(
    type='SegmentationModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', arch='hrnet_w18_small_v1', preset='segmentation'),
    neck=dict(type='HRNetV2Concat', mode='bilinear'),
    head=dict(type='SegmentationHead', num_classes=5, loss='ce'),
    test_cfg=dict(scales=[1.0], flip=False),
)
# classes + palette: metainfo.json in data_root (a relative from_file is looked up in data_root first)
_folder = dict(type='SegmentationFolderDataset', data_root=data_root, img_suffix='.png', seg_map_suffix='.png',
               mask_format='color', metainfo=dict(from_file='metainfo.json'))
train_pipeline = [
    dict(type='LoadSegmentationFolder'),
    dict(type='RandomRescale', base_size=128, scale_range=(0.8, 1.2), step=0.1),
    dict(type='PadRandomCrop', crop_size=crop_size),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs'),
]
test_pipeline = [dict(type='LoadSegmentationFolder'), dict(type='PackSegmentationInputs')]
train_dataloader = dict(batch_size=4, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(_folder, data_prefix=dict(img='images/train', seg='masks/train'),
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(_folder, data_prefix=dict(img='images/val', seg='masks/val'),
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='SegmentationMetric')   # classes (count and names) from the dataset's metainfo
test_evaluator = val_evaluator
