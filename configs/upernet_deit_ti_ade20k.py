# UperNet + DeiT-Ti on ADE20K, the paper's baseline for Vim-Ti, trained exactly as
# upernet_vim_ti_ade20k.py. Paper: 39.2 mIoU (not reproduced here).
_base_ = [
    './_base_/models/upernet_deit_ti.py', './_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py', './_base_/schedules/schedule_60k.py'
]
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/deit_tiny_patch16_224_mmseg.pth')))
train_dataloader = dict(batch_size=8)
optim_wrapper = dict(
    optimizer=dict(lr=2e-4, weight_decay=0.1),
    paramwise_cfg=dict(num_layers=12, decay_rate=0.92))
