# COFW's 29 landmarks (Burgos-Artizzu et al., ICCV 2013), as the official face repo reads them (HRNet-Facial-Landmark-
# Detection lib/datasets/cofw.py: COFW_{train,test}_color.mat, phis = 29 x, 29 y, 29 occlusion flags).
# "right" is the subject's right (image left). The names are hrvision's reading of the layout; the facts taken from the
# official code are the flip pairs (MATCHED_PARTS['COFW'], 1-based there: (1,2) (5,7) (3,4) (6,8) (9,10) (11,12)
# (13,15) (17,18) (14,16) (19,20) (23,24); derived here from the left_/right_ names, the same 11 pairs 0-based) and
# the NME normaliser (compute_nme for 29 points: ||gt[8] - gt[9]||, 0-based, the outer eye corners).
dataset_info = dict(
    dataset_name='cofw',
    keypoint_names=('right_brow_outer', 'left_brow_outer', 'right_brow_inner', 'left_brow_inner',
                    'right_brow_top', 'right_brow_bottom', 'left_brow_top', 'left_brow_bottom',
                    'right_eye_outer', 'left_eye_outer', 'right_eye_inner', 'left_eye_inner',
                    'right_eye_top', 'right_eye_bottom', 'left_eye_top', 'left_eye_bottom',
                    'right_pupil', 'left_pupil', 'right_nostril', 'left_nostril', 'nose_tip', 'nose_bottom',
                    'right_mouth_corner', 'left_mouth_corner', 'upper_lip_top', 'upper_lip_bottom',
                    'lower_lip_top', 'lower_lip_bottom', 'chin'),
    norm_indices=(8, 9),
    # drawing only: brows and eyes as loops, nose and mouth
    skeleton=[(0, 4), (4, 2), (2, 5), (5, 0), (3, 6), (6, 1), (1, 7), (7, 3), (8, 12), (12, 10), (10, 13), (13, 8),
              (11, 14), (14, 9), (9, 15), (15, 11), (18, 20), (20, 19), (18, 21), (21, 19), (22, 24), (24, 23),
              (23, 27), (27, 22), (25, 26)],
)
