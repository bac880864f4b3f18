# WFLW's 98 landmarks (Wu et al., CVPR 2018), the metadata preset every face dataset reads unless its config states
# its own (`metainfo=dict(...)` or `metainfo=dict(from_file=...)`, see docs/custom_data.md).
# Order (image-left = the subject's right side): 0-32 contour (temple -> chin 16 -> temple), 33-41 left brow,
# 42-50 right brow, 51-54 nose bridge, 55-59 nose base, 60-67 left eye (60 outer corner), 68-75 right eye
# (72 outer corner), 76-87 outer lip, 88-95 inner lip, 96/97 pupils.
dataset_info = dict(
    dataset_name='wflw',
    keypoint_names=tuple(f'wflw_{i}' for i in range(98)),
    # the official MATCHED_PARTS['WFLW'] (HRNet-Facial-Landmark-Detection lib/utils/transforms.py), 0-based
    flip_pairs=[(0, 32), (1, 31), (2, 30), (3, 29), (4, 28), (5, 27), (6, 26), (7, 25), (8, 24), (9, 23), (10, 22),
                (11, 21), (12, 20), (13, 19), (14, 18), (15, 17), (33, 46), (34, 45), (35, 44), (36, 43), (37, 42),
                (38, 50), (39, 49), (40, 48), (41, 47), (60, 72), (61, 71), (62, 70), (63, 69), (64, 68), (65, 75),
                (66, 74), (67, 73), (55, 59), (56, 58), (76, 82), (77, 81), (78, 80), (87, 83), (86, 84), (88, 92),
                (89, 91), (95, 93), (96, 97)],
    # the official NME normaliser: inter-ocular distance between the outer eye corners
    norm_indices=(60, 72),
    # drawing only: the contour, brows, nose, eyes and lips as chains / loops
    skeleton=([(i, i + 1) for i in range(32)] + [(i, i + 1) for i in range(33, 41)] + [(41, 33)]
              + [(i, i + 1) for i in range(42, 50)] + [(50, 42)] + [(i, i + 1) for i in range(51, 54)]
              + [(i, i + 1) for i in range(55, 59)] + [(i, i + 1) for i in range(60, 67)] + [(67, 60)]
              + [(i, i + 1) for i in range(68, 75)] + [(75, 68)] + [(i, i + 1) for i in range(76, 87)] + [(87, 76)]
              + [(i, i + 1) for i in range(88, 95)] + [(95, 88)]),
)
