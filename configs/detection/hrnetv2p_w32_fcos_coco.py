# FCOS on HRNetV2p-W32 (HRNet paper, detection), COCO 1x. Levels p3..p7 (strides 8..128) via the
# neck's strided 3x3 convs; torchvision FCOS head, focal / GIoU / centerness losses, NMS.
# ImageNet-pretrained HRNet-W32: set model.pretrained to the file (official / timm / mmpose layouts load).
_base_ = ['./_coco_det_base.py']

model = dict(
    type='DetectionModel',
    data_preprocessor=dict(type='HRVDataPreprocessor', pad_size_divisor=32),
    backbone=dict(arch='hrnet_w32'),
    neck=dict(out_channels=256, num_outs=5, stride=2),
    detector=dict(kind='fcos', num_classes=80, center_sampling_radius=1.5, score_thresh=0.05, nms_thresh=0.6,
                  detections_per_img=100, topk_candidates=1000),
)
# SGD 0.01 for batch 16 (FCOS), warmup 500 iterations from lr/3 as in FCOS.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
                     paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0),
                     clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
                   _base_.param_scheduler[1]]   # the base's 1x steps
