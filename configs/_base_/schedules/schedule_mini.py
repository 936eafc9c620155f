# A short schedule for the embedded mini dataset: from scratch, 450 iterations, validated at the
# end; same optimizer family as schedule_60k.py with a from-scratch learning rate and no layer
# decay (nothing is pretrained).
_base_ = './schedule_60k.py'
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05), paramwise_cfg=dict(decay_rate=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=30),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=30, end=450),
]
train_cfg = dict(max_iters=450, val_interval=450)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=100, max_keep_ckpts=2))
