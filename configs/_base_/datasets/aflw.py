# AFLW's 19 landmarks (Koestinger et al., 2011; the 19-point protocol of Zhu et al., CVPR 2016), as the official face
# repo reads them (HRNet-Facial-Landmark-Detection lib/datasets/aflw.py: face_landmarks_aflw_{train,test,test_frontal}
# .csv with image_name, scale, box_size, center_w, center_h, 19 x/y pairs). "right" is the subject's right (image
# left). Official facts: the flip pairs (MATCHED_PARTS['AFLW'], 1-based: (1,6) (2,5) (3,4) (7,12) (8,11) (9,10)
# (13,15) (16,18); derived here from the left_/right_ names, the same 8 pairs 0-based) and the NME normaliser: the
# CSV's box_size (compute_nme for 19 points), stated as norm='bbox'.
dataset_info = dict(
    dataset_name='aflw',
    keypoint_names=('right_brow_outer', 'right_brow_centre', 'right_brow_inner', 'left_brow_inner',
                    'left_brow_centre', 'left_brow_outer', 'right_eye_outer', 'right_eye_centre', 'right_eye_inner',
                    'left_eye_inner', 'left_eye_centre', 'left_eye_outer', 'right_nose', 'nose_centre', 'left_nose',
                    'right_mouth_corner', 'mouth_centre', 'left_mouth_corner', 'chin'),
    norm='bbox',
    # drawing only: brows, eye lines, nose, mouth
    skeleton=[(0, 1), (1, 2), (3, 4), (4, 5), (6, 7), (7, 8), (9, 10), (10, 11), (12, 13), (13, 14), (15, 16),
              (16, 17)],
)
