# Official w32_384x288_adam_lr1e-3.yaml (SPEC §2.1): input 288x384, heatmaps 72x96, sigma 3; batch 32/GPU x 4 as the
# 256x192 recipe. The crops, the datasets' box aspect ratio and the targets take the codec's size
# (tasks/pose/config.py), so the codec is all this file states; everything else comes from the W32 recipe.
# Trained weights by name: `hrvision zoo get hrnet-w32-coco-384x288` (hrvision/zoo.py).
_base_ = ['./hrnet_w32_coco_256x192.py']
model = dict(codec=dict(input_size=(288, 384), sigma=3))   # heatmaps 72x96: input / stride 4, in code
