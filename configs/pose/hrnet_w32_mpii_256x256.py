# Official recipe of deep-high-resolution-net.pytorch experiments/mpii/hrnet/w32_256x256_adam_lr1e-3.yaml (SPEC §2.1
# "MPII"): 16 joints, input 256x256, heatmaps 64x64, sigma 2; scale 0.25, rotation 30 (p 0.6), flip, no half-body
# (PROB_HALF_BODY -1); Adam lr 1e-3 without weight decay; 210 epochs, lr x0.1 at epochs 170 and 200; batch 32/GPU x
# 4 GPUs; flip test. Official MPII val (README of that repo, SPEC §5.1), pose_hrnet_w32 256x256, PCKh@0.5:
# Head 97.1, Shoulder 95.9, Elbow 90.3, Wrist 86.4, Hip 89.1, Knee 87.1, Ankle 83.3, Mean 90.3, Mean@0.1 37.7.
# The COCO W32 recipe (hrnet_w32_coco_256x192.py: model, Adam, 210 epochs, steps at 170 / 200, flip test) with MPII's
# data, joints, augmentation and metric; the official annot/train.json's 22,246 entries at a total batch of 128 make
# 174 iterations per epoch.
# Data: data/mpii/{images/, annot/{train,valid,test}.json, annot/gt_valid.mat} as the official repo lays it out.
# Test split (labels not public): hrvision test CONFIG CKPT --out DIR --cfg-options
#   test_dataloader.dataset.ann_file=annot/test.json test_evaluator.format_only=True   -> DIR/pred.mat for the server
_base_ = ['./hrnet_w32_coco_256x192.py']
data_root = 'data/mpii/'
# 256x256 crops; heatmap_size follows in code from the map the head reads: input / stride 4 = 64x64
model = dict(head=dict(num_keypoints=16), codec=dict(input_size=(256, 256), sigma=2))
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
# PCKh with the official head boxes (tasks/pose/mpii_metric.py); pred.mat goes to the work dir (or hrvision test --out)
val_evaluator = dict(_delete_=True, type='MPIIPoseMetric', gt_file=data_root + 'annot/gt_valid.mat')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='mpii/Mean'))
