"""DeiT checkpoints (timm / facebookresearch key names, random values) convert to mmseg's
VisionTransformer keys and load with every tensor in place; the converters refuse checkpoints that
would run code, and read legacy pickled files only with --trust-checkpoint."""
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

import mmvim  # noqa: F401
from tests.deit_checkpoints import timm_deit_state_dict
from tests.test_utils.test_checkpoint import hostile_checkpoint

REPO = Path(__file__).resolve().parents[2]


def run_converter(name, *args):
    return subprocess.run([sys.executable, str(REPO / 'tools/model_converters' / name),
                           *map(str, args)], capture_output=True, text=True, cwd=REPO)


@pytest.mark.parametrize('layout', ['facebookresearch', 'timm'])
def test_deit_converts_to_mmseg_vit(tmp_path, layout):
    from mmseg.models.backbones import VisionTransformer
    state_dict = timm_deit_state_dict()
    src = tmp_path / 'deit_tiny.pth'
    torch.save({'model': state_dict} if layout == 'facebookresearch' else state_dict, src)
    dst = tmp_path / 'deit_tiny_mmseg.pth'
    result = run_converter('deit2mmseg.py', src, dst)
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
    result = run_converter('deit2mmseg.py', src, tmp_path / 'out.pth')
    assert result.returncode != 0 and 'distilled DeiT' in result.stderr


@pytest.mark.parametrize('converter', ['vim2mmvim.py', 'deit2mmseg.py'])
def test_converters_refuse_checkpoint_that_runs_code(tmp_path, converter):
    path, marker = hostile_checkpoint(tmp_path)
    result = run_converter(converter, path, tmp_path / 'out.pth')
    assert result.returncode != 0 and f'refusing to load {path}' in result.stderr
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()


def test_legacy_pickled_checkpoint_converts_with_trust_flag(tmp_path):
    """(Without the flag it is refused: tests/test_utils/test_checkpoint.py.)"""
    src = tmp_path / 'legacy_deit.pth'
    torch.save({'model': timm_deit_state_dict(), 'args': types.SimpleNamespace(lr=5e-4)}, src)
    trusted = run_converter('deit2mmseg.py', src, tmp_path / 'trusted.pth', '--trust-checkpoint')
    assert trusted.returncode == 0, trusted.stderr[-2000:]
    assert f'{src} holds pickled objects besides weights' in trusted.stdout + trusted.stderr
    assert 'layers.0.ln1.weight' in torch.load(tmp_path / 'trusted.pth',
                                               weights_only=True)['state_dict']


@pytest.mark.parametrize('converter', ['vim2mmvim.py', 'deit2mmseg.py'])
def test_converters_refuse_to_overwrite_their_input(tmp_path, converter):
    src = tmp_path / 'weights.pth'
    torch.save({'model': timm_deit_state_dict()}, src)
    before = src.read_bytes()
    result = run_converter(converter, src, src)
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    assert f'the output {src} is the input checkpoint {src}' in result.stderr
    assert src.read_bytes() == before


def test_the_converters_input_is_checked_before_it_is_read(tmp_path):
    """What both converters call (checkpoint_to_convert): the same file under another spelling
    is refused; a file that is no checkpoint exits naming it, without a traceback."""
    from mmvim.utils import checkpoint_to_convert
    src = tmp_path / 'weights.pth'
    torch.save({'model': timm_deit_state_dict()}, src)
    with pytest.raises(SystemExit, match='is the input checkpoint'):
        checkpoint_to_convert(str(src), str(tmp_path / '.' / 'weights.pth'))
    assert 'model' in checkpoint_to_convert(str(src), str(tmp_path / 'out.pth'))
    page = tmp_path / 'download.pth'
    page.write_text('<html><body>Not Found</body></html>')
    with pytest.raises(SystemExit, match=f'{page} is not a checkpoint: it is an HTML page'):
        checkpoint_to_convert(str(page), str(tmp_path / 'out.pth'))
