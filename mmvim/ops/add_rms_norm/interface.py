"""Public fused residual add + RMSNorm: argument checks, backend choice, autograd Function.

Backends (``backend=``, :mod:`mmvim.ops.backend`):
    'triton'  one kernel forward, one backward (GPU; on CPU tensors under TRITON_INTERPRET=1);
    'torch', 'reference'  the specification in ``reference.py``.
``backend=None`` picks 'triton' for CUDA tensors when Triton is importable, else 'torch'.
"""
import torch

from ..backend import check_float, resolve_backend
from ..launcher import alignment_key, launch
from .reference import add_rms_norm_ref

OP = 'add_rms_norm'
# Tests set these: POISON_OUTPUTS fills outputs with NaN before the kernels run; BLOCK_ROWS the
# rows per program.
POISON_OUTPUTS = False
BLOCK_ROWS = 8


def _rows_view(t):
    """(rows, D) view (or copy, when the feature axis is not contiguous) of a (..., D) tensor."""
    return t.reshape(-1, t.shape[-1]) if t.stride(-1) == 1 else t.contiguous().view(
        -1, t.shape[-1])


def _empty(rows, dim, dtype, device):
    return (torch.full((rows, dim), float('nan'), dtype=dtype, device=device) if POISON_OUTPUTS
            else torch.empty(rows, dim, dtype=dtype, device=device))


class _TritonAddRMSNorm(torch.autograd.Function):

    @staticmethod
    def forward(ctx, hidden, residual, weight, eps, residual_dtype, out_dtype):
        import triton

        from .triton_kernels import add_rms_norm_forward_kernel
        shape, dim = hidden.shape, hidden.shape[-1]
        h = _rows_view(hidden)
        r = _rows_view(residual) if residual is not None else h
        rout = _empty(h.shape[0], dim, residual_dtype, hidden.device)
        out = _empty(h.shape[0], dim, out_dtype, hidden.device)
        block = triton.next_power_of_2(dim)
        launch(add_rms_norm_forward_kernel, alignment_key(h, r, weight, out, rout),
               (triton.cdiv(h.shape[0], BLOCK_ROWS), ), h, r, weight, out, rout, h.stride(0),
               r.stride(0), out.stride(0), rout.stride(0), h.shape[0], dim, eps,
               HAS_RES=residual is not None, BM=BLOCK_ROWS, BD=block)
        ctx.save_for_backward(rout, weight)
        ctx.eps = eps
        ctx.dtypes = (hidden.dtype, residual.dtype if residual is not None else None)
        return out.view(shape), rout.view(shape)

    @staticmethod
    def backward(ctx, dout, drout):
        import triton

        from .triton_kernels import add_rms_norm_backward_kernel
        rout, weight = ctx.saved_tensors
        hidden_dtype, residual_dtype = ctx.dtypes
        shape, (rows, dim) = dout.shape, rout.shape
        dout = _rows_view(dout)
        drout = _rows_view(drout) if drout is not None else None
        grid = triton.cdiv(rows, BLOCK_ROWS)
        dh = _empty(rows, dim, hidden_dtype, dout.device)
        dr = _empty(rows, dim, residual_dtype, dout.device) if residual_dtype else dh
        dw = torch.empty(grid, dim, dtype=torch.float32, device=dout.device)
        launch(add_rms_norm_backward_kernel,
               alignment_key(dout, drout, rout, weight, dh, dr, dw), (grid, ),
               dout, drout if drout is not None else dout, rout, weight, dh, dr, dw,
               dout.stride(0), drout.stride(0) if drout is not None else 0, rout.stride(0),
               dh.stride(0), dr.stride(0), rows, dim, ctx.eps, HAS_DROUT=drout is not None,
               HAS_RES=residual_dtype is not None, BM=BLOCK_ROWS,
               BD=triton.next_power_of_2(dim))
        return (dh.view(shape), dr.view(shape) if residual_dtype else None,
                dw.sum(0).to(weight.dtype), None, None, None)


def add_rms_norm(hidden, residual, weight, eps, residual_dtype=torch.float32, out_dtype=None,
                 backend=None):
    """Vim's "Add -> Norm" in one pass; semantics, shapes and dtypes as in
    :func:`add_rms_norm_ref` (``residual_dtype=None`` keeps the add's promoted dtype)."""
    check_float(OP, dict(hidden=hidden, residual=residual, weight=weight))
    if residual is not None and residual.shape != hidden.shape:
        raise ValueError(f'add_rms_norm: residual {tuple(residual.shape)} and hidden '
                         f'{tuple(hidden.shape)} differ')
    if weight.shape != hidden.shape[-1:]:
        raise ValueError(f'add_rms_norm: weight must be (D={hidden.shape[-1]},), got '
                         f'{tuple(weight.shape)}')
    for name, t in (('residual', residual), ('weight', weight)):
        if t is not None and t.device != hidden.device:
            raise ValueError(f'add_rms_norm: {name} is on {t.device}, hidden on {hidden.device}')
    if resolve_backend(backend, hidden.device, OP) != 'triton':
        return add_rms_norm_ref(hidden, residual, weight, eps, residual_dtype, out_dtype)
    if residual_dtype is None:
        residual_dtype = (hidden.dtype if residual is None
                          else torch.promote_types(hidden.dtype, residual.dtype))
    return _TritonAddRMSNorm.apply(hidden, residual, weight.contiguous(), eps, residual_dtype,
                                   out_dtype or residual_dtype)
