# Official w48_256x192_adam_lr1e-3.yaml (SPEC §2.1): the W32 256x192 recipe with the W48 backbone and its ImageNet
# init; batch 24/GPU x 4 (ceil(149813 / 96) = 1,561 iterations per epoch); 210 epochs; steps at 170 / 200 epochs.
# Trained weights by name: `hrvision zoo get hrnet-w48-coco-256x192` (hrvision/zoo.py).
_base_ = ['./hrnet_w32_coco_256x192.py']
model = dict(backbone=dict(arch='hrnet_w48'), pretrained='models/pytorch/imagenet/hrnet_w48-8ef0771d.pth')
train_dataloader = dict(batch_size=24)
val_dataloader = dict(batch_size=24)
test_dataloader = val_dataloader
