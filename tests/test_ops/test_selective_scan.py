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
    from mmvim.ops.backend import resolve_backend
    assert resolve_backend(None, torch.device('cpu'), 'op') == 'torch'
    with pytest.raises(ValueError, match="op: unknown backend 'cuda'"):
        resolve_backend('cuda', torch.device('cpu'), 'op')


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


@pytest.mark.parametrize('dtype', [torch.int64, torch.int32, torch.bool, torch.complex64])
@pytest.mark.parametrize('name', ['u', 'delta', 'B', 'C', 'z'])
def test_non_float_inputs_are_refused(name, dtype):
    """They were truncated (integers, bool) or broke the output dtype (complex)."""
    x = scan_inputs(2, 3, 9, dstate=5, requires_grad=False)
    x['z'] = torch.randn(2, 3, 9)
    x[name] = x[name].to(dtype)
    with pytest.raises(ValueError, match=f'selective scan: {name} must be a floating-point '
                                         f'tensor .*, got {dtype}'):
        selective_scan(**x)


def bidirectional_inputs(length=9):
    f, b = (scan_inputs(2, 3, length, dstate=5, requires_grad=False) for _ in range(2))
    names = ('u', 'delta', 'A', 'B', 'C', 'D', 'delta_bias')
    return [f[n] for n in names] + [b[n] for n in names]


def test_directions_of_another_dtype_or_length_are_named():
    """The output's dtype followed the promotion of the two directions; a shorter backward u was
    reported as z's shape."""
    args = bidirectional_inputs()
    args[7] = args[7].double()
    with pytest.raises(ValueError, match=r'the two directions differ: forward u \(2, 3, 9\) '
                                         r'torch.float32, backward u \(2, 3, 9\) torch.float64'):
        bidirectional_selective_scan(*args)
    args = bidirectional_inputs()
    args[7] = args[7][..., :8]
    with pytest.raises(ValueError, match=r'backward u \(2, 3, 8\)'):
        bidirectional_selective_scan(*args, z=torch.randn(2, 3, 9))


@pytest.mark.parametrize('op', ['scan', 'conv', 'norm'])
def test_triton_backend_on_cpu_tensors_without_the_interpreter_is_named(op, monkeypatch):
    from mmvim.ops import add_rms_norm, bidirectional_conv1d_silu
    monkeypatch.setenv('TRITON_INTERPRET', '0')
    x = torch.randn(2, 4, 6)
    calls = {
        'scan': lambda: selective_scan(**scan_inputs(2, 3, 9, requires_grad=False),
                                       backend='triton'),
        'conv': lambda: bidirectional_conv1d_silu(x, torch.randn(4, 1, 3), None,
                                                  torch.randn(4, 1, 3), None, backend='triton'),
        'norm': lambda: add_rms_norm(x, None, torch.ones(6), 1e-5, backend='triton'),
    }
    with pytest.raises(ValueError, match="backend='triton' runs on CUDA tensors, these are on cpu "
                                         r'\(on CPU tensors only under TRITON_INTERPRET=1'):
        calls[op]()


@pytest.mark.parametrize('op', ['conv', 'norm'])
def test_every_op_takes_every_backend_name(op):
    from mmvim.ops import (BACKENDS, add_rms_norm, add_rms_norm_ref, bidirectional_conv1d_silu,
                           bidirectional_conv1d_silu_ref)
    x, w = torch.randn(2, 4, 6), torch.randn(4, 1, 3)
    run, expected = {
        'conv': (lambda b: bidirectional_conv1d_silu(x, w, None, w, None, backend=b)[0],
                 bidirectional_conv1d_silu_ref(x, w, None, w, None)[0]),
        'norm': (lambda b: add_rms_norm(x, None, torch.ones(6), 1e-5, backend=b)[0],
                 add_rms_norm_ref(x, None, torch.ones(6), 1e-5)[0]),
    }[op]
    for backend in BACKENDS:
        torch.testing.assert_close(run(backend), expected)
    with pytest.raises(ValueError, match='must be a floating-point tensor'):
        {'conv': lambda: bidirectional_conv1d_silu(x.long(), w, None, w, None),
         'norm': lambda: add_rms_norm(x, None, torch.ones(6, dtype=torch.int32), 1e-5)}[op]()
