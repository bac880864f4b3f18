# Runtime shared by every hrvision config: iteration-based loops, logging, atomic checkpoints.
default_scope = 'hrvision'
# cudnn_benchmark: on CUDA, time the convolution algorithms once per input shape and keep the fastest; right for
# fixed-size training crops (segmentation, pose, face). Configs whose batches change size (detection / multi-task
# with keep-ratio resizing) turn it off. Ignored on the CPU; randomness.deterministic=True turns it off.
env_cfg = dict(cudnn_benchmark=True, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
log_processor = dict(by_epoch=False, window_size=10)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
