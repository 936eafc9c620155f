"""Selective scan in PyTorch for CPUs (and any device without Triton): the 'torch' backend.

The recurrence ``h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t`` runs as one fused multiply-add
per position over (batch, dim, dstate) at once, so the Python loop costs a few microseconds a step.
Autograd does not record the loop: the backward pass recomputes the states and runs the adjoint
recurrence ``g_t = dh_t + exp(delta_{t+1} A) g_{t+1}`` the same way. Only the inputs are saved.
"""
import torch
import torch.nn.functional as F


def _compute_dtype(u, A):
    return torch.float64 if torch.float64 in (u.dtype, A.dtype) else torch.float32


def _discretise(u, delta, A, B, delta_bias, delta_softplus, dtype):
    """Return (delta_raw, delta, decay, inp); decay and inp are (length, batch, dim, dstate)."""
    delta_raw = delta.to(dtype)
    if delta_bias is not None:
        delta_raw = delta_raw + delta_bias.to(dtype)[:, None]
    delta = F.softplus(delta_raw) if delta_softplus else delta_raw
    delta_l = delta.permute(2, 0, 1)                                   # (L, b, d)
    decay = torch.exp(delta_l[..., None] * A.to(dtype))
    B_l = B.to(dtype).permute(2, 0, 1)[:, :, None, :]                  # (L, b, 1, n)
    inp = (delta_l * u.to(dtype).permute(2, 0, 1))[..., None] * B_l
    return delta_raw, delta, decay, inp


def _states(decay, inp, reverse):
    """h_t = decay_t * h_{t-+1} + inp_t; (length, batch, dim, dstate)."""
    h = inp.clone()
    steps = range(h.shape[0] - 2, -1, -1) if reverse else range(1, h.shape[0])
    for t in steps:
        h[t].addcmul_(decay[t], h[t + 1 if reverse else t - 1])
    return h


def _adjoint(dh, decay, reverse):
    """g_t = dh_t + decay_{t+-1} * g_{t+-1}, running against the forward direction (in place)."""
    steps = range(1, dh.shape[0]) if reverse else range(dh.shape[0] - 2, -1, -1)
    for t in steps:
        nxt = t - 1 if reverse else t + 1
        dh[t].addcmul_(decay[nxt], dh[nxt])
    return dh


class _RecurrentScan(torch.autograd.Function):

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias, delta_softplus, reverse):
        dtype = _compute_dtype(u, A)
        _, _, decay, inp = _discretise(u, delta, A, B, delta_bias, delta_softplus, dtype)
        h = _states(decay, inp, reverse)
        y = torch.einsum('lbdn,bnl->bdl', h, C.to(dtype))
        if D is not None:
            y = y + D.to(dtype)[:, None] * u.to(dtype)
        if z is not None:
            y = y * F.silu(z.to(dtype))
        ctx.save_for_backward(u, delta, A, B, C, D, z, delta_bias)
        ctx.delta_softplus, ctx.reverse = delta_softplus, reverse
        return y.to(u.dtype)

    @staticmethod
    def backward(ctx, dout):
        u, delta, A, B, C, D, z, delta_bias = ctx.saved_tensors
        dtype = _compute_dtype(u, A)
        delta_raw, dlt, decay, inp = _discretise(u, delta, A, B, delta_bias, ctx.delta_softplus,
                                                 dtype)
        h = _states(decay, inp, ctx.reverse)
        uf, Cf, Bf = u.to(dtype), C.to(dtype), B.to(dtype)
        dy = dout.to(dtype)
        dz = None
        if z is not None:
            zf = z.to(dtype)
            y = torch.einsum('lbdn,bnl->bdl', h, Cf)
            if D is not None:
                y = y + D.to(dtype)[:, None] * uf
            sig = torch.sigmoid(zf)
            dz = (dy * y * sig * (1 + zf * (1 - sig))).to(z.dtype)
            dy = dy * zf * sig
        dC = torch.einsum('lbdn,bdl->bnl', h, dy)
        g = _adjoint(dy.permute(2, 0, 1)[..., None] * Cf.permute(2, 0, 1)[:, :, None, :],
                     decay, ctx.reverse)
        g_decayed_state = g * (h - inp)               # g_t * decay_t * h_{t-+1}
        gB = torch.einsum('lbdn,bnl->bdl', g, Bf)
        ddelta = uf * gB + torch.einsum('lbdn,dn->bdl', g_decayed_state, A.to(dtype))
        dA = torch.einsum('lbdn,bdl->dn', g_decayed_state, dlt)
        dB = torch.einsum('lbdn,bdl->bnl', g, dlt * uf)
        du = dlt * gB
        dD = None
        if D is not None:
            du = du + dy * D.to(dtype)[:, None]
            dD = (dy * uf).sum((0, 2)).to(D.dtype)
        if ctx.delta_softplus:
            ddelta = ddelta * torch.sigmoid(delta_raw)
        d_delta_bias = None if delta_bias is None else ddelta.sum((0, 2)).to(delta_bias.dtype)
        return (du.to(u.dtype), ddelta.to(delta.dtype), dA.to(A.dtype), dB.to(B.dtype),
                dC.to(C.dtype), dD, dz, d_delta_bias, None, None)


def selective_scan_recurrent(u, delta, A, B, C, D=None, z=None, delta_bias=None,
                             delta_softplus=False, reverse=False):
    """Same arguments and result as
    :func:`~mmvim.ops.selective_scan.reference.selective_scan_ref`."""
    return _RecurrentScan.apply(u, delta, A, B, C, D, z, delta_bias, delta_softplus, reverse)
