# Official w48_384x288_adam_lr1e-3.yaml (SPEC §2.1): the W48 256x192 recipe (backbone, ImageNet init, batch 24/GPU x 4:
# 1,561 iterations per epoch, 210 epochs, steps at 170 / 200) at input 288x384, heatmaps 72x96, sigma 3. The crops,
# the datasets' box aspect ratio and the targets take the codec's size (tasks/pose/config.py).
_base_ = ['./hrnet_w48_coco_256x192.py']
model = dict(codec=dict(input_size=(288, 384), sigma=3))   # heatmaps 72x96: input / stride 4, in code
