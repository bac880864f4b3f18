# Official experiments/mpii/hrnet/w48_256x256_adam_lr1e-3.yaml (SPEC §2.1 "MPII"): the W32 recipe with the W48
# backbone (ImageNet hrnet_w48-8ef0771d.pth); same input 256x256, heatmaps 64x64, sigma 2, batch 32/GPU x 4, Adam
# lr 1e-3, 210 epochs, steps 170 / 200, flip test. The official README reports the W32 MPII row only (SPEC §5.1).
_base_ = ['./hrnet_w32_mpii_256x256.py']
model = dict(backbone=dict(arch='hrnet_w48'), pretrained='models/pytorch/imagenet/hrnet_w48-8ef0771d.pth')
