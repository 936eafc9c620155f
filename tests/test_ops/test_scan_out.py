"""bidirectional_selective_scan(..., out=): the result written in place, for inference.

Checked against the float64 reference on fresh random inputs, with out a fresh NaN-filled
tensor, the forward direction's u or its delta (the Vim mixer's lean path writes over delta),
on the Triton kernels (interpreter on CPU, real sizes on a GPU) and the PyTorch backends.
"""
import pytest
import torch

from mmvim.ops import bidirectional_selective_scan
from mmvim.ops.selective_scan import triton_interface
from tests.scan_inputs import rel_err, scan_inputs

ORDER = ('u', 'delta', 'A', 'B', 'C', 'D', 'delta_bias')
TOL = {torch.float32: 1e-5, torch.bfloat16: 1e-2}


@pytest.fixture(autouse=True)
def small_tiles(monkeypatch):
    """On CPU: tiles of 4 positions and 3 chunks, so that every chunk carry runs."""
    if not torch.cuda.is_available():
        monkeypatch.setattr(triton_interface, 'CONFIG_OVERRIDE',
                            dict(T=4, BD_F=2, BD_B=2, CHUNKS=3))


def _channel_last(t):
    """A (batch, dim, length) view of a (batch, length, dim) tensor, as the Vim mixer has."""
    return t.transpose(1, 2).contiguous().transpose(1, 2)


def _scan_into(batch, dim, length, dstate, dtype, device, backend, reference, target):
    f = scan_inputs(batch, dim, length, dstate, dtype, device, requires_grad=False)
    b = scan_inputs(batch, dim, length, dstate, dtype, device, requires_grad=False)
    for x in (f, b):
        x['u'], x['delta'] = _channel_last(x['u']), _channel_last(x['delta'])
    z = _channel_last(f['z'])
    ref = bidirectional_selective_scan(*(f[k].double() for k in ORDER),
                                       *(b[k].double() for k in ORDER), z=z.double(),
                                       backend=reference)
    out = torch.full_like(z, float('nan')) if target == 'fresh' else f[target]
    with torch.no_grad():
        y = bidirectional_selective_scan(*(f[k] for k in ORDER), *(b[k] for k in ORDER), z=z,
                                         backend=backend, out=out)
    assert y is out
    assert not out.isnan().any()
    assert rel_err(out, ref) < TOL[dtype], rel_err(out, ref)


@pytest.mark.parametrize('backend', ['triton', 'torch', 'reference'])
@pytest.mark.parametrize('target', ['fresh', 'u', 'delta'])
@pytest.mark.parametrize('length', [1, 37])
def test_out_takes_the_bidirectional_scan(backend, target, length):
    _scan_into(2, 5, length, 3, torch.float32, 'cpu', backend, 'reference', target)


def test_errors_name_the_problem():
    f, b = scan_inputs(1, 4, 5, 2), scan_inputs(1, 4, 5, 2)        # inputs require gradients
    args = [*(f[k] for k in ORDER), *(b[k] for k in ORDER)]
    out = torch.empty(1, 4, 5)
    with pytest.raises(ValueError, match='requires a gradient'):
        bidirectional_selective_scan(*args, out=out)
    with torch.no_grad():
        with pytest.raises(ValueError,
                           match=r'out must be \(1, 4, 5\) torch.float32 on cpu like u_f'):
            bidirectional_selective_scan(*args, out=out[:, :3])
        with pytest.raises(ValueError, match=r'out must be .* like u_f, got .* torch.float64'):
            bidirectional_selective_scan(*args, out=out.double())
        with pytest.raises(ValueError, match='not a dense tensor'):
            bidirectional_selective_scan(*args, out=out[:, :1].expand(1, 4, 5))
        with pytest.raises(ValueError, match=r'out must be .* on cpu like u_f, got .* on meta'):
            bidirectional_selective_scan(*args, out=out.to('meta'))
        for name in ('u', 'delta'):              # the backward direction's, or part of u_f's
            with pytest.raises(ValueError, match=f'out shares memory with {name}_b'):
                bidirectional_selective_scan(*args, out=b[name])
        flat = torch.randn(21)
        args[0] = flat[:20].view(1, 4, 5)
        with pytest.raises(ValueError, match='out shares memory with u_f'):
            bidirectional_selective_scan(*args, out=flat[1:].view(1, 4, 5))


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('batch,dim,length', [(2, 384, 1025), (1, 384, 6085)])
def test_out_over_delta_cuda(dtype, batch, dim, length):
    _scan_into(batch, dim, length, 16, dtype, 'cuda', 'triton', 'torch', 'delta')
