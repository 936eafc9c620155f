"""The selective-scan reference against an independent loop, and the 'torch' backend against the
reference: forward and every gradient, on fresh random inputs with odd sizes."""
import pytest
import torch
import torch.nn.functional as F

from mmvim.ops import (bidirectional_selective_scan, bidirectional_selective_scan_ref,
                       selective_scan, selective_scan_ref)
from tests.scan_inputs import rel_err, scan_inputs

ARG_ORDER = ('u', 'delta', 'A', 'B', 'C', 'D', 'z', 'delta_bias')


def loop_scan(u, delta, A, B, C, D, z, delta_bias):
    """Element by element in float64, written independently of mmvim's reference."""
    batch, dim, length = u.shape
    y = torch.zeros(batch, dim, length, dtype=torch.float64)
    for b in range(batch):
        for d in range(dim):
            h = torch.zeros(A.shape[1], dtype=torch.float64)
            for t in range(length):
                dt = F.softplus(delta[b, d, t] + delta_bias[d])
                h = torch.exp(dt * A[d]) * h + dt * B[b, :, t] * u[b, d, t]
                y[b, d, t] = (h * C[b, :, t]).sum() + D[d] * u[b, d, t]
    return y * F.silu(z)


@pytest.mark.parametrize('length', [1, 7, 197])
def test_reference_matches_independent_loop(length):
    x = scan_inputs(2, 3, length, dstate=4, dtype=torch.float64, requires_grad=False)
    y = selective_scan_ref(**x, delta_softplus=True)
    assert rel_err(y, loop_scan(**x)) < 1e-12


def test_reference_long_sequence_matches_loop():
    x = scan_inputs(1, 2, 1025, dstate=3, dtype=torch.float64, requires_grad=False)
    assert rel_err(selective_scan_ref(**x, delta_softplus=True), loop_scan(**x)) < 1e-12


@pytest.mark.parametrize('backend', ['reference', 'torch'])
def test_reverse_is_flip_scan_flip(backend):
    x = scan_inputs(2, 5, 37, dstate=6, dtype=torch.float64, requires_grad=False)
    flipped = {k: v.flip(-1) if k in ('u', 'delta', 'B', 'C', 'z') else v for k, v in x.items()}
    expected = selective_scan_ref(**flipped, delta_softplus=True).flip(-1)
    y = selective_scan(**x, delta_softplus=True, reverse=True, backend=backend)
    assert rel_err(y, expected) < 1e-12


@pytest.mark.parametrize('backend', ['reference', 'torch'])
@pytest.mark.parametrize('reverse', [False, True])
def test_gradcheck(backend, reverse):
    x = scan_inputs(1, 2, 5, dstate=3, dtype=torch.float64)
    fn = lambda *args: selective_scan(*args, delta_softplus=True, reverse=reverse,  # noqa: E731
                                      backend=backend)
    assert torch.autograd.gradcheck(fn, [x[k] for k in ARG_ORDER])


@pytest.mark.parametrize('reverse', [False, True])
@pytest.mark.parametrize('shape', [(1, 1, 1), (2, 5, 2), (3, 7, 97)])
@pytest.mark.parametrize('optional', ['all', 'none'])
def test_torch_backend_matches_reference(reverse, shape, optional):
    x = scan_inputs(*shape, dstate=5, dtype=torch.float64)
    if optional == 'none':
        x.update(D=None, z=None, delta_bias=None)
    y = selective_scan(**x, delta_softplus=optional == 'all', reverse=reverse, backend='torch')
    y_ref = selective_scan_ref(**x, delta_softplus=optional == 'all', reverse=reverse)
    assert rel_err(y, y_ref) < 1e-12
    grad = torch.randn_like(y)
    inputs = [x[k] for k in ARG_ORDER if x[k] is not None]
    for name, g, g_ref in zip([k for k in ARG_ORDER if x[k] is not None],
                              torch.autograd.grad(y, inputs, grad),
                              torch.autograd.grad(y_ref, inputs, grad)):
        assert rel_err(g, g_ref) < 1e-10, name


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16, torch.float16])
def test_torch_backend_low_precision(dtype):
    x = scan_inputs(2, 6, 33, dtype=dtype)
    y = selective_scan(**x, delta_softplus=True, backend='torch')
    assert y.dtype == dtype
    x64 = {k: v.detach().double() for k, v in x.items()}
    tolerance = 1e-5 if dtype == torch.float32 else 1e-2
    assert rel_err(y, selective_scan_ref(**x64, delta_softplus=True)) < tolerance
    y.float().sum().backward()
    for name in ('u', 'delta', 'B', 'C', 'z'):
        assert x[name].grad.dtype == dtype, name
    for name in ('A', 'D', 'delta_bias'):
        assert x[name].grad.dtype == torch.float32, name


@pytest.mark.parametrize('backend', ['reference', 'torch'])
@pytest.mark.parametrize('divide_out', [True, False])
def test_bidirectional_is_sum_of_directions(backend, divide_out):
    f = scan_inputs(2, 3, 19, dstate=4, dtype=torch.float64)
    b = scan_inputs(2, 3, 19, dstate=4, dtype=torch.float64)
    z = f.pop('z')
    b.pop('z')
    args = [f[k] for k in ARG_ORDER if k != 'z'] + [b[k] for k in ARG_ORDER if k != 'z']
    y = bidirectional_selective_scan(*args, z=z, divide_out=divide_out, backend=backend)
    expected = (selective_scan_ref(**f, z=z, delta_softplus=True)
                + selective_scan_ref(**b, z=z, delta_softplus=True, reverse=True))
    assert rel_err(y, expected / 2 if divide_out else expected) < 1e-12
    y_ref = bidirectional_selective_scan_ref(*args, z=z, divide_out=divide_out)
    grad = torch.randn_like(y)
    for g, g_ref in zip(torch.autograd.grad(y, args + [z], grad),
                        torch.autograd.grad(y_ref, args + [z], grad)):
        assert rel_err(g, g_ref) < 1e-10


def test_default_backend_on_cpu_is_torch():
    from mmvim.ops.selective_scan import resolve_backend
    assert resolve_backend(None, torch.device('cpu')) == 'torch'
    with pytest.raises(ValueError, match='unknown backend'):
        resolve_backend('cuda', torch.device('cpu'))


@pytest.mark.parametrize('name, bad, message', [
    ('B', torch.zeros(2, 4, 9), r'B must have shape \(2, 5, 9\)'),
    ('delta', torch.zeros(2, 3, 8), r'delta must have shape \(2, 3, 9\)'),
    ('D', torch.zeros(4), r'D must have shape \(3,\)'),
    ('A', torch.zeros(3, 5, dtype=torch.float16), 'A must be float32'),
])
def test_bad_shapes_name_the_argument(name, bad, message):
    x = scan_inputs(2, 3, 9, dstate=5, requires_grad=False)
    x[name] = bad
    with pytest.raises(ValueError, match=message):
        selective_scan(**x)
