# Demo: the tiny HRNetV2 of demo_synthetic_wflw.py (96x96 crops, 24x24 heatmaps, Adam 5e-3, 300 iterations on a CPU)
# on synthetic AFLW written in the official formats; not the official recipe (hrnetv2_w18_aflw.py). The test prints
# NME / FR / AUC per subset (full / frontal) as the official test does.
#   hrvision data synth-aflw data/synth_aflw --n 256 --n-val 64
#   hrvision train configs/face/demo_synthetic_aflw.py --work-dir work_dirs/face_aflw
#   hrvision test configs/face/demo_synthetic_aflw.py work_dirs/face_aflw/iter_300.pth
_base_ = ['./demo_synthetic_wflw.py']
data_root = 'data/synth_aflw/'
model = dict(head=dict(num_landmarks=19))
train_dataloader = dict(dataset=dict(_delete_=True, type='FaceAFLWDataset', data_root=data_root, subset='train',
                                     pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(_delete_=True, type='FaceAFLWDataset', data_root=data_root, subset='full',
                                   test_mode=True, pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
