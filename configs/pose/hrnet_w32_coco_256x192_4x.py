# The article's output-resolution experiment (Figure 5), 4x: heatmaps from the stride-16 representation (HRNet
# branch 2) instead of the stride-4 one; everything else is the 1x recipe. Only `branch` is chosen here; the rest
# follows from it: the single-scale last module fuses into that branch, the head reads it (in_channels from the
# backbone's output_shape), the codec's heatmaps are input / stride, and sigma keeps the 1x blob's size in input
# pixels (2 heatmap pixels at stride 4 = 8 px) but at least 1 heatmap pixel, so the target stays a blob, not a dot.
_base_ = ['./hrnet_w32_coco_256x192_1x.py']
branch = 2
stride = 4 * 2 ** branch
heatmap_size = (_base_.input_size[0] // stride, _base_.input_size[1] // stride)
sigma = max(_base_.sigma * 4 / stride, 1.0)
codec = dict(_base_.codec, heatmap_size=heatmap_size, sigma=sigma)
model = dict(backbone=dict(out_indices=(branch,)), codec=codec)
train_pipeline = [dict(t, codec=codec) if t['type'] == 'GenerateHeatmapTarget' else t for t in _base_.train_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
