"""Public selective-scan functions: argument checks and the choice of backend.

Backends (``backend=``, :mod:`mmvim.ops.backend`):
    'triton'     fused Triton kernels (GPU; on CPU tensors under ``TRITON_INTERPRET=1``);
    'torch'      vectorised PyTorch recurrence with a hand-written backward (CPU default);
    'reference'  the plain specification in ``reference.py`` (slow; for tests and debugging).
``backend=None`` picks 'triton' for CUDA tensors when Triton is importable, else 'torch'.
"""
import torch

from ..backend import check_float, resolve_backend
from ..layout import is_dense, may_overlap
from .recurrent import selective_scan_recurrent
from .reference import bidirectional_selective_scan_ref, selective_scan_ref

OP = 'selective scan'


def _check(u, delta, A, B, C, D, z, delta_bias, prefix=''):
    """Raise a ValueError naming the argument whose shape or dtype breaks the op contract."""
    check_float(OP, {f'{prefix}u': u, f'{prefix}delta': delta, f'{prefix}B': B,
                     f'{prefix}C': C, 'z': z})
    if u.dim() != 3:
        raise ValueError(f'selective scan: {prefix}u must be (batch, dim, length), got '
                         f'{tuple(u.shape)}')
    batch, dim, length = u.shape
    if A.dim() != 2 or A.shape[0] != dim:
        raise ValueError(f'selective scan: {prefix}A must be (dim={dim}, dstate), got '
                         f'{tuple(A.shape)}')
    dstate = A.shape[1]
    expected = {'delta': (u.shape, delta), 'z': (u.shape, z), 'B': ((batch, dstate, length), B),
                'C': ((batch, dstate, length), C), 'D': ((dim,), D),
                'delta_bias': ((dim,), delta_bias)}
    for name, (shape, tensor) in expected.items():
        if tensor is not None and tuple(tensor.shape) != tuple(shape):
            raise ValueError(f'selective scan: {prefix}{name} must have shape {tuple(shape)} '
                             f'(from u {tuple(u.shape)} and A {tuple(A.shape)}), got '
                             f'{tuple(tensor.shape)}')
    for name, tensor in (('A', A), ('D', D), ('delta_bias', delta_bias)):
        if tensor is not None and tensor.dtype not in (torch.float32, torch.float64):
            raise ValueError(f'selective scan: {prefix}{name} must be float32 (or float64), got '
                             f'{tensor.dtype}')


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                   reverse=False, backend=None):
    """One direction of the selective scan (mamba_ssm's ``selective_scan_fn`` semantics).

    Args:
        u, delta: (batch, dim, length), float32 / float16 / bfloat16 (float64 for tests).
        A: (dim, dstate) float32.
        B, C: (batch, dstate, length).
        D, delta_bias: (dim,) float32, optional.
        z: (batch, dim, length), optional gate: the output is multiplied by ``silu(z)``.
        delta_softplus: ``delta <- softplus(delta + delta_bias)``.
        reverse: run the recurrence from the last position to the first (no flipped copies).
        backend: see the module docstring.

    Returns:
        y: (batch, dim, length) in ``u``'s dtype.
    """
    _check(u, delta, A, B, C, D, z, delta_bias)
    backend = resolve_backend(backend, u.device, OP)
    if backend == 'reference':
        return selective_scan_ref(u, delta, A, B, C, D, z, delta_bias, delta_softplus, reverse)
    if backend == 'torch':
        return selective_scan_recurrent(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                        reverse)
    from .triton_interface import selective_scan_triton
    return selective_scan_triton(u, delta, A, B, C, D, z, delta_bias, delta_softplus, reverse)


def bidirectional_selective_scan(u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f,
                                 u_b, delta_b, A_b, B_b, C_b, D_b, delta_bias_b,
                                 z=None, delta_softplus=True, divide_out=True, backend=None,
                                 out=None):
    """Vim's bidirectional scan: ``(scan_f + scan_b) * silu(z)``, halved when ``divide_out``.

    The ``_f`` inputs feed the forward recurrence, the ``_b`` inputs the backward one
    (last position to first). All inputs are in the original token order, shaped as in
    :func:`selective_scan`; ``z`` is shared. Returns (batch, dim, length) in ``u_f``'s dtype.

    ``out``: for inference without autograd, a (batch, dim, length) tensor in ``u_f``'s dtype
    with distinct elements (any order of axes) to write the result into, and return. It may be
    ``u_f`` or ``delta_f`` itself (the forward direction reads each position before the result
    is written there), which saves the memory of one such tensor, but must not otherwise
    overlap an input. Raises a ValueError when autograd would record the call.
    """
    _check(u_f, delta_f, A_f, B_f, C_f, D_f, z, delta_bias_f, prefix='forward ')
    if u_b.shape != u_f.shape or u_b.dtype != u_f.dtype or A_b.shape != A_f.shape:
        raise ValueError(f'bidirectional selective scan: the two directions differ: forward u '
                         f'{tuple(u_f.shape)} {u_f.dtype}, backward u {tuple(u_b.shape)} '
                         f'{u_b.dtype}; forward A {tuple(A_f.shape)}, backward A '
                         f'{tuple(A_b.shape)}')
    _check(u_b, delta_b, A_b, B_b, C_b, D_b, z, delta_bias_b, prefix='backward ')
    if out is not None:
        _check_out(out, u_f, delta_f, dict(
            A_f=A_f, B_f=B_f, C_f=C_f, D_f=D_f, delta_bias_f=delta_bias_f, u_b=u_b,
            delta_b=delta_b, A_b=A_b, B_b=B_b, C_b=C_b, D_b=D_b, delta_bias_b=delta_bias_b, z=z))
    backend = resolve_backend(backend, u_f.device, 'bidirectional ' + OP)
    if backend == 'triton':
        from .triton_interface import bidirectional_selective_scan_triton
        return bidirectional_selective_scan_triton(
            u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f, u_b, delta_b, A_b, B_b, C_b, D_b,
            delta_bias_b, z, delta_softplus, divide_out, out)
    if backend == 'reference':
        y = bidirectional_selective_scan_ref(
            u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f, u_b, delta_b, A_b, B_b, C_b, D_b,
            delta_bias_b, z, delta_softplus, divide_out)
    else:
        y = (selective_scan_recurrent(u_f, delta_f, A_f, B_f, C_f, D_f, None, delta_bias_f,
                                      delta_softplus)
             + selective_scan_recurrent(u_b, delta_b, A_b, B_b, C_b, D_b, None, delta_bias_b,
                                        delta_softplus, reverse=True))
        if z is not None:
            y = y * torch.nn.functional.silu(z)
        y = y / 2 if divide_out else y
    return y if out is None else out.copy_(y)


def _check_out(out, u_f, delta_f, others):
    """Raise a ValueError unless ``out`` can take the scan of ``u_f``'s shape and dtype in place
    without autograd: on u_f's device, dense, sharing memory with no input but u_f or delta_f
    (``others``: the other inputs by name)."""
    if tuple(out.shape) != tuple(u_f.shape) or out.dtype != u_f.dtype or (
            out.device != u_f.device):
        raise ValueError(f'bidirectional selective scan: out must be {tuple(u_f.shape)} '
                         f'{u_f.dtype} on {u_f.device} like u_f, got {tuple(out.shape)} '
                         f'{out.dtype} on {out.device}')
    if not is_dense(out):
        raise ValueError(f'bidirectional selective scan: out {tuple(out.shape)} with strides '
                         f'{out.stride()} is not a dense tensor (elements may repeat); give one '
                         'made like torch.empty_like(u_f)')
    same = lambda t: (t.data_ptr(), t.stride()) == (out.data_ptr(), out.stride())  # noqa: E731
    for name, t in dict(u_f=u_f, delta_f=delta_f, **others).items():
        if t is not None and may_overlap(out, t) and not (name in ('u_f', 'delta_f') and same(t)):
            raise ValueError(f'bidirectional selective scan: out shares memory with {name}; it '
                             'may be u_f or delta_f itself, but no other input')
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad
                                       for t in (out, u_f, delta_f, *others.values())):
        raise ValueError('bidirectional selective scan: out= writes in place without autograd, '
                         'but an input requires a gradient (run it under torch.no_grad, or '
                         'leave out None)')
