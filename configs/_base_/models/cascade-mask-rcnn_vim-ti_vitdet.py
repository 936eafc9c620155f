# ViTDet-style Cascade Mask R-CNN on Vim-Ti, as in the paper's detection experiments: one stride-16
# map (the residual stream after the last block, class token dropped) -> SimpleFPN (strides 4-64,
# LN2d) -> RPN with 2 convs -> three cascade stages (IoU 0.5 / 0.6 / 0.7) with 4conv1fc box heads
# and a 4-conv mask head, all with LN2d. Starts from mmdet's Cascade Mask R-CNN and replaces what
# ViTDet changes.
_base_ = 'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py'
custom_imports = dict(imports=['mmvim'], allow_failed_imports=False)
norm_cfg = dict(type='LN2d', eps=1e-6)
model = dict(
    data_preprocessor=dict(
        # every batch padded to the 1024 square, as ViTDet pads (square_pad): the pipelines
        # resize images to fit 1024, so a multiple of 1024 is that square
        pad_size_divisor=1024,
        batch_augments=[
            dict(type='BatchFixedSizePad', size=(1024, 1024), img_pad_value=0, pad_mask=True,
                 mask_pad_value=0, pad_seg=False)
        ]),
    backbone=dict(
        _delete_=True,
        type='VisionMamba',
        arch='tiny',
        img_size=(1024, 1024),
        cls_token=None,
        out_indices=(23, ),
        out_type='stream',
        drop_path_rate=0.1),
    neck=dict(
        _delete_=True,
        type='SimpleFPN',
        backbone_channel=192,
        in_channels=[48, 96, 192, 192],
        out_channels=256,
        num_outs=5,
        norm_cfg=norm_cfg),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=[
            dict(
                type='Shared4Conv1FCBBoxHead',
                in_channels=256,
                conv_out_channels=256,
                fc_out_channels=1024,
                norm_cfg=norm_cfg,
                roi_feat_size=7,
                num_classes=80,
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=stds),
                reg_class_agnostic=True,
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
            for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                         [0.033, 0.033, 0.067, 0.067])
        ],
        mask_head=dict(norm_cfg=norm_cfg)))
