"""Every detection config builds; loss mode returns every cascade loss; predict mode on a
1024x1024 input returns boxes, labels, scores and masks."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmvim  # noqa: F401

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
DET_CONFIGS = sorted(p.name for p in CONFIGS.glob('cascade-mask-rcnn_*.py'))


def build_detector(name):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(str(CONFIGS / name))
    init_default_scope(cfg.default_scope)
    return cfg, MODELS.build(cfg.model)


def det_batch(size, batch=1, training=True):
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    samples = []
    for _ in range(batch):
        sample = DetDataSample(metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size,
                                             scale_factor=(1.0, 1.0), batch_input_shape=size))
        if training:
            boxes = torch.tensor([[10.0, 20.0, 90.0, 110.0], [120.0, 40.0, 200.0, 180.0]])
            masks = np.zeros((2, *size), np.uint8)
            for mask, (x0, y0, x1, y1) in zip(masks, boxes.int().tolist()):
                mask[y0:y1, x0:x1] = 1
            sample.gt_instances = InstanceData(bboxes=boxes, labels=torch.tensor([0, 2]),
                                               masks=BitmapMasks(masks, *size))
        samples.append(sample)
    inputs = [torch.randint(0, 256, (3, *size), dtype=torch.uint8) for _ in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


def test_all_configs_are_covered():
    assert DET_CONFIGS == ['cascade-mask-rcnn_deit-ti_vitdet_coco.py',
                           'cascade-mask-rcnn_deit-ti_vitdet_mini-coco.py',
                           'cascade-mask-rcnn_vim-s_vitdet_coco.py',
                           'cascade-mask-rcnn_vim-ti_vitdet_coco.py',
                           'cascade-mask-rcnn_vim-ti_vitdet_mini-coco.py']


@pytest.mark.parametrize('name', DET_CONFIGS)
def test_config_builds_and_loss_mode_returns_all_cascade_losses(name):
    torch.manual_seed(0)
    cfg, model = build_detector(name)
    assert cfg.model.roi_head.num_stages == 3
    ious = [stage.assigner.pos_iou_thr for stage in cfg.model.train_cfg.rcnn]
    assert ious == [0.5, 0.6, 0.7]
    size = (256, 256)                 # the configs' 1024 square, made cheaper for a CPU
    model.data_preprocessor.batch_augments[0].size = size
    model.data_preprocessor.pad_size_divisor = size[0]
    data = model.data_preprocessor(det_batch(size), training=True)
    losses = model(**data, mode='loss')
    expected = {'loss_rpn_cls', 'loss_rpn_bbox'} | {
        f's{i}.{k}' for i in range(3) for k in ('loss_cls', 'loss_bbox', 'loss_mask')}
    assert expected <= set(losses), expected - set(losses)
    total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(v) for k, v in losses.items()
                if 'loss' in k)
    assert torch.isfinite(total)


@pytest.mark.parametrize('name', ['cascade-mask-rcnn_vim-ti_vitdet_coco.py',
                                  'cascade-mask-rcnn_deit-ti_vitdet_coco.py'])
def test_predict_at_1024(name):
    torch.manual_seed(0)
    cfg, model = build_detector(name)
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(det_batch((1024, 1024), training=False))
        result = model(**data, mode='predict')[0].pred_instances
    assert result.bboxes.shape[1] == 4
    assert len(result.labels) == len(result.scores) == len(result.bboxes) == len(result.masks)
    assert result.masks.shape[1:] == (1024, 1024)


def test_mini_and_deit_configs_differ_only_where_they_say():
    coco = Config.fromfile(str(CONFIGS / 'cascade-mask-rcnn_vim-ti_vitdet_coco.py'))
    mini = Config.fromfile(str(CONFIGS / 'cascade-mask-rcnn_vim-ti_vitdet_mini-coco.py'))
    # the mini detector: the same heads, 128 channels wide (box fc 256), for three classes
    narrow = dict(in_channels=128, conv_out_channels=128, fc_out_channels=256, num_classes=3)
    for mini_head, coco_head in zip(mini.model.roi_head.bbox_head, coco.model.roi_head.bbox_head):
        assert dict(mini_head) == dict(coco_head, **narrow)
    assert dict(mini.model.roi_head.mask_head) == dict(
        coco.model.roi_head.mask_head, in_channels=128, conv_out_channels=128, num_classes=3)
    # and a neck without LayerNorm (README: with it the mini detector does not learn)
    assert dict(mini.model.neck) == dict(coco.model.neck, out_channels=128, norm_cfg=None)
    for stage, (mini_rcnn, coco_rcnn) in enumerate(zip(mini.model.train_cfg.rcnn,
                                                       coco.model.train_cfg.rcnn)):
        assert mini_rcnn == dict(coco_rcnn, sampler=dict(coco_rcnn.sampler, num=128)), stage
    deit = Config.fromfile(str(CONFIGS / 'cascade-mask-rcnn_deit-ti_vitdet_coco.py'))
    for key in ('neck', 'rpn_head', 'roi_head', 'train_cfg', 'test_cfg', 'data_preprocessor'):
        assert deit.model[key] == coco.model[key], key
    assert deit.train_dataloader == coco.train_dataloader
    assert deit.optim_wrapper.optimizer == coco.optim_wrapper.optimizer
    assert deit.model.backbone.global_attn_indexes == (2, 5, 8, 11)
    assert coco.model.backbone.out_type == 'stream' and coco.model.backbone.cls_token is None


@pytest.mark.parametrize('name', DET_CONFIGS)
def test_data_goes_through_the_checked_dataset_with_the_standard_loader(name):
    """The checks live in the dataset; the pipelines keep the transform names mmdet's inference
    APIs look for (tests/test_apis), and the test pipeline does not pad (mmcv's Pad would set
    img_shape to the padded size, and predicted boxes would not be clipped to the image)."""
    cfg = Config.fromfile(str(CONFIGS / name))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.type == 'CheckedCocoDataset', loader
        assert cfg[loader].dataset.pipeline[0].type == 'LoadImageFromFile', loader
    assert 'Pad' not in [step.type for step in cfg.test_dataloader.dataset.pipeline]
    size = cfg.train_dataloader.dataset.pipeline[2].scale          # RandomResize's
    assert cfg.model.data_preprocessor.pad_size_divisor == size[0] == size[1]


def test_vim_s_backbone_in_the_vim_ti_detector_names_the_neck_keys():
    from mmdet.registry import MODELS
    cfg = Config.fromfile(str(CONFIGS / 'cascade-mask-rcnn_vim-ti_vitdet_coco.py'))
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.update(arch='small', depth=2, out_indices=(1, ), img_size=(64, 64))
    model = MODELS.build(cfg.model)
    with pytest.raises(ValueError, match="set the neck's backbone_channel=384"):
        model.extract_feat(torch.randn(1, 3, 64, 64))
