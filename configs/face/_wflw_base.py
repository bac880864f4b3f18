# WFLW data, evaluation and the official face pipeline (HRNet-Facial-Landmark-Detection, SPEC §2.3).
# Layout: data/wflw/WFLW_images/... and data/wflw/WFLW_annotations/... (the official release).
_base_ = ['../_base_/default_runtime.py']
custom_imports = dict(imports=['hrvision.tasks.face'], allow_failed_imports=False)

data_root = 'data/wflw/'
input_size = (256, 256)
bytescale = True  # official per-crop min-max byte-scaling (SPEC §8.11); False keeps pixel values
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='FaceRandomAugment', scale_factor=0.25, rot_factor=30, rot_prob=0.6, flip_prob=0.5),
    dict(type='FaceCrop', input_size=input_size, bytescale=bytescale),
    dict(type='FaceHeatmapTargets'),   # the model's codec (model.codec; hrvision.tasks.face.config)
    dict(type='PackFaceInputs'),
]
test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='FaceCrop', input_size=input_size, bytescale=bytescale),
    dict(type='PackFaceInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='WFLWDataset', data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='WFLWDataset', data_root=data_root, split='test', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='FaceNMEMetric', thresholds=(0.08, 0.10))
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
