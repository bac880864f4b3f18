# The 68 landmarks of the 300W / iBUG layout (Sagonas et al., 2013; also Multi-PIE, 300-VW, the 68-point Menpo set):
# 0-16 jaw, 17-21 / 22-26 brows, 27-30 nose bridge, 31-35 nose base, 36-41 / 42-47 eyes, 48-59 outer lip,
# 60-67 inner lip. "right" is the subject's right (image left). A face set in this layout uses
# `metainfo=dict(from_file='_base_/datasets/300w.py')` (configs/face/demo_custom_68.py).
dataset_info = dict(
    dataset_name='300w',
    # flip pairs follow from the left_/right_ prefixes (29 pairs)
    keypoint_names=([f'right_jaw_{i}' for i in range(8)] + ['chin'] + [f'left_jaw_{7 - i}' for i in range(8)]
                    + [f'right_brow_{i}' for i in range(5)] + [f'left_brow_{4 - i}' for i in range(5)]
                    + [f'nose_bridge_{i}' for i in range(4)]
                    + ['right_nostril_0', 'right_nostril_1', 'nose_base', 'left_nostril_1', 'left_nostril_0']
                    + ['right_eye_outer', 'right_eye_upper_outer', 'right_eye_upper_inner', 'right_eye_inner',
                       'right_eye_lower_inner', 'right_eye_lower_outer']
                    + ['left_eye_inner', 'left_eye_upper_inner', 'left_eye_upper_outer', 'left_eye_outer',
                       'left_eye_lower_outer', 'left_eye_lower_inner']
                    + ['right_mouth_corner', 'right_upper_lip_1', 'right_upper_lip_0', 'upper_lip_top',
                       'left_upper_lip_0', 'left_upper_lip_1', 'left_mouth_corner', 'left_lower_lip_1',
                       'left_lower_lip_0', 'lower_lip_bottom', 'right_lower_lip_0', 'right_lower_lip_1']
                    + ['right_inner_mouth_corner', 'right_inner_upper_lip', 'inner_upper_lip', 'left_inner_upper_lip',
                       'left_inner_mouth_corner', 'left_inner_lower_lip', 'inner_lower_lip', 'right_inner_lower_lip']),
    # the official 300W NME normaliser: inter-ocular, outer eye corners
    norm_indices=(36, 45),
    # drawing only: jaw, brows, nose as chains; eyes and lips as loops
    skeleton=([(i, i + 1) for i in range(16)] + [(i, i + 1) for i in range(17, 21)]
              + [(i, i + 1) for i in range(22, 26)]
              + [(i, i + 1) for i in range(27, 30)] + [(i, i + 1) for i in range(31, 35)]
              + [(i, i + 1) for i in range(36, 41)] + [(41, 36)] + [(i, i + 1) for i in range(42, 47)] + [(47, 42)]
              + [(i, i + 1) for i in range(48, 59)] + [(59, 48)] + [(i, i + 1) for i in range(60, 67)] + [(67, 60)]),
)
