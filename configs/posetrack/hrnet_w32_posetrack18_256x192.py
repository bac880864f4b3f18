# PoseTrack-fine-tuned W32 256x192: the 17 outputs are the PoseTrack joints (slot 1 head_bottom, slot 2 head_top
# instead of COCO's eyes; both on the body axis, so the flip test and the flip augmentation swap only the ears
# and the body's left/right pairs).
#   evaluate:  hrvision bench posetrack configs/posetrack/hrnet_w32_posetrack18_256x192.py CKPT \
#                  --data-root data/posetrack18
#   fine-tune: hrvision train configs/posetrack/hrnet_w32_posetrack18_256x192.py \
#                  --cfg-options load_from=pose_hrnet_w32_256x192.pth   (a COCO W32 checkpoint: same shapes)
# Training reads the PoseTrack 2018 per-video files of data/posetrack18/annotations/train/ (PoseTrackDataset,
# labelled frames, ground-truth boxes) with the COCO recipe's augmentation; Adam lr 1e-4 for 20 epochs, x0.1
# after 10 and 15 (epoch-based, as the COCO recipe). No val and no test loop: the
# protocol is per video (bench posetrack, on annotations/val); test_dataloader only holds the test pipeline
# bench posetrack runs, on the PoseTrack val set, so every dataset reads data_root (--data-root moves them all).
_base_ = ['../pose/hrnet_w32_coco_256x192.py']
data_root = 'data/posetrack18/'
posetrack_joints = 'posetrack'
model = dict(pretrained=None)
train_dataloader = dict(dataset=dict(
    type='PoseTrackDataset', data_root=data_root, ann_file='annotations/train', data_prefix=dict(img=''),
    pipeline={{_base_.train_pipeline}}))   # the COCO recipe's augmentation; crops and targets: the model's codec
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = dict(dataset=dict(
    _delete_=True, type='PoseTrackDataset', data_root=data_root, ann_file='annotations/val', data_prefix=dict(img=''),
    test_mode=True, pipeline={{_base_.test_pipeline}}))
test_cfg = None
test_evaluator = None
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[10, 15], gamma=0.1)]
train_cfg = dict(max_epochs=20)
default_hooks = dict(checkpoint=dict(interval=5, save_best=None))
