# The CPU demos' runtime (not an official recipe): the default runtime with AdamW (lr 3e-3, wd 1e-4), a linear warm-up
# from 0.1x over the first tenth of the iterations, then poly 0.9 down to 1e-5, per iteration; one validation and one
# checkpoint at the end, a log line every 25 iterations. mmengine evaluates a base when it reads it: a demo that trains
# longer sets max_iters and restates what depends on it (param_scheduler, train_cfg, the checkpoint interval), as
# segmentation/demo_synthetic.py does.
_base_ = ['./default_runtime.py']
max_iters = 200
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, begin=0, end=max_iters // 10, by_epoch=False),
                   dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=max_iters // 10, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=25),
                     checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
