# ViTDet's 100-epoch COCO schedule at batch 64: 184,375 iterations, AdamW lr 1e-4, weight decay
# 0.1, layer-wise lr decay 0.7, 250 warm-up iterations, lr x0.1 at 163,889 and 177,546, AMP.
# Includes mmdet's runtime, whose epoch-based hooks it turns to iterations.
_base_ = 'mmdet::_base_/default_runtime.py'
optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(num_layers=24, decay_rate=0.7))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=184375, milestones=[163889, 177546],
         gamma=0.1)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=184375, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=5000, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=64)
# Stop at a NaN / Inf loss, naming the iteration and the loss; seed torch per iteration so that a
# resumed run is the uninterrupted one; refuse a load_from checkpoint that is not this model's
# (mmvim/engine/hooks, docs/failure_modes.md).
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='IterationSeedHook'),
    dict(type='CheckpointFitHook')
]
