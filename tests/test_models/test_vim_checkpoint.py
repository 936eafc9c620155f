"""Official-format checkpoints (built here from the published key names and shapes, with random
values) load into VisionMamba with every tensor where it belongs; bad ones fail loudly."""
import argparse
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmvim.models import VisionMamba
from mmvim.models.layers import resize_pos_embed

REPO = Path(__file__).resolve().parents[2]


def official_state_dict(dim, depth=24, grid=14, d_state=16, num_classes=1000):
    """The key names and shapes of hustvl/Vim's released ``*_midclstok_*.pth`` files."""
    inner, rank = 2 * dim, math.ceil(dim / 16)
    shapes = {'patch_embed.proj.weight': (dim, 3, 16, 16), 'patch_embed.proj.bias': (dim, ),
              'cls_token': (1, 1, dim), 'pos_embed': (1, grid * grid + 1, dim),
              'norm_f.weight': (dim, ), 'head.weight': (num_classes, dim),
              'head.bias': (num_classes, )}
    for i in range(depth):
        layer = {'norm.weight': (dim, ), 'mixer.in_proj.weight': (2 * inner, dim),
                 'mixer.out_proj.weight': (dim, inner)}
        for s in ('', '_b'):
            layer.update({f'mixer.conv1d{s}.weight': (inner, 1, 4),
                          f'mixer.conv1d{s}.bias': (inner, ),
                          f'mixer.x_proj{s}.weight': (rank + 2 * d_state, inner),
                          f'mixer.dt_proj{s}.weight': (inner, rank),
                          f'mixer.dt_proj{s}.bias': (inner, ),
                          f'mixer.A{s}_log': (inner, d_state), f'mixer.D{s}': (inner, )})
        shapes.update({f'layers.{i}.{k}': v for k, v in layer.items()})
    return {k: torch.randn(v) for k, v in shapes.items()}


def save_official(path, state_dict):
    """As the official training script saves: model, optimizer, EMA, scaler, epoch and args."""
    torch.save({'model': state_dict, 'optimizer': {'state': {}, 'param_groups': [{'lr': 1e-3}]},
                'model_ema': {k: v.clone() for k, v in list(state_dict.items())[:3]},
                'scaler': {'scale': 65536.0}, 'epoch': 299,
                'args': argparse.Namespace(model='vim_tiny', lr=5e-4)}, path)
    return path


@pytest.fixture(scope='module')
def vim_ti_checkpoint(tmp_path_factory):
    state_dict = official_state_dict(192)
    return save_official(tmp_path_factory.mktemp('ckpt') / 'vim_t_midclstok_76p1acc.pth',
                         state_dict), state_dict


def load(path, **kwargs):
    model = VisionMamba(**{'arch': 'tiny', 'img_size': 512, **kwargs,
                           'init_cfg': dict(type='Pretrained', checkpoint=str(path))})
    model.init_weights()
    return model


def test_official_checkpoint_lands_where_it_should(vim_ti_checkpoint):
    path, official = vim_ti_checkpoint
    model = load(path)
    loaded = model.state_dict()
    for key, value in official.items():
        if key.startswith(('layers.', 'patch_embed.')) or key == 'cls_token':
            torch.testing.assert_close(loaded[key], value, rtol=0, atol=0, msg=key)
    assert 'head.weight' not in loaded and 'norm_f.weight' not in loaded
    expected = resize_pos_embed(official['pos_embed'], (14, 14), (32, 32), 98, 512)
    torch.testing.assert_close(loaded['pos_embed'], expected)
    torch.testing.assert_close(loaded['pos_embed'][:, 512], official['pos_embed'][:, 98])


def test_same_grid_is_loaded_unchanged_and_features_match(vim_ti_checkpoint):
    path, official = vim_ti_checkpoint
    model = load(path, img_size=224, final_norm=True, out_type='stream', out_indices=(23, ))
    torch.testing.assert_close(model.pos_embed.data, official['pos_embed'], rtol=0, atol=0)
    torch.testing.assert_close(model.norm_f.weight.data, official['norm_f.weight'])


def test_model_without_class_token_drops_its_entry(vim_ti_checkpoint):
    path, official = vim_ti_checkpoint
    model = load(path, img_size=224, cls_token=None)
    grid = torch.cat([official['pos_embed'][:, :98], official['pos_embed'][:, 99:]], dim=1)
    torch.testing.assert_close(model.pos_embed.data, grid)


def test_stride_8_checkpoint(tmp_path):
    state_dict = official_state_dict(192, depth=2, grid=27)
    path = save_official(tmp_path / 'vim_t_midclstok_ft_78p3acc.pth', state_dict)
    model = load(path, img_size=224, stride=8, depth=2, out_indices=(1, ), arch=None,
                 embed_dim=192)
    torch.testing.assert_close(model.pos_embed.data, state_dict['pos_embed'])


def test_other_variant_is_refused_with_the_keys(tmp_path):
    path = save_official(tmp_path / 'vim_s.pth', official_state_dict(384, depth=2))
    with pytest.raises(ValueError) as error:
        load(path)
    text = str(error.value)
    assert 'vim_s.pth does not fit' in text
    assert 'missing keys: layers.10.' in text or 'missing keys: layers.' in text
    assert 'mis-shaped keys: cls_token: checkpoint (1, 1, 384) vs model (1, 1, 192)' in text
    assert 'layers.0.mixer.A_b_log: checkpoint (768, 16) vs model (384, 16)' in text
    assert ('hint: the checkpoint holds a backbone of embed_dim=384 and depth=2, the model has '
            'embed_dim=192 and depth=24: set model.backbone arch=None, embed_dim=384, depth=2'
            in text)


@pytest.mark.parametrize('dim, depth, setting', [
    (384, 24, "arch='small'"), (768, 24, "arch='base'"), (192, 12, 'arch=None, embed_dim=192, '
                                                                   'depth=12')])
def test_config_for_names_the_arch_of_a_checkpoint(dim, depth, setting):
    assert VisionMamba.config_for(dim, depth).startswith(f'set model.backbone {setting}, ')


def test_missing_and_unexpected_keys_are_listed(tmp_path):
    state_dict = official_state_dict(192)
    del state_dict['layers.3.mixer.D_b']
    state_dict['layers.3.mixer.E'] = torch.ones(192)
    path = save_official(tmp_path / 'broken.pth', state_dict)
    with pytest.raises(ValueError, match=r'(?s)missing keys: layers.3.mixer.D_b.*'
                                         r'unexpected keys: layers.3.mixer.E') as error:
        load(path)
    assert 'hint' not in str(error.value)          # width and depth match: no other variant


def test_vim_s_from_config_at_512(tmp_path):
    """The issue's end-to-end check: Vim-S from a config, official checkpoint, four 32x32 maps."""
    from mmseg.registry import MODELS
    path = save_official(tmp_path / 'vim_s_midclstok_80p5acc.pth', official_state_dict(384))
    model = MODELS.build(dict(type='VisionMamba', arch='small', img_size=512,
                              init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    model.init_weights()
    with torch.no_grad():
        outs = model.eval()(torch.randn(1, 3, 512, 512))
    assert [tuple(o.shape) for o in outs] == [(1, 384, 32, 32)] * 4
    assert all(torch.isfinite(o).all() for o in outs)


def test_converter_round_trip(vim_ti_checkpoint, tmp_path):
    path, official = vim_ti_checkpoint
    converted = tmp_path / 'vim_t_mmvim.pth'
    result = subprocess.run([sys.executable, str(REPO / 'tools/model_converters/vim2mmvim.py'),
                             str(path), str(converted)], capture_output=True, text=True,
                            cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "dropped ['head.bias', 'head.weight']" in result.stdout
    saved = torch.load(converted, weights_only=True)
    assert saved['meta']['depth'] == 24 and 'head.weight' not in saved['state_dict']
    direct, via_converter = load(path), load(converted)
    for key, value in direct.state_dict().items():
        torch.testing.assert_close(via_converter.state_dict()[key], value, rtol=0, atol=0)


def test_non_finite_weights_are_named_at_load(tmp_path):
    """Not blamed later on the learning rate by the non-finite loss check."""
    state_dict = official_state_dict(192, depth=2)
    state_dict['layers.1.mixer.D_b'][3] = float('nan')
    path = save_official(tmp_path / 'vim_nan.pth', state_dict)
    with pytest.raises(RuntimeError, match=f'checkpoint {path} holds NaN or infinite values in '
                                           r'model.layers.1.mixer.D_b: '):
        load(path, depth=2, out_indices=(1, ))
