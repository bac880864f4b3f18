# CPU demo on synthetic MPII data in the official layout (`hrvision data synth-mpii work_dirs/mpii_demo/data --n 64`):
# the pose demo's small HRNet (demo_synthetic.py: W18-Small-v1 structure, pose conventions, lr 2e-3, 200 iterations)
# at 96x96 with the MPII reader, the official MPII augmentation, flip test and PCKh with the synthetic head boxes.
# Not the official recipe (see hrnet_w32_mpii_256x256.py).
_base_ = ['./demo_synthetic.py']
data_root = 'work_dirs/mpii_demo/data/'
model = dict(head=dict(num_keypoints=16), codec=dict(input_size=(96, 96)))   # heatmaps 24x24, in code
train_pipeline = [
    dict(type='LoadPoseImage'),
    dict(type='TopDownRandomScaleRotation', scale_factor=0.25, rot_factor=30, rot_prob=0.6),
    dict(type='PoseRandomFlip', prob=0.5),
    dict(type='TopDownAffine'),
    dict(type='PoseHeatmapTargets'),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(_delete_=True, type='MPIIPoseDataset', data_root=data_root,
                                     ann_file='annot/train.json', data_prefix=dict(img='images/'),
                                     pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(_delete_=True, type='MPIIPoseDataset', data_root=data_root,
                                   ann_file='annot/valid.json', data_prefix=dict(img='images/'), test_mode=True,
                                   pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='MPIIPoseMetric', gt_file=data_root + 'annot/gt_valid.mat')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='mpii/Mean', rule='greater'))
