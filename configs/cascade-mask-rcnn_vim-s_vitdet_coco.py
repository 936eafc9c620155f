# As cascade-mask-rcnn_vim-ti_vitdet_coco.py with Vim-S (D = 384). The paper reports no Vim-S
# detection result; the layer-wise lr decay stays at 0.7.
_base_ = './cascade-mask-rcnn_vim-ti_vitdet_coco.py'
model = dict(
    backbone=dict(
        arch='small',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/vim_s_midclstok_80p5acc.pth')),
    neck=dict(backbone_channel=384, in_channels=[96, 192, 384, 384]))
