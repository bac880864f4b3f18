# HRNetV2-W18 face alignment on COFW, the official recipe (HRNet-Facial-Landmark-Detection
# experiments/cofw/face_alignment_cofw_hrnet_w18.yaml): 256x256 input, 64x64 heatmaps, sigma 1.5, MSE loss; Adam
# lr 1e-4 (no weight decay), batch 16 on one GPU (test batch 8), 60 epochs with the LR x0.1 after epochs 30 and 50;
# augmentation: scale x U(0.75, 1.25), rotation U(-30, 30) with p 0.6, flip p 0.5 with the 29-point pairs; test
# without flip (TEST.FLIP_TEST false).
# Published (official README, HRNetV2-W18 on COFW test; SPEC §5.3): NME 3.45 % (inter-ocular: ||gt[8] - gt[9]||,
# the official compute_nme for 29 points), FR@0.1 0.20 %.
# Data: the official data/cofw: COFW_train_color.mat / COFW_test_color.mat (images inside; MATLAB v5-v7.2 files read
# with scipy.io, v7.3 (HDF5) files with h5py, which must then be installed: pip install h5py), or the CSV form
# face_landmarks_cofw_{train,test}.csv with images/ (FaceCOFWDataset picks the .mat when present).
# Crop box as the official COFW loader: floor/ceil of the landmarks' box, max side / 200, x1.25.
# An epoch: 1,345 training faces / 16 = 85 iterations (the last partial batch kept).
# Official init: hrnetv2_w18_imagenet_pretrained.pth (--cfg-options model.pretrained=PATH).
# The WFLW recipe (hrnetv2_w18_wflw.py: model, Adam, 60 epochs, steps at 30 / 50, augmentation, no flip test) on
# COFW data: only what differs is stated here.
_base_ = ['./hrnetv2_w18_wflw.py']
data_root = 'data/cofw/'
model = dict(head=dict(num_landmarks=29))
train_dataloader = dict(dataset=dict(_delete_=True, type='FaceCOFWDataset', data_root=data_root, subset='train',
                                     pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(batch_size=8, dataset=dict(
    _delete_=True, type='FaceCOFWDataset', data_root=data_root, subset='test', test_mode=True,
    pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
