# CPU demo: the pose demo's small HRNet (W18-Small-v1 structure, 96x72) learns the 17 PoseTrack joints on
# synthetic videos, then estimates + tracks the val videos (figures and timings in benchmarks/RESULTS.md):
#   hrvision data synth-posetrack work_dirs/posetrack_demo/data --n-train 24 --n-val 4
#   hrvision train configs/posetrack/demo_synthetic.py --work-dir work_dirs/posetrack_demo/train
#   hrvision bench posetrack configs/posetrack/demo_synthetic.py work_dirs/posetrack_demo/train/iter_200.pth \
#       --data-root work_dirs/posetrack_demo/data --out work_dirs/posetrack_demo/bench
# Training reads the per-video PoseTrack 2018 files (PoseTrackDataset); the val loop scores single frames with
# the COCO keypoint AP on the merged per-frame file the generator also writes (ground-truth boxes).
_base_ = ['../pose/demo_synthetic.py']
data_root = 'work_dirs/posetrack_demo/data/'
posetrack_joints = 'posetrack'
train_dataloader = dict(dataset=dict(
    type='PoseTrackDataset', data_root=data_root, ann_file='annotations/train', data_prefix=dict(img=''),
    pipeline=[dict(type='LoadPoseImage'),
              dict(type='TopDownRandomScaleRotation', scale_factor=0.2, rot_factor=15, rot_prob=0.5),
              dict(type='PoseRandomFlip', prob=0.5),
              dict(type='TopDownAffine'),        # the model codec's crop size (tasks/pose/config.py)
              dict(type='PoseHeatmapTargets'),   # and its targets
              dict(type='PackPoseInputs')]))
# the joints' metadata (names, flip pairs, sigmas, skeleton): the PoseTrack preset, for the per-frame val file too
val_dataloader = dict(dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_val.json',
                                   data_prefix=dict(img=''), metainfo=dict(from_file='_base_/datasets/posetrack18.py')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/person_keypoints_val.json', num_vis=0)
test_evaluator = val_evaluator
