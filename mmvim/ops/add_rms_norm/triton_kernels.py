"""Triton kernels of the fused residual add + RMSNorm, forward and backward.

One program owns BM rows of D features (BD = D padded to a power of two); all math in float32.
Tensors are (rows, D) with a unit feature stride and a row stride each.
"""
import triton
import triton.language as tl


@triton.jit
def _rows(pid, ROWS, D, BM: tl.constexpr, BD: tl.constexpr):
    rows = pid * BM + tl.arange(0, BM)
    cols = tl.arange(0, BD)
    return rows.to(tl.int64), cols, (rows < ROWS)[:, None] & (cols < D)[None, :]


@triton.jit
def add_rms_norm_forward_kernel(h_ptr, r_ptr, w_ptr, out_ptr, rout_ptr, sh, sr, so, sro, ROWS, D,
                                eps, HAS_RES: tl.constexpr, BM: tl.constexpr, BD: tl.constexpr):
    """rout = r + h (stored in rout's dtype); out = rms_norm(rout) * w."""
    rows, cols, mask = _rows(tl.program_id(0), ROWS, D, BM, BD)
    x = tl.load(h_ptr + rows[:, None] * sh + cols[None, :], mask=mask, other=0.0).to(tl.float32)
    if HAS_RES:
        x += tl.load(r_ptr + rows[:, None] * sr + cols[None, :], mask=mask, other=0.0).to(
            tl.float32)
    x = x.to(rout_ptr.dtype.element_ty)
    tl.store(rout_ptr + rows[:, None] * sro + cols[None, :], x, mask=mask)
    x = x.to(tl.float32)                                    # the norm sees the stream as stored
    rstd = 1.0 / tl.sqrt(tl.sum(x * x, axis=1) / D + eps)
    w = tl.load(w_ptr + cols, mask=cols < D, other=0.0).to(tl.float32)
    tl.store(out_ptr + rows[:, None] * so + cols[None, :],
             (x * rstd[:, None] * w[None, :]).to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def add_rms_norm_backward_kernel(dout_ptr, drout_ptr, rout_ptr, w_ptr, dh_ptr, dr_ptr, dw_ptr,
                                 sdo, sdro, sro, sdh, sdr, ROWS, D, eps,
                                 HAS_DROUT: tl.constexpr, HAS_RES: tl.constexpr,
                                 BM: tl.constexpr, BD: tl.constexpr):
    """Gradient of the stream: rstd (dxhat - xhat mean(dxhat xhat)) + d(rout), written as dh
    (and dr when there was a residual); this program's rows' share of dw to ``dw[pid]``."""
    pid = tl.program_id(0)
    rows, cols, mask = _rows(pid, ROWS, D, BM, BD)
    x = tl.load(rout_ptr + rows[:, None] * sro + cols[None, :], mask=mask, other=0.0).to(
        tl.float32)
    dout = tl.load(dout_ptr + rows[:, None] * sdo + cols[None, :], mask=mask, other=0.0).to(
        tl.float32)
    w = tl.load(w_ptr + cols, mask=cols < D, other=0.0).to(tl.float32)
    rstd = 1.0 / tl.sqrt(tl.sum(x * x, axis=1) / D + eps)
    xhat = x * rstd[:, None]
    tl.store(dw_ptr + pid * D + cols, tl.sum(dout * xhat, axis=0), mask=cols < D)
    dxhat = dout * w[None, :]
    dx = rstd[:, None] * (dxhat - xhat * (tl.sum(dxhat * xhat, axis=1) / D)[:, None])
    if HAS_DROUT:
        dx += tl.load(drout_ptr + rows[:, None] * sdro + cols[None, :], mask=mask,
                      other=0.0).to(tl.float32)
    tl.store(dh_ptr + rows[:, None] * sdh + cols[None, :], dx.to(dh_ptr.dtype.element_ty),
             mask=mask)
    if HAS_RES:
        tl.store(dr_ptr + rows[:, None] * sdr + cols[None, :], dx.to(dr_ptr.dtype.element_ty),
                 mask=mask)
