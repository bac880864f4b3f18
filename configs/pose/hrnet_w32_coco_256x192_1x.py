# The article's output-resolution experiment (Figure 5), 1x: heatmaps from the stride-4 representation, i.e. the
# official W32 256x192 recipe unchanged (this file only names it in the series 1x/2x/4x/8x;
# `hrvision bench ablation-resolution` trains and evaluates each).
_base_ = ['./hrnet_w32_coco_256x192.py']
