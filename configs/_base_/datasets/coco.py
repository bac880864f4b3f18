# COCO person keypoints: the dataset metadata preset (hrvision.data.metainfo; CocoKeypointDataset.METAINFO).
# Skeleton 0-based (the file's 1-based links minus one); sigmas are COCO's OKS values / 10 (pycocotools);
# flip pairs follow from the left_/right_ names. joint_weights are the official code's joints_weight; the official
# COCO training does not use them (USE_DIFFERENT_JOINTS_WEIGHT is False), neither does hrvision's by default.
dataset_info = dict(
    dataset_name='coco',
    classes=('person',),
    category_ids=[1],
    category_id=1,   # the keypoint category: results (metric, infer) are tagged with it
    keypoint_names=('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
                    'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
                    'right_knee', 'left_ankle', 'right_ankle'),
    skeleton=[[15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6], [5, 7], [6, 8], [7, 9],
              [8, 10], [1, 2], [0, 1], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6]],
    # OKS sigmas written as pycocotools states them (tenths, divided by 10): the parsed floats equal
    # pycocotools' Params(iouType='keypoints').kpt_oks_sigmas bit for bit (a literal .026 is one ulp off)
    sigmas=[s / 10.0 for s in (.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89)],
    joint_weights=[1., 1., 1., 1., 1., 1., 1., 1.2, 1.2, 1.5, 1.5, 1., 1., 1.2, 1.2, 1.5, 1.5],
    # the half-body augmentation's upper body (official: joints 0..10, head to wrists)
    upper_body_ids=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
)
