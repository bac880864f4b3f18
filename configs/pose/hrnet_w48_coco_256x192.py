# Official w48_256x192_adam_lr1e-3.yaml (SPEC §2.1): the W32 256x192 recipe with the W48 backbone and its ImageNet
# init; batch 24/GPU x 4 -> ceil(149813 / 96) = 1561 iterations/epoch; 210 epochs; steps at 170 / 200 epochs.
# Trained weights by name: `hrvision zoo get hrnet-w48-coco-256x192` (hrvision/zoo.py).
_base_ = ['./hrnet_w32_coco_256x192.py']
iters_per_epoch = 1561
max_iters = 210 * iters_per_epoch
model = dict(backbone=dict(arch='hrnet_w48'), pretrained='models/pytorch/imagenet/hrnet_w48-8ef0771d.pth')
train_dataloader = dict(batch_size=24)
val_dataloader = dict(batch_size=24)
test_dataloader = val_dataloader
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[170 * iters_per_epoch, 200 * iters_per_epoch],
                        gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10 * iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=10 * iters_per_epoch))
