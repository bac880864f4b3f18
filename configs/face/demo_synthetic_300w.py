# Demo: the tiny HRNetV2 of demo_synthetic_wflw.py (96x96 crops, 24x24 heatmaps, Adam 5e-3, 300 iterations on a CPU)
# on synthetic 300W written in the official formats; not the official recipe (hrnetv2_w18_300w.py). The test prints
# NME / FR / AUC per subset (common / challenging / full) as the official test does.
#   hrvision data synth-300w data/synth_300w --n 256 --n-val 64
#   hrvision train configs/face/demo_synthetic_300w.py --work-dir work_dirs/face_300w
#   hrvision test configs/face/demo_synthetic_300w.py work_dirs/face_300w/iter_300.pth
_base_ = ['./demo_synthetic_wflw.py']
data_root = 'data/synth_300w/'
model = dict(head=dict(num_landmarks=68))
train_dataloader = dict(dataset=dict(_delete_=True, type='Face300WDataset', data_root=data_root, subset='train',
                                     pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(_delete_=True, type='Face300WDataset', data_root=data_root, subset='full',
                                   test_mode=True, pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
