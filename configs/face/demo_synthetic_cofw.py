# Demo: the tiny HRNetV2 of demo_synthetic_wflw.py (96x96 crops, 24x24 heatmaps, Adam 5e-3, 300 iterations on a CPU)
# on synthetic COFW written in the official formats; not the official recipe (hrnetv2_w18_cofw.py). The test prints
# NME / FR / AUC per subset (test) as the official test does.
#   hrvision data synth-cofw data/synth_cofw --n 256 --n-val 64
#   hrvision train configs/face/demo_synthetic_cofw.py --work-dir work_dirs/face_cofw
#   hrvision test configs/face/demo_synthetic_cofw.py work_dirs/face_cofw/iter_300.pth
_base_ = ['./demo_synthetic_wflw.py']
data_root = 'data/synth_cofw/'
model = dict(head=dict(num_landmarks=29))
train_dataloader = dict(dataset=dict(_delete_=True, type='FaceCOFWDataset', data_root=data_root, subset='train',
                                     pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(_delete_=True, type='FaceCOFWDataset', data_root=data_root, subset='test',
                                   test_mode=True, pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
