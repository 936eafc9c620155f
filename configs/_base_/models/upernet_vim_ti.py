# UperNet on Vim-Ti: D = 192.
_base_ = './upernet_vim.py'
model = dict(
    backbone=dict(arch='tiny'),
    neck=dict(embed_dim=192),
    decode_head=dict(in_channels=[192, 192, 192, 192], channels=192),
    auxiliary_head=dict(in_channels=192))
