# Demo: a face set with its own landmarks (68, the 300W layout) in the WFLW list format -- the custom-data path of
# docs/custom_data.md ("Face (landmarks)"). The tiny HRNetV2 of demo_synthetic_wflw.py, 96x96 crops.
#   hrvision data synth-wflw data/synth_face68 --landmarks 68 --train 128 --test 32
#   hrvision train configs/face/demo_custom_68.py --work-dir work_dirs/face68
#   hrvision test configs/face/demo_custom_68.py work_dirs/face68/iter_300.pth
#   hrvision infer configs/face/demo_custom_68.py work_dirs/face68/iter_300.pth IMAGE --out out/
# The metadata is stated once: landmark names (the flip pairs follow from their left_/right_ prefixes), the NME
# normaliser (norm_indices: outer eye corners 36 and 45, the 300W rule) and a drawing skeleton, here the 300W preset
# file; any keys stated next to from_file override it (e.g. norm_indices=(39, 42)), and a set of your own states
# metainfo=dict(keypoint_names=[...], flip_pairs=[...], norm_indices=(a, b)) or from_file='my_face.json' (the synth
# command writes its metadata as data/synth_face68/metainfo.json). The head's num_landmarks must agree (checked).
_base_ = ['./demo_synthetic_wflw.py']
data_root = 'data/synth_face68/'
metainfo = dict(from_file='_base_/datasets/300w.py')
model = dict(head=dict(num_landmarks=68))
train_dataloader = dict(dataset=dict(data_root=data_root, ann_file='annotations/train.txt',
                                     data_prefix=dict(img='images'), metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, ann_file='annotations/test.txt',
                                   data_prefix=dict(img='images'), metainfo=metainfo))
test_dataloader = val_dataloader
