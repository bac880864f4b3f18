# ADE20K on CPU in minutes (_demo_small_base.py) on the synthetic set that
#   hrvision data synth-ade20k data/ade20k_synth
# writes in the ADEChallengeData2016 layout (150 classes, 0 = other ignored). Not the official recipe
# (hrnetv2_w48_ade20k_520x520.py).
_base_ = ['./_demo_small_base.py', '../_base_/datasets/ade20k.py']
data_root = 'data/ade20k_synth'
train_pipeline = {{_base_.demo_train_pipeline}}
model = dict(head=dict(num_classes=150))
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
