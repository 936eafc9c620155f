# The paper's DeiT-Ti detection baseline: the Vim-Ti detector with mmvim's ViTDet backbone (DeiT-Ti
# blocks, window attention with window 14 in every block but the global ones 2, 5, 8, 11).
_base_ = './cascade-mask-rcnn_vim-ti_vitdet.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='ViTDet',
        embed_dim=192,
        depth=12,
        num_heads=3,
        img_size=(1024, 1024),
        window_size=14,
        global_attn_indexes=(2, 5, 8, 11),
        drop_path_rate=0.1))
