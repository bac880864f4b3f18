# HRNetV2-W18 face alignment on AFLW, the official recipe (HRNet-Facial-Landmark-Detection
# experiments/aflw/face_alignment_aflw_hrnet_w18.yaml): 256x256 input, 64x64 heatmaps, sigma 1.5, MSE loss; Adam
# lr 2e-4 (the AFLW yaml's; 300W, COFW and WFLW use 1e-4), no weight decay, batch 16 on one GPU (test batch 8),
# 60 epochs with the LR x0.1 after epochs 30 and 50; augmentation: scale x U(0.75, 1.25), rotation U(-30, 30) with
# p 0.6, flip p 0.5 with the 19-point pairs; test without flip (TEST.FLIP_TEST false).
# Published (official README, HRNetV2-W18; SPEC §5.3): NME full 1.57 %, frontal 1.46 % (normalised by the CSV's
# box_size, the official compute_nme for 19 points).
# Data: the official data/aflw: face_landmarks_aflw_{train,test,test_frontal}.csv (image_name, scale, box_size,
# center_w, center_h, 19 x/y pairs) and images/. The test set is 'full' with the frontal CSV's faces tagged, so the
# test prints full and frontal (NME / FR / AUC each).
# An epoch: 20,000 training faces / 16 = 1,250 iterations (the last partial batch kept).
# Official init: hrnetv2_w18_imagenet_pretrained.pth (--cfg-options model.pretrained=PATH).
# The WFLW recipe (hrnetv2_w18_wflw.py: model, Adam, 60 epochs, steps at 30 / 50, augmentation, no flip test) on
# AFLW data: only what differs is stated here.
_base_ = ['./hrnetv2_w18_wflw.py']
data_root = 'data/aflw/'
model = dict(head=dict(num_landmarks=19))
train_dataloader = dict(dataset=dict(_delete_=True, type='FaceAFLWDataset', data_root=data_root, subset='train',
                                     pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(batch_size=8, dataset=dict(
    _delete_=True, type='FaceAFLWDataset', data_root=data_root, subset='full', test_mode=True,
    pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=0.0002))   # the AFLW yaml's
