# A short schedule for the mini COCO data, from scratch on a CPU: plain OptimWrapper (AMP needs a
# GPU), no layer decay (nothing is pretrained), 300 iterations, evaluated every 150.
_base_ = './schedule_vitdet_100e.py'
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(lr=2e-4), paramwise_cfg=dict(decay_rate=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=300, milestones=[250], gamma=0.1)
]
train_cfg = dict(max_iters=300, val_interval=150)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=150))
log_processor = dict(window_size=10)
