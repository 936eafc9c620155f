# ViTDet-style Cascade Mask R-CNN + Vim-Ti on COCO: large-scale jitter 1024, batch 64 (8 GPUs x 8),
# 184,375 iterations (100 epochs), AdamW lr 1e-4, weight decay 0.1, layer-wise lr decay 0.7, AMP.
# Paper: 45.7 box AP / 39.2 mask AP (not reproduced here: that needs the full COCO run).
# Needs data/coco and the official ImageNet weights in pretrain/ (docs/datasets.md).
_base_ = [
    './_base_/models/cascade-mask-rcnn_vim-ti_vitdet.py', './_base_/datasets/coco_instance_lsj.py',
    './_base_/schedules/schedule_vitdet_100e.py'
]
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/vim_t_midclstok_76p1acc.pth')))
