"""DeiT checkpoints (timm / facebookresearch key names, random values) convert to mmseg's
VisionTransformer keys and load with every tensor in place."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import mmvim  # noqa: F401
from tests.deit_checkpoints import timm_deit_state_dict

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize('layout', ['facebookresearch', 'timm'])
def test_deit_converts_to_mmseg_vit(tmp_path, layout):
    from mmseg.models.backbones import VisionTransformer
    state_dict = timm_deit_state_dict()
    src = tmp_path / 'deit_tiny.pth'
    torch.save({'model': state_dict} if layout == 'facebookresearch' else state_dict, src)
    dst = tmp_path / 'deit_tiny_mmseg.pth'
    result = subprocess.run([sys.executable, str(REPO / 'tools/model_converters/deit2mmseg.py'),
                             str(src), str(dst)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    converted = torch.load(dst, weights_only=True)['state_dict']
    model = VisionTransformer(img_size=224, embed_dims=192, num_layers=2, num_heads=3,
                              final_norm=True, with_cls_token=True, patch_bias=True)
    expected = model.state_dict()
    assert set(converted) == set(expected)
    assert all(converted[k].shape == expected[k].shape for k in expected)
    model.load_state_dict(converted)
    torch.testing.assert_close(model.layers[1].attn.attn.in_proj_weight,
                               state_dict['blocks.1.attn.qkv.weight'])
    torch.testing.assert_close(model.layers[0].ffn.layers[1].weight,
                               state_dict['blocks.0.mlp.fc2.weight'])


def test_distilled_deit_is_refused(tmp_path):
    state_dict = timm_deit_state_dict()
    state_dict['dist_token'] = torch.zeros(1, 1, 192)
    src = tmp_path / 'deit_distilled.pth'
    torch.save({'model': state_dict}, src)
    result = subprocess.run([sys.executable, str(REPO / 'tools/model_converters/deit2mmseg.py'),
                             str(src), str(tmp_path / 'out.pth')], capture_output=True,
                            text=True, cwd=REPO)
    assert result.returncode != 0 and 'distilled DeiT' in result.stderr
