# UperNet on Vim-S, as in the paper's segmentation experiments: taps at blocks 5, 11, 17, 23,
# a deconvolution pyramid at scales 4, 2, 1, 0.5 (Feature2Pyramid), UperHead with channels = D,
# auxiliary FCN head on the third tap. Variants change the arch and the four widths.
custom_imports = dict(imports=['mmvim'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)  # plain BN on one device: mmengine reverts it
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512),
    # test images (and slide-inference crops of them) of any size: padded to a multiple of 32,
    # i.e. whole 16-pixel patches and at least two of them a side for the pyramid's max-pooled
    # 0.5 level; the padding is cropped off the prediction again
    test_cfg=dict(size_divisor=32))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='VisionMamba',
        arch='small',
        img_size=(512, 512),
        out_indices=(5, 11, 17, 23),
        drop_path_rate=0.1),
    neck=dict(
        type='Feature2Pyramid',
        embed_dim=384,
        rescales=[4, 2, 1, 0.5],
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='UPerHead',
        in_channels=[384, 384, 384, 384],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=384,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=384,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
