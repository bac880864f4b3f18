# PASCAL-Context on CPU in minutes (_demo_small_base.py) on the synthetic set that
#   hrvision data synth-pascal-context data/pascal_context_synth
# writes in the converted layout (59 classes, background ignored). Not the official recipe
# (hrnetv2_w48_pascal_context_59_480x480.py).
_base_ = ['./_demo_small_base.py', '../_base_/datasets/pascal_context.py']
data_root = 'data/pascal_context_synth'
train_pipeline = {{_base_.demo_train_pipeline}}
model = dict(head=dict(num_classes=59))
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
