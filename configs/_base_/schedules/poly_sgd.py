# Official HRNet-Semantic-Segmentation schedule: SGD lr 0.01, momentum 0.9, wd 5e-4 on every
# parameter, poly decay (power 0.9) per iteration. 484 epochs x 247 iterations (2975 images,
# 3 per GPU x 4 GPUs) = 119,548 iterations.
max_iters = 119548
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4,
                                                         nesterov=False))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
