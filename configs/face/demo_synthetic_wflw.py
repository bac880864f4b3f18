# Demo: a tiny HRNetV2 (branch widths 8/16/32/64, one module per stage) learning 98-point landmarks on
# synthetic WFLW in about two minutes on a CPU. Not the official recipe (see hrnetv2_w18_wflw.py): 96x96 input,
# 24x24 heatmaps, Adam 5e-3 (the official 1e-4 is for 28k iterations), BatchNorm momentum 0.1 instead of the
# official 0.01 (running statistics must settle within 300 iterations).
#   hrvision data synth-wflw data/synth_wflw --train 256 --test 64
#   hrvision train configs/face/demo_synthetic_wflw.py --work-dir work_dirs/face_demo
#   hrvision bench wflw --config configs/face/demo_synthetic_wflw.py --checkpoint work_dirs/face_demo/iter_300.pth \
#       --data-root data/synth_wflw --out work_dirs/face_demo/bench
_base_ = ['./_wflw_base.py']
data_root = 'data/synth_wflw/'
input_size = (96, 96)
small = [8, 16, 32, 64]
tiny_hrnet = dict(
    STAGE1=dict(NUM_MODULES=1, NUM_BLOCKS=[1], NUM_CHANNELS=[16], BLOCK='BOTTLENECK'),
    STAGE2=dict(NUM_MODULES=1, NUM_BLOCKS=[1, 1], NUM_CHANNELS=small[:2]),
    STAGE3=dict(NUM_MODULES=1, NUM_BLOCKS=[1, 1, 1], NUM_CHANNELS=small[:3]),
    STAGE4=dict(NUM_MODULES=1, NUM_BLOCKS=[1, 1, 1, 1], NUM_CHANNELS=small))
model = dict(
    type='FaceModel',
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    backbone=dict(type='HRNet', extra=tiny_hrnet, preset='face', norm_momentum=0.1),   # explicit keys win
    neck=dict(type='HRNetV2Concat'),
    head=dict(type='FaceHead', num_landmarks=98, kernel=1),   # BN momentum: the backbone's (0.1)
    # the training targets take this codec too (hrvision.tasks.face.config)
    codec=dict(type='FaceHeatmapCodec', input_size=input_size, heatmap_size=(24, 24), sigma=1.5),
    # flip test off: the official face test does not flip (TEST.FLIP_TEST false, SPEC §4.3); True averages the
    # mirrored crop's heatmaps (WFLW pairs), e.g. --cfg-options model.test_cfg.flip_test=True
    test_cfg=dict(flip_test=False),
)
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='FaceRandomAugment', scale_factor=0.25, rot_factor=30, rot_prob=0.6, flip_prob=0.5),
    dict(type='FaceCrop', input_size=input_size),
    dict(type='FaceHeatmapTargets'),   # model.codec
    dict(type='PackFaceInputs'),
]
test_pipeline = [dict(type='LoadFaceImage'), dict(type='FaceCrop', input_size=input_size), dict(type='PackFaceInputs')]
train_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
max_iters = 300
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-3, weight_decay=0.0))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
                   dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[250], gamma=0.2)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(type='LoggerHook', interval=25),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
