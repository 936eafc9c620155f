"""The fused residual add + RMSNorm: Triton kernels against the float64 specification.

On CPU the kernels run under TRITON_INTERPRET=1 with 4 rows per program, so rows do not fill the
last program; the ``cuda`` test repeats it at Vim sizes. Fresh random inputs, outputs poisoned
with NaN first, forward and every gradient (of both outputs) compared.
"""
import pytest
import torch

from mmvim.ops import add_rms_norm, add_rms_norm_ref
from mmvim.ops.add_rms_norm import interface
from tests.scan_inputs import rel_err

TOL = {torch.float32: 1e-5, torch.bfloat16: 1e-2}


@pytest.fixture(autouse=True)
def poison_and_small_blocks(monkeypatch):
    monkeypatch.setattr(interface, 'POISON_OUTPUTS', True)
    if not torch.cuda.is_available():
        monkeypatch.setattr(interface, 'BLOCK_ROWS', 4)


def _compare(shape, dtype, with_residual, residual_dtype, out_dtype, device='cpu'):
    hidden = torch.randn(*shape, device=device).to(dtype).requires_grad_()
    residual = (torch.randn(*shape, device=device).requires_grad_() if with_residual else None)
    weight = (1 + 0.3 * torch.randn(shape[-1], device=device)).requires_grad_()
    inputs = [hidden, residual, weight]
    ref_inputs = [t.detach().double().requires_grad_() if t is not None else None for t in inputs]
    out, stream = add_rms_norm(hidden, residual, weight, 1e-5, residual_dtype, out_dtype,
                               backend='triton')
    ref_out, ref_stream = add_rms_norm_ref(*ref_inputs, 1e-5, torch.float64, torch.float64)
    expected_stream = residual_dtype or (dtype if residual is None else
                                         torch.promote_types(dtype, residual.dtype))
    assert stream.dtype == expected_stream and out.dtype == (out_dtype or expected_stream)
    tol = max(TOL[dtype], TOL[out.dtype], TOL[stream.dtype])
    for got, ref in ((out, ref_out), (stream, ref_stream)):
        assert not got.isnan().any()
        assert rel_err(got, ref) < tol, rel_err(got, ref)
    grads = [torch.randn_like(out), torch.randn_like(stream)]
    torch.autograd.backward([out, stream], grads)
    torch.autograd.backward([ref_out, ref_stream], [g.double() for g in grads])
    for name, t, r in zip(('hidden', 'residual', 'weight'), inputs, ref_inputs):
        if t is not None:
            assert t.grad.dtype == t.dtype and not t.grad.isnan().any(), name
            assert rel_err(t.grad, r.grad) < tol, (name, rel_err(t.grad, r.grad))


@pytest.mark.parametrize('shape,dtype,with_residual,residual_dtype,out_dtype', [
    ((2, 7, 24), torch.float32, True, torch.float32, None),     # Vim's blocks, fp32
    ((1, 5, 13), torch.float32, False, torch.float32, None),    # the first block, odd width
    ((3, 4, 16), torch.bfloat16, True, torch.float32, torch.bfloat16),  # autocast
    ((2, 3, 8), torch.bfloat16, True, None, None),              # residual_in_fp32=False
])
def test_triton_matches_reference(shape, dtype, with_residual, residual_dtype, out_dtype):
    _compare(shape, dtype, with_residual, residual_dtype, out_dtype)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r'weight must be \(D=8,\), got \(7,\)'):
        add_rms_norm(torch.randn(2, 8), None, torch.ones(7), 1e-5)
    with pytest.raises(ValueError, match=r'residual \(2, 9\) and hidden \(2, 8\) differ'):
        add_rms_norm(torch.randn(2, 8), torch.randn(2, 9), torch.ones(8), 1e-5)


@pytest.mark.cuda
@pytest.mark.parametrize('shape', [(8, 1025, 192), (1, 6085, 384), (2, 197, 768)])
def test_triton_matches_reference_cuda(shape):
    _compare(shape, torch.bfloat16, True, torch.float32, torch.bfloat16, 'cuda')
    _compare(shape, torch.float32, True, torch.float32, None, 'cuda')
