# UperNet + Vim-Ti on ADE20K: as upernet_vim_s_ade20k.py with D = 192, lr 2e-4, weight decay 0.1,
# layer-wise lr decay 0.92. Paper: 41.0 mIoU single scale (not reproduced here: that needs the
# full ADE20K run).
_base_ = [
    './_base_/models/upernet_vim_ti.py', './_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py', './_base_/schedules/schedule_60k.py'
]
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/vim_t_midclstok_76p1acc.pth')))
train_dataloader = dict(batch_size=8)
optim_wrapper = dict(
    optimizer=dict(lr=2e-4, weight_decay=0.1), paramwise_cfg=dict(decay_rate=0.92))
