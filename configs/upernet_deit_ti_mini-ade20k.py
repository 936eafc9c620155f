# UperNet + DeiT-Ti on the embedded mini dataset, trained exactly as
# upernet_vim_ti_mini-ade20k.py.
_base_ = [
    './_base_/models/upernet_deit_ti.py', './_base_/datasets/mini_ade20k.py',
    'mmseg::_base_/default_runtime.py', './_base_/schedules/schedule_mini.py'
]
model = dict(
    data_preprocessor=dict(size=(128, 128)),
    backbone=dict(img_size=(128, 128), drop_path_rate=0.0),
    decode_head=dict(num_classes=5),
    auxiliary_head=dict(num_classes=5),
    test_cfg=dict(mode='whole'))
optim_wrapper = dict(paramwise_cfg=dict(num_layers=12))
