"""SimpleFPN (ViTDet's neck) and LN2d: shapes and strides, the norm's math, registration."""
import pytest
import torch
import torch.nn.functional as F

import mmvim  # noqa: F401  (registers LN2d and SimpleFPN)
from mmvim.models import LN2d


def test_ln2d_is_layer_norm_over_channels():
    norm = LN2d(6)
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    x = torch.randn(2, 6, 5, 7) * 3 + 1
    expected = F.layer_norm(x.permute(0, 2, 3, 1), (6, ), norm.weight, norm.bias, 1e-6)
    torch.testing.assert_close(norm(x), expected.permute(0, 3, 1, 2))


def test_mmcv_builds_ln2d_with_and_without_a_default_scope():
    from mmcv.cnn import build_norm_layer
    from mmengine.registry import DefaultScope
    name, layer = build_norm_layer(dict(type='LN2d'), 64)
    assert name == 'ln' and type(layer) is LN2d and layer.weight.shape == (64, )
    with DefaultScope.overwrite_default_scope('mmdet'):
        assert type(build_norm_layer(dict(type='LN2d', eps=1e-6), 64)[1]) is LN2d


@pytest.mark.parametrize('num_outs', [5, 6])
def test_strides_4_to_64_from_one_stride_16_map(num_outs):
    from mmdet.registry import MODELS
    neck = MODELS.build(dict(type='SimpleFPN', backbone_channel=192,
                             in_channels=[48, 96, 192, 192], out_channels=32, num_outs=num_outs))
    outs = neck((torch.randn(2, 192, 32, 32), ))
    sides = [128, 64, 32, 16, 8, 4][:num_outs]                 # 512 / (4, 8, 16, 32, 64, 128)
    assert [tuple(o.shape) for o in outs] == [(2, 32, s, s) for s in sides]
    assert type(neck.lateral_convs[0].ln) is LN2d and type(neck.rescales[0][1]) is LN2d


def test_mismatched_in_channels_are_refused():
    from mmvim.models.necks import SimpleFPN
    with pytest.raises(ValueError, match=r'must be \[48, 96, 192, 192\]'):
        SimpleFPN(192, in_channels=[192, 192, 192, 192])


def test_backbone_map_of_another_width_is_refused_naming_the_keys():
    """A Vim-S map (384 channels) into the Vim-Ti neck: the error says what to set."""
    from mmvim.models.necks import SimpleFPN
    with pytest.raises(ValueError, match=r"the backbone map has 384 channels, but the neck was "
                                         r"built for backbone_channel=192; set the neck's "
                                         r"backbone_channel=384 and in_channels=\[96, 192, 384, "
                                         r"384\]"):
        SimpleFPN(192)((torch.randn(1, 384, 4, 4), ))
