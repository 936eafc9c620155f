"""Vim's bidirectional conv1d + SiLU: the reference's semantics, and the Triton kernel against it.

On CPU the kernel runs under TRITON_INTERPRET=1 (tests/conftest.py) with small tiles, so several
tiles meet at their edges; the ``cuda`` test repeats the comparison at Vim sizes on a GPU. Inputs
are fresh random draws, outputs are poisoned with NaN first, and the comparison is with the float64
reference, forward and every gradient.
"""
import pytest
import torch

from mmvim.ops import bidirectional_conv1d_silu, bidirectional_conv1d_silu_ref, depthwise_conv1d
from mmvim.ops.bidirectional_conv1d import interface
from tests.scan_inputs import rel_err

TOL = {torch.float32: 1e-5, torch.bfloat16: 1e-2, torch.float16: 1e-2}


@pytest.fixture(autouse=True)
def poison_and_small_tiles(monkeypatch):
    monkeypatch.setattr(interface, 'POISON_OUTPUTS', True)
    if not torch.cuda.is_available():
        # forward tiles about as short as their halos (K - 1 positions), backward tiles as
        # long as its windows' carried part (K - 1 positions), several tiles per backward
        # program, an odd backward tile
        monkeypatch.setattr(interface, 'FORWARD_BLOCK', dict(BL=4, BE=8, num_warps=1))
        monkeypatch.setattr(interface, 'BACKWARD_BLOCK', dict(BL=3, TILES=2, BE=8, num_warps=1))


def test_anticausal_conv_is_flipped_causal_conv():
    x, weight, bias = torch.randn(2, 6, 11), torch.randn(6, 1, 4), torch.randn(6)
    expected = depthwise_conv1d(x.flip(-1), weight, bias).flip(-1)
    torch.testing.assert_close(depthwise_conv1d(x, weight, bias, reverse=True), expected)
    # causal: output t sees inputs <= t only
    causal = depthwise_conv1d(x, weight, bias)
    x2 = x.clone()
    x2[..., 7:] = 0
    torch.testing.assert_close(depthwise_conv1d(x2, weight, bias)[..., :7], causal[..., :7])


def _inputs(batch, channels, length, kernel, dtype, device, bias=True, channel_last=True):
    shape = (batch, length, channels) if channel_last else (batch, channels, length)
    x = torch.randn(*shape, device=device).to(dtype)
    x = (x.transpose(1, 2) if channel_last else x).requires_grad_()
    params = [torch.randn(channels, 1, kernel, device=device) * 0.5,
              torch.randn(channels, device=device) if bias else None,
              torch.randn(channels, 1, kernel, device=device) * 0.5,
              torch.randn(channels, device=device) if bias else None]
    return [x] + [p.requires_grad_() if p is not None else None for p in params]


def _compare(inputs, tol):
    ref_inputs = [t.detach().double().requires_grad_() if t is not None else None
                  for t in inputs]
    outs = bidirectional_conv1d_silu(*inputs, backend='triton')
    refs = bidirectional_conv1d_silu_ref(*ref_inputs)
    grads = [torch.randn_like(o) for o in outs]
    for out, ref in zip(outs, refs):
        assert out.dtype == inputs[0].dtype
        if out.shape[-1] > 1:                       # the layout follows x's (length 1: either)
            assert out.stride() == inputs[0].stride()
        assert not out.isnan().any()
        assert rel_err(out, ref) < tol, rel_err(out, ref)
    torch.autograd.backward(outs, grads)
    torch.autograd.backward(refs, [g.double() for g in grads])
    for name, t, r in zip(('x', 'weight_f', 'bias_f', 'weight_b', 'bias_b'), inputs, ref_inputs):
        if t is None:
            continue
        assert not t.grad.isnan().any(), name
        assert rel_err(t.grad, r.grad) < tol, (name, rel_err(t.grad, r.grad))


@pytest.mark.parametrize('batch,channels,length,kernel,bias,channel_last', [
    (2, 5, 7, 4, True, True),        # channels and length not multiples of the tile
    (1, 19, 2, 4, True, False),      # length shorter than the kernel, contiguous layout
    (3, 8, 13, 3, False, True),      # another kernel size, no bias
    (1, 4, 1, 4, True, True),        # length 1
])
def test_triton_matches_reference(batch, channels, length, kernel, bias, channel_last):
    _compare(_inputs(batch, channels, length, kernel, torch.float32, 'cpu', bias, channel_last),
             TOL[torch.float32])


@pytest.mark.parametrize('block', [dict(BL=1, TILES=4), dict(BL=5, TILES=1), dict(BL=2, TILES=3),
                                   dict(BL=2, TILES=1)])
@pytest.mark.parametrize('kernel', [2, 3, 4])
def test_backward_blocks(monkeypatch, block, kernel):
    # the backward's windows (K - 1 positions carried) slide over tiles shorter than, as long as
    # and longer than them; programs of 4, 5, 6 and 2 positions, so programs meet at odd and
    # even positions
    monkeypatch.setattr(interface, 'BACKWARD_BLOCK', dict(block, BE=8, num_warps=1))
    _compare(_inputs(2, 11, 23, kernel, torch.float32, 'cpu'), TOL[torch.float32])


def test_triton_bfloat16():
    _compare(_inputs(2, 9, 11, 4, torch.bfloat16, 'cpu'), TOL[torch.bfloat16])


def test_errors_name_the_argument():
    x, wf, bf, wb, bb = _inputs(1, 4, 5, 4, torch.float32, 'cpu')
    with pytest.raises(ValueError, match=r'weight_b must be \(channels=4, 1, K\), got \(3, 1, 4\)'):
        bidirectional_conv1d_silu(x, wf, bf, wb[:3], bb)
    with pytest.raises(ValueError, match='both biases or neither'):
        bidirectional_conv1d_silu(x, wf, bf, wb, None)
    with pytest.raises(ValueError, match='unknown backend'):
        bidirectional_conv1d_silu(x, wf, bf, wb, bb, backend='cuda')


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('batch,channels,length', [(8, 384, 1025), (1, 768, 6085), (2, 97, 197)])
def test_triton_matches_reference_cuda(batch, channels, length, dtype):
    torch.manual_seed(torch.seed() % 2**31)
    _compare(_inputs(batch, channels, length, 4, dtype, 'cuda'), TOL[dtype])
