# UperNet + DeiT-S on ADE20K, the paper's baseline for Vim-S, trained exactly as
# upernet_vim_s_ade20k.py (same neck, heads, schedule, lr, weight decay, decay rate) with taps at
# blocks 2, 5, 8, 11 of 12. Paper: 44.0 mIoU (not reproduced here). ImageNet weights: the DeiT-S
# checkpoint converted with tools/model_converters/deit2mmseg.py (docs/datasets.md).
_base_ = [
    './_base_/models/upernet_deit.py', './_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py', './_base_/schedules/schedule_60k.py'
]
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/deit_small_patch16_224_mmseg.pth')))
train_dataloader = dict(batch_size=8)
optim_wrapper = dict(paramwise_cfg=dict(num_layers=12))
