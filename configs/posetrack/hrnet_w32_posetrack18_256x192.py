# PoseTrack with PoseTrack-fine-tuned weights: the same W32 256x192 network whose 17 outputs are the PoseTrack
# joints (slot 1 head_bottom, slot 2 head_top instead of COCO's eyes), so the flip test swaps only the
# left/right pairs of the ears and the body (head_bottom / head_top are on the axis):
#   hrvision bench posetrack configs/posetrack/hrnet_w32_posetrack18_256x192.py CKPT --data-root data/posetrack18
# Evaluation / benchmark only: hrvision has no PoseTrack training dataset yet (fine-tune elsewhere, or from a
# COCO checkpoint with this head).
_base_ = ['../pose/hrnet_w32_coco_256x192.py']
posetrack_joints = 'posetrack'
model = dict(pretrained=None,
             head=dict(flip_pairs=((3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))))
