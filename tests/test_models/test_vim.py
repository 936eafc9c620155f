"""VisionMamba: shapes, class-token modes, taps, gradients, checkpointing, freezing, errors."""
import pytest
import torch

from mmvim.models import VisionMamba
from mmvim.models.utils import GraphedTraining


def tiny_vim(**kwargs):
    """A narrow, shallow Vim for fast checks of behaviour that does not depend on size."""
    kwargs = {**dict(arch=None, embed_dim=32, depth=4, out_indices=(0, 1, 2, 3), img_size=64,
                     drop_path_rate=0.0), **kwargs}
    return VisionMamba(**kwargs)


# Each variant at a square and a non-square size (its position embedding, made for 512, resized to
# both); test_class_token_modes covers every class-token mode on a narrow model.
@pytest.mark.parametrize('arch, dim, size, cls_token', [
    ('tiny', 192, (224, 224), 'head'), ('tiny', 192, (512, 768), None),
    ('small', 384, (224, 224), None), ('small', 384, (512, 768), 'middle')])
def test_official_variants_output_shapes(arch, dim, size, cls_token):
    model = VisionMamba(arch, img_size=512, cls_token=cls_token).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *size))
    assert [tuple(o.shape) for o in outs] == [(1, dim, size[0] // 16, size[1] // 16)] * 4


@pytest.mark.parametrize('cls_token', [None, 'head', 'middle'])
@pytest.mark.parametrize('size', [(64, 64), (48, 80)])
def test_class_token_modes(cls_token, size):
    model = tiny_vim(cls_token=cls_token).eval()
    assert (model.cls_token is None) == (cls_token is None)
    assert model.pos_embed.shape[1] == 16 + (cls_token is not None)
    outs = model(torch.randn(2, 3, *size))
    assert [tuple(o.shape) for o in outs] == [(2, 32, size[0] // 16, size[1] // 16)] * 4


def test_middle_class_token_goes_to_the_middle():
    """The class token enters at position M // 2: its embedding shifts only that token."""
    model = tiny_vim(cls_token='middle', depth=1, out_indices=(0, ), out_type='stream').eval()
    seen = {}
    model.layers[0].register_forward_hook(lambda m, args, out: seen.update(h=args[0]) and None)
    model(torch.randn(1, 3, 64, 64))
    tokens = seen['h'][0] - model.pos_embed[0]
    torch.testing.assert_close(tokens[8], model.cls_token[0, 0])


def test_stride_8_long_sequence():
    model = VisionMamba('tiny', img_size=224, stride=8).eval()
    assert model.pos_embed.shape == (1, 730, 192)          # as the stride-8 checkpoints
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 224, 224))
    assert tuple(outs[0].shape) == (1, 192, 27, 27)


def test_taps_mixer_stream_and_final_norm():
    x = torch.randn(1, 3, 64, 64)
    torch.manual_seed(0)
    mixer = tiny_vim(out_indices=(1, 3)).eval()
    torch.manual_seed(0)
    stream = tiny_vim(out_indices=(1, 3), out_type='stream', final_norm=True).eval()
    stream.norm_f.weight.data.uniform_(0.5, 2)
    hidden, residual = {}, {}

    def keep(i):
        def hook(module, args, out):
            hidden[i], residual[i] = out
        return hook

    for i, layer in enumerate(mixer.layers):
        layer.register_forward_hook(keep(i))
    outs_mixer, outs_stream = mixer(x), stream(x)
    to_map = lambda t: t[:, torch.arange(17) != 8].transpose(1, 2).reshape(1, 32, 4, 4)  # noqa
    torch.testing.assert_close(outs_mixer[0], to_map(hidden[1]))
    torch.testing.assert_close(outs_stream[0], to_map(residual[2]))      # stream after block 1
    final = stream.norm_f(residual[3] + hidden[3])
    torch.testing.assert_close(outs_stream[1], to_map(final))


def test_gradients_reach_every_parameter():
    model = tiny_vim(cls_token='middle', drop_path_rate=0.1).train()
    outs = model(torch.randn(2, 3, 48, 64))
    sum(o.square().mean() for o in outs).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not no_grad


def test_with_cp_same_outputs_and_gradients():
    torch.manual_seed(0)
    plain = tiny_vim().train()
    checkpointed = tiny_vim(with_cp=True).train()
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    grads = []
    for model in (plain, checkpointed):
        outs = model(x)
        sum(o.square().mean() for o in outs).backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
        grads[-1]['outs'] = outs
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name])


def test_frozen_stages():
    model = tiny_vim(frozen_stages=2)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert {'pos_embed', 'cls_token', 'patch_embed.proj.weight'} <= frozen
    assert any(n.startswith('layers.1.') for n in frozen)
    assert not any(n.startswith('layers.2.') for n in frozen)
    model.train()
    assert not model.layers[1].training and model.layers[2].training


def test_drop_path_schedule_is_official():
    model = VisionMamba('tiny', drop_path_rate=0.1)
    rates = [layer.add.drop_path.drop_prob for layer in model.layers]
    expected = [0.0] + torch.linspace(0, 0.1, 24).tolist()[:23]
    assert rates == pytest.approx(expected)
    assert model.final_add.drop_path.drop_prob == pytest.approx(0.1)


@pytest.mark.parametrize('kwargs, message', [
    (dict(out_indices=(5, 24)), r'out_indices \(5, 24\) has 24, beyond the 24 blocks'),
    (dict(arch='huge'), "unknown arch 'huge'"),
    (dict(cls_token='tail'), "cls_token='tail'"),
    (dict(out_type='norm'), "out_type='norm'"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VisionMamba(**{'arch': 'tiny', **kwargs})


@pytest.mark.parametrize('size, stride, message', [
    ((60, 64), 16, 'input of size 60x64 does not fit patch 16 with stride 16'),
    ((36, 40), 8, 'input of size 36x40 does not fit patch 16 with stride 8'),
    ((8, 8), 16, r'input of size 8x8 is smaller than one patch \(16x16\)'),
    ((64, 12), 8, r'input of size 64x12 is smaller than one patch \(16x16\)'),
])
def test_inputs_that_do_not_tile_are_refused(size, stride, message):
    with pytest.raises(ValueError, match=f'VisionMamba: {message}'):
        tiny_vim(stride=stride)(torch.randn(1, 3, *size))


def test_cuda_graph_train_refuses_with_cp_and_runs_eagerly_on_cpu():
    with pytest.raises(ValueError, match='cuda_graph_train=True with with_cp=True'):
        tiny_vim(with_cp=True, cuda_graph_train=True)
    torch.manual_seed(0)
    plain = tiny_vim().train()
    graphed = tiny_vim(cuda_graph_train=True).train()
    graphed.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 64, 64)
    for a, b in zip(plain(x), graphed(x)):            # CPU input: the eager forward
        torch.testing.assert_close(a, b)
    assert graphed._train_graphs is None
    with pytest.raises(RuntimeError, match='GraphedTraining: training only'):
        GraphedTraining(plain)(x)


def test_graphed_training_refuses_to_overwrite_held_gradients():
    model = tiny_vim().train()
    sum(o.square().mean() for o in model(torch.randn(1, 3, 64, 64))).backward()
    with pytest.raises(RuntimeError, match=r"parameter '.*' \(and \d+ more\) still holds a grad"):
        GraphedTraining(model)(torch.randn(1, 3, 64, 64))


def test_inference_under_autocast_drops_the_weight_cache():
    """Inference under autocast runs the blocks with autocast's weight cache off (the 16-bit
    weight copies are freed after use) and gives the same maps as with it; training keeps it."""
    model = tiny_vim()
    seen = []
    model.layers[0].register_forward_pre_hook(
        lambda module, args: seen.append(torch.is_autocast_cache_enabled()))
    images = torch.randn(1, 3, 32, 32)
    with torch.autocast('cpu', torch.bfloat16):
        with torch.no_grad():
            outs = model.eval()(images)
            cached = model._forward_ops(images)             # the same ops, cache on
        model.train()(images)
    assert seen == [False, True, True]
    for a, b in zip(outs, cached):
        assert torch.equal(a, b)
