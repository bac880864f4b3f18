# HRNetV2-W48 + OCR on PASCAL-Context, 60 classes (background is class 0, configs/_base_/datasets/pascal_context_60.py):
# the HRNet-OCR branch's cls60 520x520 yaml has the 59-class OCR recipe (lr 1e-3, wd 1e-4, batch 16, 200 epochs).
# Published (HRNet-OCR README, MS+flip: hrnetv2_w48_ocr_pascal_context_60_ms_flip_test.py): mIoU 50.1 (plain W48 48.3).
# (The README's 60-class OCR row links the plain hrnet_pascal_ctx_5410_torch11.pth; there is no released OCR file.)
_base_ = ['./hrnetv2_w48_ocr_pascal_context_59_520x520.py']
model = dict(head=dict(num_classes=60))
_meta60 = dict(from_file='_base_/datasets/pascal_context_60.py')   # stated here too: read without the data (infer)
train_dataloader = dict(dataset=dict(num_classes=60, metainfo=_meta60))
val_dataloader = dict(dataset=dict(num_classes=60, metainfo=_meta60))
test_dataloader = val_dataloader
