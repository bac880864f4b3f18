# PoseTrack with COCO-trained weights (the official W32 256x192 COCO model, e.g. pose_hrnet_w32_256x192.pth):
#   hrvision bench posetrack configs/posetrack/hrnet_w32_coco_256x192_posetrack.py CKPT --data-root data/posetrack18
# The model predicts the 17 COCO joints; tasks/posetrack/joints.py coco_to_posetrack maps them to PoseTrack's:
# nose and the body joints (shoulders..ankles) keep their slot; head_bottom = midpoint of the nose and the
# shoulder midpoint; head_top = the eye midpoint moved away from head_bottom by the head_bottom->eyes distance;
# ears are dropped (PoseTrack does not label them).
_base_ = ['../pose/hrnet_w32_coco_256x192.py']
posetrack_joints = 'coco'
model = dict(pretrained=None)
