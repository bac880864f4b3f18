# LIP on CPU in minutes (_demo_small_base.py) on the synthetic people that
#   hrvision data synth-lip data/lip_synth
# writes in the LIP layout (20 classes; left/right limbs, swapped by the flip augmentation and the flip test:
# the official LIP test). Not the official recipe (hrnetv2_w48_lip_473x473.py); inputs resized to 64x64 first.
_base_ = ['./_demo_small_base.py', '../_base_/datasets/lip.py']
data_root = 'data/lip_synth'
crop_size = {{_base_.demo_crop_size}}
base_size = 64   # the long side after the 64x64 resize
model = dict(head=dict(num_classes=20))
train_pipeline = [
    dict(type='LoadSegmentationFolder'),
    dict(type='SegmentationResize', size=crop_size),
    dict(type='RandomRescale', base_size=base_size, scale_range=(0.8, 1.2), step=0.1),
    dict(type='PadRandomCrop', crop_size=crop_size),
    dict(type='SegmentationRandomFlip', prob=0.5),
    dict(type='PackSegmentationInputs'),
]
test_pipeline = [dict(type='LoadSegmentationFolder'), dict(type='SegmentationResize', size=crop_size, keep_label=True),
                 dict(type='PackSegmentationInputs')]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
