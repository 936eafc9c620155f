"""Triton kernels of Vim's convolution stage: depthwise conv1d + SiLU, both directions at once.

One program owns (batch b, BL positions, BE channels). The forward reads ``x`` in its original
order and writes ``silu(causal conv)`` and ``silu(anti-causal conv)``; the anti-causal direction
only mirrors the tap offsets (see reference.py), so nothing is flipped. Tiles are (BL, BE) with the
channel fastest: for the Vim mixer's (batch, length, channels) memory, loads and stores coalesce.

Tensors: x, y_f, y_b, dx, dy_f, dy_b (batch, channels, length) with any strides (passed as
(batch, channel, length) stride triples); weights (channels, K) and biases (channels,) contiguous;
their gradients (channels, K) and (channels,) float32, accumulated with atomics.
"""
import triton
import triton.language as tl


@triton.jit
def tap_offset(k, K: tl.constexpr, REV: tl.constexpr):
    """Offset of tap ``k`` from the output position: causal ``k - (K-1)``, anti-causal ``K-1-k``."""
    if REV:
        return K - 1 - k
    return k - (K - 1)


@triton.jit
def load_rows(ptr, rows, dmask, pos, stride, L):
    """(BL, BE) float32 ``ptr[rows + pos * stride]``; zero outside [0, L) (zero padding)."""
    mask = ((pos >= 0) & (pos < L))[:, None] & dmask[None, :]
    return tl.load(ptr + rows[None, :] + pos[:, None] * stride, mask=mask, other=0.0).to(tl.float32)


@triton.jit
def pre_activation(x_ptr, x_rows, sx_l, w_ptr, bias_ptr, d, dmask, pos, L, K: tl.constexpr,
                   REV: tl.constexpr, HAS_BIAS: tl.constexpr):
    """(BL, BE) float32 convolution output of one direction at positions ``pos``."""
    acc = tl.zeros([pos.shape[0], d.shape[0]], dtype=tl.float32)
    if HAS_BIAS:
        acc += tl.load(bias_ptr + d, mask=dmask, other=0.0).to(tl.float32)[None, :]
    for k in tl.static_range(K):
        w = tl.load(w_ptr + d * K + k, mask=dmask, other=0.0).to(tl.float32)
        acc += w[None, :] * load_rows(x_ptr, x_rows, dmask, pos + tap_offset(k, K, REV), sx_l, L)
    return acc


@triton.jit
def conv_forward_kernel(x_ptr, wf_ptr, bf_ptr, wb_ptr, bb_ptr, yf_ptr, yb_ptr,
                        sx_b, sx_d, sx_l, sy_b, sy_d, sy_l, L, DIM,
                        K: tl.constexpr, HAS_BIAS: tl.constexpr, BL: tl.constexpr,
                        BE: tl.constexpr):
    """y_f, y_b = silu(causal conv(x)), silu(anti-causal conv(x)) for one (BL, BE) tile."""
    b = tl.program_id(0).to(tl.int64)
    pos = tl.program_id(1) * BL + tl.arange(0, BL)
    d = tl.program_id(2) * BE + tl.arange(0, BE)
    dmask = d < DIM
    x_rows = b * sx_b + d * sx_d
    out = (b * sy_b + d * sy_d)[None, :] + pos[:, None] * sy_l
    mask = (pos < L)[:, None] & dmask[None, :]
    pre = pre_activation(x_ptr, x_rows, sx_l, wf_ptr, bf_ptr, d, dmask, pos, L, K, False, HAS_BIAS)
    tl.store(yf_ptr + out, (pre * tl.sigmoid(pre)).to(yf_ptr.dtype.element_ty), mask=mask)
    pre = pre_activation(x_ptr, x_rows, sx_l, wb_ptr, bb_ptr, d, dmask, pos, L, K, True, HAS_BIAS)
    tl.store(yb_ptr + out, (pre * tl.sigmoid(pre)).to(yb_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _direction_backward(x_ptr, x_rows, sx_l, w_ptr, bias_ptr, dy_ptr, dy_rows, sdy_l, dw_ptr,
                        db_ptr, d, dmask, pos, L, K: tl.constexpr, REV: tl.constexpr,
                        HAS_BIAS: tl.constexpr):
    """One direction's share of dx at ``pos`` (returned, (BL, BE) float32); adds the tile's
    weight and bias gradients to ``dw`` / ``db``.

    With g = dy * silu'(pre), the gradient of the pre-activation: dx[l] = sum_k w[k] g[l - o_k]
    (o_k the tap offset) and dw[k] = sum_l g[l] x[l + o_k]. g is recomputed at the K shifted
    positions from x (cheap: the loads hit L1) rather than stored.
    """
    dx = tl.zeros([pos.shape[0], d.shape[0]], dtype=tl.float32)
    for k in tl.static_range(K):
        at = pos - tap_offset(k, K, REV)
        pre = pre_activation(x_ptr, x_rows, sx_l, w_ptr, bias_ptr, d, dmask, at, L, K, REV,
                             HAS_BIAS)
        sig = tl.sigmoid(pre)
        g = load_rows(dy_ptr, dy_rows, dmask, at, sdy_l, L) * sig * (1.0 + pre * (1.0 - sig))
        w = tl.load(w_ptr + d * K + k, mask=dmask, other=0.0).to(tl.float32)
        dx += w[None, :] * g
        if k == K - 1:                              # tap offset 0: g at the tile's positions
            for j in tl.static_range(K):
                xj = load_rows(x_ptr, x_rows, dmask, pos + tap_offset(j, K, REV), sx_l, L)
                tl.atomic_add(dw_ptr + d * K + j, tl.sum(g * xj, axis=0), mask=dmask,
                              sem='relaxed')
            if HAS_BIAS:
                tl.atomic_add(db_ptr + d, tl.sum(g, axis=0), mask=dmask, sem='relaxed')
    return dx


@triton.jit
def conv_backward_kernel(x_ptr, wf_ptr, bf_ptr, wb_ptr, bb_ptr, dyf_ptr, dyb_ptr, dx_ptr,
                         dwf_ptr, dbf_ptr, dwb_ptr, dbb_ptr,
                         sx_b, sx_d, sx_l, sdf_b, sdf_d, sdf_l, sdb_b, sdb_d, sdb_l,
                         sdx_b, sdx_d, sdx_l, L, DIM, K: tl.constexpr, HAS_BIAS: tl.constexpr,
                         BL: tl.constexpr, BE: tl.constexpr):
    """dx for one (BL, BE) tile from both directions' output gradients, plus dw, db."""
    b = tl.program_id(0).to(tl.int64)
    pos = tl.program_id(1) * BL + tl.arange(0, BL)
    d = tl.program_id(2) * BE + tl.arange(0, BE)
    dmask = d < DIM
    x_rows = b * sx_b + d * sx_d
    dx = _direction_backward(x_ptr, x_rows, sx_l, wf_ptr, bf_ptr, dyf_ptr, b * sdf_b + d * sdf_d,
                             sdf_l, dwf_ptr, dbf_ptr, d, dmask, pos, L, K, False, HAS_BIAS)
    dx += _direction_backward(x_ptr, x_rows, sx_l, wb_ptr, bb_ptr, dyb_ptr, b * sdb_b + d * sdb_d,
                              sdb_l, dwb_ptr, dbb_ptr, d, dmask, pos, L, K, True, HAS_BIAS)
    out = (b * sdx_b + d * sdx_d)[None, :] + pos[:, None] * sdx_l
    tl.store(dx_ptr + out, dx.to(dx_ptr.dtype.element_ty), mask=(pos < L)[:, None] & dmask[None, :])
