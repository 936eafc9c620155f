# The DeiT-S baseline of the paper, set up like Vim: mmseg's VisionTransformer (12 blocks) with
# taps at blocks 2, 5, 8, 11, and the same neck and heads as _base_/models/upernet_vim.py.
_base_ = './upernet_vim.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='VisionTransformer',
        img_size=(512, 512),
        patch_size=16,
        patch_bias=True,  # DeiT's patch conv has a bias; mmseg's default drops it
        embed_dims=384,
        num_layers=12,
        num_heads=6,
        mlp_ratio=4,
        qkv_bias=True,
        out_indices=(2, 5, 8, 11),
        drop_path_rate=0.1,
        with_cls_token=True,
        final_norm=False,
        norm_cfg=dict(type='LN', eps=1e-6),
        interpolate_mode='bicubic'))
