# PoseTrack 2018 keypoints: the dataset metadata preset (PoseTrackDataset.METAINFO, the tracker, the video tool).
# 17 slots in COCO order with slot 1 = head_bottom and slot 2 = head_top (COCO's eyes; slots 3/4, the ears, are
# never annotated). Skeleton 0-based (the file's links minus one, ears dropped); OKS sigmas are COCO's, head_bottom
# and head_top taking the ears' value. Flip pairs follow from the left_/right_ names.
dataset_info = dict(
    dataset_name='posetrack18',
    classes=('person',),
    category_ids=[1],
    category_id=1,   # the keypoint category: results (metric, infer) are tagged with it
    keypoint_names=('nose', 'head_bottom', 'head_top', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
                    'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
                    'right_knee', 'left_ankle', 'right_ankle'),
    skeleton=[[15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6], [5, 7], [6, 8], [7, 9],
              [8, 10], [1, 2], [0, 1], [0, 2], [1, 5], [1, 6]],
    # OKS sigmas as the official poseval/COCO code computes them (tenths / 10.0): bit-identical floats
    sigmas=[s / 10.0 for s in (.26, .35, .35, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89)],
    joint_weights=[1., 1., 1., 1., 1., 1., 1., 1.2, 1.2, 1.5, 1.5, 1., 1., 1.2, 1.2, 1.5, 1.5],
    # the half-body augmentation's upper body (official: joints 0..10, head to wrists)
    upper_body_ids=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
)
