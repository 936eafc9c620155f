"""The selective scan, written plainly: the specification every fast path is tested against.

Sequential over the length, autograd through every step, any floating dtype (float64 included).
Slow by design; use :func:`mmvim.ops.selective_scan` for real work.
"""
import torch
import torch.nn.functional as F


def selective_scan_ref(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                       reverse=False):
    """Selective scan of mamba_ssm's ``selective_scan_ref``, plus a reverse direction.

    Args:
        u, delta: (batch, dim, length).
        A: (dim, dstate) float32 (or float64).
        B, C: (batch, dstate, length).
        D, delta_bias: (dim,) or None.
        z: (batch, dim, length) or None; the output is gated by ``silu(z)``.
        delta_softplus: apply ``softplus`` to ``delta + delta_bias``.
        reverse: run the recurrence from the last position to the first.

    Returns:
        y: (batch, dim, length) in ``u``'s dtype. The state is kept in float32, or in float64 when
        any input is float64.
    """
    if reverse:
        flip = lambda t: None if t is None else t.flip(-1)  # noqa: E731
        y = selective_scan_ref(flip(u), flip(delta), A, flip(B), flip(C), D, flip(z), delta_bias,
                               delta_softplus)
        return y.flip(-1)
    compute_dtype = torch.float64 if torch.float64 in (u.dtype, A.dtype) else torch.float32
    out_dtype = u.dtype
    u, delta, A, B, C = (t.to(compute_dtype) for t in (u, delta, A, B, C))
    if delta_bias is not None:
        delta = delta + delta_bias.to(compute_dtype)[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, length = u.shape
    state = u.new_zeros(batch, dim, A.shape[1])
    ys = []
    for t in range(length):
        decay = torch.exp(delta[:, :, t, None] * A)                       # (batch, dim, dstate)
        inp = (delta[:, :, t] * u[:, :, t])[:, :, None] * B[:, None, :, t]
        state = decay * state + inp
        ys.append(torch.einsum('bdn,bn->bd', state, C[:, :, t]))
    y = torch.stack(ys, dim=-1) if ys else u.new_zeros(batch, dim, 0)
    if D is not None:
        y = y + D.to(compute_dtype)[:, None] * u
    if z is not None:
        y = y * F.silu(z.to(compute_dtype))
    return y.to(out_dtype)


def bidirectional_selective_scan_ref(u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f,
                                     u_b, delta_b, A_b, B_b, C_b, D_b, delta_bias_b,
                                     z=None, delta_softplus=True, divide_out=True):
    """Vim's two directions: ``(scan(forward) + scan(backward, reverse=True)) * silu(z) [/ 2]``.

    Every input is in the original token order; shapes as in :func:`selective_scan_ref`.
    """
    y = (selective_scan_ref(u_f, delta_f, A_f, B_f, C_f, D_f, None, delta_bias_f, delta_softplus)
         + selective_scan_ref(u_b, delta_b, A_b, B_b, C_b, D_b, None, delta_bias_b,
                              delta_softplus, reverse=True))
    if z is not None:
        y = y * F.silu(z)
    return y / 2 if divide_out else y
