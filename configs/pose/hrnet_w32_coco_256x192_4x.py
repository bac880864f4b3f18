# The article's output-resolution experiment (Figure 5), 4x: heatmaps from the stride-16 representation (HRNet
# branch 2) instead of the stride-4 one; everything else is the 1x recipe. Only the branch is chosen here; the rest
# follows from it in code: the single-scale last module fuses into that branch, the head reads it (in_channels from
# the backbone's output_shape), and the codec's heatmaps are input / stride with sigma keeping the 1x blob's size
# in input pixels, at least 1 heatmap pixel (hrvision.codecs.fill_heatmap_size): here 12x16, sigma 1.
_base_ = ['./hrnet_w32_coco_256x192_1x.py']
model = dict(backbone=dict(out_indices=(2,)))
