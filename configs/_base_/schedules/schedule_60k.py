# The paper's segmentation schedule: AdamW, layer-wise lr decay, 1500 linear warm-up iterations,
# then poly (power 1) to 0 at 60k iterations. Variants set lr, weight decay and the decay rate.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(num_layers=24, decay_rate=0.95))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500, end=60000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=60000, val_interval=6000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=6000, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# Stop at a NaN / Inf loss, naming the iteration and the loss; seed torch per iteration so that a
# resumed run is the uninterrupted one; refuse a load_from checkpoint that is not this model's
# (mmvim/engine/hooks, docs/failure_modes.md).
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='IterationSeedHook'),
    dict(type='CheckpointFitHook')
]
