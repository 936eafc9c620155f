"""selective_scan_into: one direction written or added in place, for inference.

Two calls (forward direction, then the reverse one accumulating, gated and halved) must give the
bidirectional scan; checked against the float64 reference on fresh random inputs, with the
output poisoned (NaN) before the first call, on the Triton kernels (interpreter on CPU, real
sizes on a GPU) and on the PyTorch backend.
"""
import pytest
import torch

from mmvim.ops import bidirectional_selective_scan, selective_scan, selective_scan_into
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


def _two_calls(batch, dim, length, dstate, dtype, device, backend, reference):
    f = scan_inputs(batch, dim, length, dstate, dtype, device, requires_grad=False)
    b = scan_inputs(batch, dim, length, dstate, dtype, device, requires_grad=False)
    for x in (f, b):
        x['u'], x['delta'] = _channel_last(x['u']), _channel_last(x['delta'])
    z = _channel_last(f['z'])
    out = torch.full_like(z, float('nan'))
    selective_scan_into(out, *(f[k] for k in ORDER[:5]), D=f['D'], delta_bias=f['delta_bias'],
                        delta_softplus=True, backend=backend)
    selective_scan_into(out, *(b[k] for k in ORDER[:5]), D=b['D'], delta_bias=b['delta_bias'],
                        delta_softplus=True, reverse=True, accumulate=True, z=z, scale=0.5,
                        backend=backend)
    ref = bidirectional_selective_scan(*(f[k].double() for k in ORDER),
                                       *(b[k].double() for k in ORDER), z=z.double(),
                                       backend=reference)
    assert not out.isnan().any()
    assert rel_err(out, ref) < TOL[dtype], rel_err(out, ref)


@pytest.mark.parametrize('backend', ['triton', 'torch'])
@pytest.mark.parametrize('length', [1, 37])
def test_two_calls_make_the_bidirectional_scan(backend, length):
    _two_calls(2, 5, length, 3, torch.float32, 'cpu', backend, 'reference')


@pytest.mark.parametrize('reverse', [False, True])
def test_accumulate_and_scale_without_gate(reverse):
    x = scan_inputs(1, 4, 11, 2, requires_grad=False)
    before = torch.randn_like(x['u'])
    out = before.clone()
    selective_scan_into(out, *(x[k] for k in ORDER[:5]), D=x['D'], reverse=reverse,
                        accumulate=True, scale=0.7, backend='triton')
    scan = selective_scan(*(x[k].double() for k in ORDER[:5]), D=x['D'].double(),
                          reverse=reverse, backend='reference')
    assert rel_err(out, (before.double() + scan) * 0.7) < TOL[torch.float32]


@pytest.mark.parametrize('backend', ['triton', 'torch'])
def test_out_may_be_u(backend):
    x = scan_inputs(2, 3, 9, 2, requires_grad=False)
    u = x['u'].clone()
    selective_scan_into(u, u, *(x[k] for k in ORDER[1:5]), D=x['D'], z=x['z'],
                        backend=backend)
    ref = selective_scan(*(x[k].double() for k in ORDER[:5]), D=x['D'].double(),
                         z=x['z'].double(), backend='reference')
    assert rel_err(u, ref) < TOL[torch.float32]


def test_errors_name_the_problem():
    x = scan_inputs(1, 4, 5, 2)                                   # inputs require gradients
    out = torch.empty(1, 4, 5)
    with pytest.raises(ValueError, match='requires a gradient'):
        selective_scan_into(out, *(x[k] for k in ORDER[:5]))
    with torch.no_grad():
        with pytest.raises(ValueError, match=r'out must be \(1, 4, 5\) torch.float32 like u'):
            selective_scan_into(out[:, :3], *(x[k] for k in ORDER[:5]))
        with pytest.raises(ValueError, match='not a dense tensor'):
            selective_scan_into(out[:, :1].expand(1, 4, 5), *(x[k] for k in ORDER[:5]))


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('batch,dim,length', [(2, 384, 1025), (1, 384, 6085)])
def test_two_calls_cuda(dtype, batch, dim, length):
    _two_calls(batch, dim, length, 16, dtype, 'cuda', 'triton', 'torch')
