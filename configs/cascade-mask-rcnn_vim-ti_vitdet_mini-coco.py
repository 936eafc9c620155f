# The Vim-Ti COCO detector on the embedded mini dataset (tools/data/make_mini_coco.py) at 256x256,
# from scratch, 300 iterations of batch 2 on a CPU, heads for its three classes.
_base_ = [
    './_base_/models/cascade-mask-rcnn_vim-ti_vitdet.py', './_base_/datasets/mini_coco.py',
    './_base_/schedules/schedule_det_mini.py'
]
model = dict(
    data_preprocessor=dict(batch_augments=[
        dict(type='BatchFixedSizePad', size=(256, 256), img_pad_value=0, pad_mask=True,
             mask_pad_value=0, pad_seg=False)
    ]),
    backbone=dict(img_size=(256, 256), drop_path_rate=0.0),
    roi_head=dict(
        # the cascade's box heads as in the base, for three classes (a list is replaced whole)
        bbox_head=[
            dict(
                type='Shared4Conv1FCBBoxHead',
                in_channels=256,
                conv_out_channels=256,
                fc_out_channels=1024,
                norm_cfg=dict(type='LN2d', eps=1e-6),
                roi_feat_size=7,
                num_classes=3,
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=stds),
                reg_class_agnostic=True,
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
            for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                         [0.033, 0.033, 0.067, 0.067])
        ],
        mask_head=dict(num_classes=3)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=256)),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=200)))
