# The DeiT-Ti detector on the embedded mini dataset, trained exactly as
# cascade-mask-rcnn_vim-ti_vitdet_mini-coco.py (the backbone of
# _base_/models/cascade-mask-rcnn_deit-ti_vitdet.py at 256x256).
_base_ = './cascade-mask-rcnn_vim-ti_vitdet_mini-coco.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='ViTDet',
        embed_dim=192,
        depth=12,
        num_heads=3,
        img_size=(256, 256),
        window_size=14,
        global_attn_indexes=(2, 5, 8, 11)))
optim_wrapper = dict(paramwise_cfg=dict(num_layers=12))
