# Faster R-CNN on HRNetV2p-W32 (the HRNet paper's detector), COCO 1x. Pyramid p2..p6 (strides 4..64),
# RPN anchors 32..512 (3 aspect ratios), RoIAlign 7x7 on p2..p5; all from torchvision.
# ImageNet-pretrained HRNet-W32: set model.pretrained to the file (official / timm / mmpose layouts load).
_base_ = ['./_coco_det_base.py']

model = dict(
    type='DetectionModel',
    data_preprocessor=dict(type='HRVDataPreprocessor', pad_size_divisor=32),
    backbone=dict(arch='hrnet_w32'),
    neck=dict(out_channels=256, num_outs=5),
    detector=dict(kind='faster_rcnn', num_classes=80, roi_levels=['p2', 'p3', 'p4', 'p5'],
                  box_score_thresh=0.05, box_nms_thresh=0.5, box_detections_per_img=100),
)
# SGD 0.02 for batch 16 (Faster R-CNN), linear warmup over 500 iterations from lr * 0.001.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
