"""Every segmentation config builds, runs in loss and predict modes, and its optimizer constructor
gives each parameter the intended learning rate and weight decay."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

import mmvim  # noqa: F401

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
SEG_CONFIGS = sorted(p.name for p in CONFIGS.glob('upernet_*.py'))


def build_segmentor(name, **backbone):
    from mmseg.registry import MODELS
    cfg = Config.fromfile(str(CONFIGS / name))
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.update(backbone)
    return cfg, MODELS.build(cfg.model)


def seg_batch(size, num_classes, batch=2):
    from mmseg.structures import SegDataSample
    inputs = [torch.randint(0, 256, (3, *size), dtype=torch.uint8) for _ in range(batch)]
    samples = []
    for _ in range(batch):
        sample = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, *size)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_all_configs_are_covered():
    assert SEG_CONFIGS == ['upernet_deit_s_ade20k.py', 'upernet_deit_ti_ade20k.py',
                           'upernet_deit_ti_mini-ade20k.py', 'upernet_vim_s_ade20k.py',
                           'upernet_vim_ti_ade20k.py', 'upernet_vim_ti_mini-ade20k.py']


@pytest.mark.parametrize('name', SEG_CONFIGS)
def test_config_builds_and_runs(name):
    torch.manual_seed(0)
    cfg, model = build_segmentor(name)
    num_classes = cfg.model.decode_head.num_classes
    assert num_classes == (5 if 'mini' in name else 150)
    size = (64, 64)
    model.data_preprocessor.size = size
    model.test_cfg.update(mode='whole')
    data = model.data_preprocessor(seg_batch(size, num_classes), training=True)
    losses = model(**data, mode='loss')
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    model.eval()
    with torch.no_grad():
        predictions = model(**model.data_preprocessor(seg_batch(size, num_classes)),
                            mode='predict')
    assert predictions[0].seg_logits.data.shape == (num_classes, *size)
    assert predictions[0].pred_sem_seg.data.shape == (1, *size)


def test_vim_and_deit_ade_configs_share_everything_but_the_backbone():
    vim = Config.fromfile(str(CONFIGS / 'upernet_vim_ti_ade20k.py'))
    deit = Config.fromfile(str(CONFIGS / 'upernet_deit_ti_ade20k.py'))
    for key in ('neck', 'decode_head', 'auxiliary_head', 'test_cfg', 'data_preprocessor'):
        assert vim.model[key] == deit.model[key], key
    for key in ('train_dataloader', 'val_dataloader', 'param_scheduler', 'train_cfg'):
        assert vim[key] == deit[key], key
    assert vim.optim_wrapper.optimizer == deit.optim_wrapper.optimizer
    assert vim.model.backbone.out_indices == (5, 11, 17, 23)
    assert deit.model.backbone.out_indices == (2, 5, 8, 11)
    assert vim.model.test_cfg == dict(mode='slide', crop_size=(512, 512), stride=(341, 341))


@pytest.mark.parametrize('name, num_layers, decay, lr, wd', [
    ('upernet_vim_ti_ade20k.py', 24, 0.92, 2e-4, 0.1),
    ('upernet_deit_s_ade20k.py', 12, 0.95, 1e-4, 0.05),
])
def test_layer_decay_lr_and_weight_decay_per_parameter(name, num_layers, decay, lr, wd):
    cfg, model = build_segmentor(name, **({'depth': 24} if 'vim' in name else {}))
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    setting = {}
    for group in optimizer.param_groups:
        for param in group['params']:
            setting[id(param)] = (group['lr'], group['weight_decay'])
    params = dict(model.named_parameters())
    assert len(setting) == len(params)

    def expect(name, depth, decayed):
        got = setting[id(params[name])]
        assert got[0] == pytest.approx(lr * decay**(num_layers + 1 - depth)), name
        assert got[1] == (wd if decayed else 0.0), name

    last = num_layers - 1
    expect('backbone.patch_embed.' + ('proj' if 'vim' in name else 'projection') + '.weight',
           0, True)
    expect('backbone.pos_embed', 0, False)
    expect('backbone.cls_token', 0, False)
    expect(f'backbone.layers.{last}.' + ('mixer.in_proj.weight' if 'vim' in name
                                         else 'ffn.layers.0.0.weight'), num_layers, True)
    expect('backbone.layers.0.' + ('norm.weight' if 'vim' in name else 'ln1.weight'), 1, False)
    expect('decode_head.conv_seg.weight', num_layers + 1, True)
    expect('decode_head.conv_seg.bias', num_layers + 1, False)
    if 'vim' in name:
        for key in ('A_log', 'A_b_log', 'D', 'D_b'):
            expect(f'backbone.layers.3.mixer.{key}', 4, False)
        expect('backbone.layers.3.mixer.x_proj_b.weight', 4, True)


def test_layer_decay_refuses_a_wrong_num_layers():
    cfg, model = build_segmentor('upernet_vim_ti_ade20k.py')
    cfg.optim_wrapper.paramwise_cfg.num_layers = 12
    with pytest.raises(ValueError,
                       match='belongs to block 12, but paramwise_cfg says num_layers=12'):
        build_optim_wrapper(model, cfg.optim_wrapper)


@pytest.mark.parametrize('name', SEG_CONFIGS)
def test_data_goes_through_a_checked_dataset_with_the_standard_loaders(name):
    """The checks live in the dataset; the pipelines keep the transform names mmseg's inference
    APIs look for (tests/test_apis)."""
    cfg = Config.fromfile(str(CONFIGS / name))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.type in ('CheckedADE20KDataset', 'MiniADE20KDataset'), loader
        types = [step.type for step in cfg[loader].dataset.pipeline]
        assert types[0] == 'LoadImageFromFile' and 'LoadAnnotations' in types, loader
    assert cfg.test_pipeline[0].type == 'LoadImageFromFile'          # what inference_model reads


def test_ade20k_base_is_mmsegs_but_for_the_checked_dataset(tmp_path):
    ours = Config.fromfile(str(CONFIGS / '_base_/datasets/ade20k.py'))
    (tmp_path / 'mmseg_ade20k.py').write_text("_base_ = 'mmseg::_base_/datasets/ade20k.py'\n")
    mmseg = Config.fromfile(str(tmp_path / 'mmseg_ade20k.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert ours[loader].dataset.type == 'CheckedADE20KDataset', loader
        assert ({**ours[loader].dataset, 'type': None}
                == {**mmseg[loader].dataset, 'type': None}), loader
        assert {**ours[loader], 'dataset': None} == {**mmseg[loader], 'dataset': None}, loader


def test_vim_s_backbone_in_the_vim_ti_segmentor_fails_naming_both_widths():
    """mmseg's Feature2Pyramid does not check its input; torch's error gives both channel counts
    (docs/failure_modes.md says which keys to change)."""
    cfg, model = build_segmentor('upernet_vim_ti_mini-ade20k.py', arch='small', depth=2,
                                 out_indices=(0, 0, 1, 1))
    with pytest.raises(RuntimeError, match='to have 192 channels, but got 384 channels'):
        model.extract_feat(torch.randn(1, 3, 32, 32))


def test_layer_decay_optimizer_steps_under_torch_compile():
    """mmengine's compile=True compiles train_step, the optimizer's step included; torch.compile
    failed to trace AdamW's step over the ConfigDict param groups mmengine's registry builds
    (dynamo: 'UserDefinedDictVariable' object has no attribute 'items')."""
    cfg, model = build_segmentor('upernet_vim_ti_mini-ade20k.py', depth=2,
                                 out_indices=(0, 0, 1, 1))
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert all(type(group) is dict for group in optim_wrapper.optimizer.param_groups)
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.ones_like(p)
    before = params[0].detach().clone()
    torch.compile(optim_wrapper.step, backend='eager')()
    assert not torch.equal(before, params[0])


def test_layer_decay_without_a_weight_decay_keeps_the_optimizers_default():
    """The groups got weight_decay=None, and AdamW's step failed on it."""
    cfg, model = build_segmentor('upernet_vim_ti_mini-ade20k.py', depth=2,
                                 out_indices=(0, 0, 1, 1))
    del cfg.optim_wrapper.optimizer['weight_decay']
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    decays = {group['weight_decay'] for group in optimizer.param_groups}
    assert decays == {0.0, optimizer.defaults['weight_decay']}
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    optimizer.step()
