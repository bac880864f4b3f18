# HRNetV2-W18 face alignment on 300W, the official recipe (HRNet-Facial-Landmark-Detection
# experiments/300w/face_alignment_300w_hrnet_w18.yaml): 256x256 input, 64x64 heatmaps, sigma 1.0 (the 300W yaml's;
# WFLW, COFW and AFLW use 1.5), MSE loss; Adam lr 1e-4 (no weight decay), batch 16 on one GPU (test batch 8),
# 60 epochs with the LR x0.1 after epochs 30 and 50; augmentation: scale x U(0.75, 1.25), rotation U(-30, 30) with
# p 0.6, flip p 0.5 with the 68-point pairs; test without flip (TEST.FLIP_TEST false).
# Published (official README, HRNetV2-W18, NME % inter-ocular = outer eye corners 36/45; SPEC §5.3):
#   common 2.91, challenging 5.11, full 3.34, test 3.85.
# Data: the official data/300w (face_landmarks_300w_{train,valid,valid_common,valid_challenge,test}.csv + images/),
# or the 300W release (.pts beside the images in images/{lfpw,helen}/{trainset,testset}, images/afw, images/ibug):
# Face300WDataset reads the CSVs when present, else the .pts files. The test set is 'full' = common + challenging,
# each face tagged, so the test prints full, common and challenging (NME / FR / AUC each).
# An epoch: 3,148 training faces / 16 = 197 iterations (the last partial batch kept).
# Official init: hrnetv2_w18_imagenet_pretrained.pth (--cfg-options model.pretrained=PATH).
# The WFLW recipe (hrnetv2_w18_wflw.py: model, Adam, 60 epochs, steps at 30 / 50, augmentation, no flip test) on
# 300W data: only what differs is stated here.
_base_ = ['./hrnetv2_w18_wflw.py']
data_root = 'data/300w/'
model = dict(head=dict(num_landmarks=68), codec=dict(sigma=1.0))
train_dataloader = dict(dataset=dict(_delete_=True, type='Face300WDataset', data_root=data_root, subset='train',
                                     pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(batch_size=8, dataset=dict(
    _delete_=True, type='Face300WDataset', data_root=data_root, subset='full', test_mode=True,
    pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
