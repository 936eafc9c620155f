# UperNet + Vim-S on ADE20K (150 classes): 512x512 crops, 60k iterations on 4 GPUs x 8 images,
# AdamW lr 1e-4, weight decay 0.05, layer-wise lr decay 0.95, slide inference 512 / stride 341.
# Paper: 44.9 mIoU single scale (not reproduced here: that needs the full ADE20K run).
# Needs data/ade/ADEChallengeData2016 and the official ImageNet weights in pretrain/
# (docs/datasets.md).
_base_ = [
    './_base_/models/upernet_vim.py', './_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py', './_base_/schedules/schedule_60k.py'
]
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/vim_s_midclstok_80p5acc.pth')))
train_dataloader = dict(batch_size=8)
