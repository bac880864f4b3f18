# segmentation-models-pytorch's FPN decoder on hrvision's HRNet-W18 (smp encoder 'hrvision_hrnet_w18', see
# docs/ecosystem.md), trained with the official HRNetV2 Cityscapes data recipe and schedule:
#   torchrun --nproc_per_node=4 -m hrvision train configs/segmentation/hrnet_w18_smp_fpn_cityscapes_512x1024.py --launcher pytorch
# Any smp architecture works: model.decoder='Unet' / 'UPerNet' / 'DeepLabV3Plus' / ... (decoder_cfg: its options).
# Set model.pretrained to ImageNet weights (hrnetv2_w18_imagenet_pretrained.pth or timm's; any format loads).
# Evaluation: Cityscapes mIoU and boundary IoU (3-px band) beside it.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/cityscapes.py', '../_base_/schedules/poly_sgd.py']
model = dict(
    type='SMPSegmentationModel',
    decoder='FPN',
    arch='hrnet_w18',
    num_classes=19,
    decoder_cfg=dict(decoder_dropout=0.2),
    loss_cfg=dict(loss='ce', align_corners=False),
    pretrained=None,
    data_preprocessor=dict(type='HRVDataPreprocessor'),
    test_cfg=dict(scales=[1.0], flip=False, base_size=2048, crop_size=(1024, 2048), stride=(1024, 2048)),
)
sync_bn = 'torch'
val_evaluator = dict(type='SegmentationMetric', boundary_width=3)
test_evaluator = val_evaluator
