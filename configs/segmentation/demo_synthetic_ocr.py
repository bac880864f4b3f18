# The segmentation demo with the HRNet-OCR head: W18-Small-v1 widths, synthetic Cityscapes-format scenes
# (`hrvision data synth-cityscapes`), 128x256 images, CPU-friendly. Not the official recipe (see
# hrnetv2_w48_ocr_cityscapes_512x1024.py for that).
#   hrvision data synth-cityscapes work_dirs/demo/data && hrvision train configs/segmentation/demo_synthetic_ocr.py
_base_ = ['./demo_synthetic.py']
model = dict(
    # align_corners=True: the OCR yamls' convention
    backbone=dict(align_corners=True),
    head=dict(_delete_=True, type='OCRHead', num_classes=19, mid_channels=64, key_channels=32, dropout=0.05,
              loss='ce', loss_weights=(0.4, 1.0)),
)
