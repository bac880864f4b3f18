# Your own keypoints (issue 21): the pose demo on a COCO file with its own 12-keypoint category -- names in the
# file's order, an asymmetric skeleton, its own category id. Nothing restates the file: keypoint names, skeleton,
# flip pairs (from the left_/right_ names) and the keypoint count come from the file's categories[]; the config
# states only what COCO files have no field for (the OKS sigmas) and the head's channel count (checked against the
# data before training starts).
#   hrvision data synth-coco-pose work_dirs/pose_custom_demo/data --keypoints custom12 --n 64
#   hrvision train configs/pose/demo_custom_12kp.py --work-dir work_dirs/pose_custom_demo/train
_base_ = ['./demo_synthetic.py']
data_root = 'work_dirs/pose_custom_demo/data/'
metainfo = dict(sigmas=[.03, .07, .06, .05, .07, .07, .10, .06, .07, .09, .10, .09])
model = dict(head=dict(num_keypoints=12))
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
