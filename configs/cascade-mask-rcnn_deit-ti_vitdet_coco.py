# ViTDet-style Cascade Mask R-CNN + DeiT-Ti on COCO, the paper's baseline for Vim-Ti, trained
# exactly as cascade-mask-rcnn_vim-ti_vitdet_coco.py (12 blocks for the layer-wise lr decay).
# Paper: 44.4 box AP / 38.1 mask AP (not reproduced here). The DeiT-Ti ImageNet checkpoint loads
# as released.
_base_ = [
    './_base_/models/cascade-mask-rcnn_deit-ti_vitdet.py',
    './_base_/datasets/coco_instance_lsj.py', './_base_/schedules/schedule_vitdet_100e.py'
]
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/deit_tiny_patch16_224-a1311bcf.pth')))
optim_wrapper = dict(paramwise_cfg=dict(num_layers=12))
