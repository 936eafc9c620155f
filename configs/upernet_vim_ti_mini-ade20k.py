# UperNet + Vim-Ti on the embedded mini dataset (tools/data/make_mini_ade20k.py): 128x128 images,
# 5 classes, from scratch, 450 iterations of batch 4: the README's main job, minutes on a CPU.
_base_ = [
    './_base_/models/upernet_vim_ti.py', './_base_/datasets/mini_ade20k.py',
    'mmseg::_base_/default_runtime.py', './_base_/schedules/schedule_mini.py'
]
model = dict(
    data_preprocessor=dict(size=(128, 128)),
    backbone=dict(img_size=(128, 128), drop_path_rate=0.0),
    decode_head=dict(num_classes=5),
    auxiliary_head=dict(num_classes=5),
    test_cfg=dict(mode='whole'))
