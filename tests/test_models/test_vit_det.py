"""ViTDet: shapes and strides, window vs global attention, relative position, gradients, DeiT
checkpoints (built from the published key names and shapes with random values)."""
import pytest
import torch

from mmvim.models import ViTDet
from mmvim.models.layers import (RelPosAttention, decomposed_rel_pos_bias, resize_pos_embed,
                                 window_partition, window_unpartition)
from tests.deit_checkpoints import timm_deit_state_dict


def small_vitdet(**kwargs):
    """A narrow, shallow ViTDet for behaviour that does not depend on size."""
    kwargs = {**dict(embed_dim=32, depth=4, num_heads=2, img_size=64, window_size=3,
                     global_attn_indexes=(1, 3), drop_path_rate=0.0), **kwargs}
    return ViTDet(**kwargs)


def randomise_rel_pos(model):
    with torch.no_grad():
        for name, param in model.named_parameters():
            if '.rel_pos_' in name:
                param.normal_(0, 0.5)


@pytest.mark.parametrize('size', [(224, 224), (256, 320), (48, 80)])
@pytest.mark.parametrize('use_rel_pos', [False, True])
def test_one_stride_16_map(size, use_rel_pos):
    """Grids that windows of 3 do not tile (16 x 20, 3 x 5) are padded and cut back."""
    model = small_vitdet(use_rel_pos=use_rel_pos).eval()
    randomise_rel_pos(model)
    with torch.no_grad():
        outs = model(torch.randn(2, 3, *size))
    assert len(outs) == 1 and tuple(outs[0].shape) == (2, 32, size[0] // 16, size[1] // 16)
    assert torch.isfinite(outs[0]).all()


def test_deit_ti_defaults():
    model = ViTDet(use_rel_pos=True)
    assert model.pos_embed.shape == (1, 196, 192)
    assert [b.window_size for b in model.blocks] == [14, 14, 0] * 4
    assert model.blocks[0].attn.rel_pos_h.shape == (27, 64)                 # window 14
    assert model.blocks[2].attn.rel_pos_h.shape == (127, 64)                # 1024 / 16 = 64


def test_window_partition_round_trip_with_padding():
    x = torch.randn(2, 5, 7, 4)
    windows, padded = window_partition(x, 3)
    assert windows.shape == (2 * 2 * 3, 3, 3, 4) and padded == (6, 9)
    torch.testing.assert_close(windows[1, :, :, :], x[0, 0:3, 3:6])          # row-major order
    assert windows[5, 2].abs().sum() == 0                                    # padded row
    torch.testing.assert_close(window_unpartition(windows, padded, (5, 7)), x, rtol=0, atol=0)


def test_windowed_block_mixes_only_within_a_window():
    """One windowed block on a 4 x 4 grid, windows of 2: a patch changes only its own window."""
    model = small_vitdet(depth=1, window_size=2, global_attn_indexes=()).eval()
    x = torch.randn(1, 3, 64, 64)
    changed = x.clone()
    changed[:, :, :16, :16] += 1                                           # patch (0, 0)
    diff = (model(changed)[0] - model(x)[0]).abs().sum(1)[0]               # (4, 4)
    assert (diff[:2, :2] > 0).all() and diff[2:].sum() == 0 and diff[:, 2:].sum() == 0


@pytest.mark.parametrize('use_rel_pos', [False, True])
def test_window_covering_the_grid_equals_global_attention(use_rel_pos):
    """At 64 x 64 the grid is 4 x 4: one window of 4 covers it, and so must equal global."""
    torch.manual_seed(0)
    windowed = small_vitdet(window_size=4, global_attn_indexes=(), use_rel_pos=use_rel_pos)
    randomise_rel_pos(windowed)
    full = small_vitdet(window_size=4, global_attn_indexes=(0, 1, 2, 3), use_rel_pos=use_rel_pos)
    full.load_state_dict(windowed.state_dict())
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(windowed.eval()(x)[0], full.eval()(x)[0])


def test_rel_pos_bias_matches_its_definition():
    """bias[(i, j), (k, l)] = q_ij . R_h[i - k] + q_ij . R_w[j - l], offsets indexed from -(n-1)."""
    h, w, c = 3, 4, 5
    q = torch.randn(2, 2, h * w, c, dtype=torch.float64)
    rel_h = torch.randn(2 * h - 1, c, dtype=torch.float64)
    rel_w = torch.randn(2 * w - 1, c, dtype=torch.float64)
    bias = decomposed_rel_pos_bias(q, rel_h, rel_w, (h, w))
    expected = torch.empty(2, 2, h * w, h * w, dtype=torch.float64)
    for i in range(h):
        for j in range(w):
            for k in range(h):
                for m in range(w):
                    qij = q[:, :, i * w + j]
                    expected[:, :, i * w + j, k * w + m] = (qij @ rel_h[i - k + h - 1]
                                                            + qij @ rel_w[j - m + w - 1])
    torch.testing.assert_close(bias, expected)


def test_rel_pos_attention_is_softmax_with_the_bias():
    attn = RelPosAttention(8, 2, rel_pos_grid=(3, 4)).double()
    randomise_rel_pos(attn)
    x = torch.randn(2, 3, 4, 8, dtype=torch.float64)
    q, k, v = attn.qkv(x).reshape(2, 12, 3, 2, 4).permute(2, 0, 3, 1, 4)
    logits = q @ k.transpose(-1, -2) / 2 + decomposed_rel_pos_bias(
        q, attn.rel_pos_h, attn.rel_pos_w, (3, 4))
    expected = attn.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(2, 3, 4, 8))
    torch.testing.assert_close(attn(x), expected)


@pytest.mark.parametrize('use_rel_pos', [False, True])
def test_naive_attention_equals_sdpa_with_gradients(use_rel_pos):
    """The original DeiT's softmax(q k^T * scale) v and SDPA: windowed and global blocks."""
    torch.manual_seed(0)
    sdpa = small_vitdet(use_rel_pos=use_rel_pos).double()
    randomise_rel_pos(sdpa)
    naive = small_vitdet(use_rel_pos=use_rel_pos, attn_impl='naive').double()
    naive.load_state_dict(sdpa.state_dict())
    assert [b.attn.attn_impl for b in naive.blocks] == ['naive'] * 4
    x = torch.randn(2, 3, 48, 80, dtype=torch.float64)
    outs = [model.eval()(x)[0] for model in (sdpa, naive)]
    torch.testing.assert_close(outs[1], outs[0])
    for out in outs:
        out.square().sum().backward()
    for (name, p_sdpa), p_naive in zip(sdpa.named_parameters(), naive.parameters()):
        torch.testing.assert_close(p_naive.grad, p_sdpa.grad, msg=name)


def test_out_indices_tap_blocks_in_their_order():
    torch.manual_seed(0)
    model = small_vitdet(out_indices=(3, 0, -3)).eval()
    last = small_vitdet().eval()
    last.load_state_dict(model.state_dict())
    assert model.out_indices == (3, 0, 1) and last.out_indices == (3, )
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        taps = model(x)
        first_two = small_vitdet(depth=2, global_attn_indexes=(1, ), out_indices=(0, 1)).eval()
        first_two.load_state_dict(model.state_dict(), strict=False)
        early = first_two(x)
    assert [tuple(t.shape) for t in taps] == [(1, 32, 4, 3)] * 3
    torch.testing.assert_close(taps[0], last(x)[0])
    torch.testing.assert_close(taps[1], early[0])
    torch.testing.assert_close(taps[2], early[1])


def test_gradients_reach_every_parameter_and_checkpointing_keeps_them():
    torch.manual_seed(0)
    model = small_vitdet(use_rel_pos=True).train()
    x = torch.randn(2, 3, 48, 64)
    model(x)[0].square().mean().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    assert all(g.abs().sum() > 0 for g in grads.values()), [n for n, g in grads.items()
                                                            if g.abs().sum() == 0]
    model.zero_grad()
    model.with_cp = True
    model(x)[0].square().mean().backward()
    for name, param in model.named_parameters():
        torch.testing.assert_close(param.grad, grads[name], msg=name)


def test_bad_input_and_arguments_are_refused():
    with pytest.raises(ValueError, match='ViTDet: input of size 50x64 does not fit patch 16'):
        small_vitdet()(torch.randn(1, 3, 50, 64))
    with pytest.raises(ValueError, match=r'ViTDet: input of size 8x64 is smaller than one patch '
                                         r'\(16x16\)'):
        small_vitdet()(torch.randn(1, 3, 8, 64))
    with pytest.raises(ValueError, match=r'global_attn_indexes \(2, 4\) has 4, beyond'):
        small_vitdet(global_attn_indexes=(2, 4))
    with pytest.raises(ValueError, match=r'out_indices \(-5,\) has -5, beyond'):
        small_vitdet(out_indices=-5)
    with pytest.raises(ValueError, match='out_indices is empty'):
        small_vitdet(out_indices=())
    with pytest.raises(ValueError, match="attn_impl='flash'; choose one of"):
        small_vitdet(attn_impl='flash')


def load(checkpoint, **kwargs):
    model = small_vitdet(**{**dict(embed_dim=192, num_heads=3, depth=2, global_attn_indexes=(1, )),
                            **kwargs, 'init_cfg': dict(type='Pretrained', checkpoint=checkpoint)})
    model.init_weights()
    return model


@pytest.mark.parametrize('layout', ['facebookresearch', 'timm'])
def test_deit_checkpoint_lands_where_it_should(tmp_path, layout):
    deit = timm_deit_state_dict()
    path = tmp_path / 'deit_tiny_patch16_224.pth'
    torch.save({'model': deit} if layout == 'facebookresearch' else deit, path)
    model = load(str(path), use_rel_pos=True)
    loaded = model.state_dict()
    for key, value in deit.items():
        if key.startswith(('blocks.', 'patch_embed.')):
            torch.testing.assert_close(loaded[key], value, rtol=0, atol=0, msg=key)
    torch.testing.assert_close(loaded['pos_embed'], deit['pos_embed'][:, 1:], rtol=0, atol=0)
    assert not any(k.startswith(('head.', 'norm.', 'cls_token')) for k in loaded)
    assert all(loaded[k].abs().sum() == 0 for k in loaded if '.rel_pos_' in k)


def test_deit_checkpoint_of_another_resolution_is_resized():
    deit = timm_deit_state_dict(grid=24)                                     # a 384 checkpoint
    model = load(deit)
    expected = resize_pos_embed(deit['pos_embed'], (24, 24), (14, 14), 0, None)
    torch.testing.assert_close(model.pos_embed.data, expected)


def test_vitdet_from_mmdet_config_with_a_deit_checkpoint(tmp_path):
    from mmdet.registry import MODELS
    path = tmp_path / 'deit_tiny.pth'
    torch.save({'model': timm_deit_state_dict()}, path)
    model = MODELS.build(dict(type='ViTDet', depth=2, global_attn_indexes=(1, ),
                              init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    model.init_weights()
    with torch.no_grad():
        assert tuple(model.eval()(torch.randn(1, 3, 224, 224))[0].shape) == (1, 192, 14, 14)


def test_distilled_deit_is_refused():
    deit = timm_deit_state_dict()
    deit['dist_token'] = torch.zeros(1, 1, 192)
    with pytest.raises(ValueError, match='checkpoint is a distilled DeiT'):
        load(deit)


def test_other_width_is_refused_with_the_keys():
    with pytest.raises(ValueError) as error:
        load(timm_deit_state_dict(dim=384, depth=3))
    text = str(error.value)
    assert 'checkpoint does not fit this ViTDet (embed_dim=192, depth=2, patch 16)' in text
    assert 'unexpected keys: blocks.2.attn.proj.bias' in text
    assert 'mis-shaped keys: blocks.0.attn.proj.bias: checkpoint (384,) vs model (192,)' in text
    assert ('hint: the checkpoint holds a backbone of embed_dim=384 and depth=3, the model has '
            'embed_dim=192 and depth=2: set model.backbone embed_dim=384, depth=3 and num_heads=6'
            in text)
