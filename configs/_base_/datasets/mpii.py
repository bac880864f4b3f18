# MPII Human Pose: the dataset metadata preset (hrvision.data.metainfo; MPIIPoseDataset.METAINFO).
# Facts of the official pose repo (deep-high-resolution-net.pytorch lib/dataset/mpii.py): 16 joints in MPII's order,
# flip pairs [[0,5],[1,4],[2,3],[10,15],[11,14],[12,13]], upper body (half-body augmentation) joints 7..15.
# Skeleton: the official parent_ids [1,2,6,6,3,4,6,6,7,8,11,12,7,7,13,14] as 0-based (joint, parent) links, the pelvis
# (its own parent) left out. joint_weights: the official MPII reader sets no joints_weight (JointsDataset's default 1,
# and USE_DIFFERENT_JOINTS_WEIGHT is False), so all 1. No OKS sigmas: MPII is scored by PCKh (MPIIPoseMetric).
dataset_info = dict(
    dataset_name='mpii',
    classes=('person',),
    category_ids=[1],
    category_id=1,   # MPII has one category, the person; infer's COCO-style keypoint results tag it with COCO's id 1
    keypoint_names=('r_ankle', 'r_knee', 'r_hip', 'l_hip', 'l_knee', 'l_ankle', 'pelvis', 'thorax', 'upper_neck',
                    'head_top', 'r_wrist', 'r_elbow', 'r_shoulder', 'l_shoulder', 'l_elbow', 'l_wrist'),
    flip_pairs=[[0, 5], [1, 4], [2, 3], [10, 15], [11, 14], [12, 13]],
    skeleton=[[0, 1], [1, 2], [2, 6], [3, 6], [4, 3], [5, 4], [7, 6], [8, 7], [9, 8], [10, 11], [11, 12], [12, 7],
              [13, 7], [14, 13], [15, 14]],
    joint_weights=[1.0] * 16,
    upper_body_ids=[7, 8, 9, 10, 11, 12, 13, 14, 15],
)
