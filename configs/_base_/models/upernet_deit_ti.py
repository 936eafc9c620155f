# UperNet on DeiT-Ti: D = 192, 3 heads.
_base_ = './upernet_deit.py'
model = dict(
    backbone=dict(embed_dims=192, num_heads=3),
    neck=dict(embed_dim=192),
    decode_head=dict(in_channels=[192, 192, 192, 192], channels=192),
    auxiliary_head=dict(in_channels=192))
