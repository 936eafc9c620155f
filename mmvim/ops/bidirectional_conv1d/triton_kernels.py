"""Triton kernels of Vim's convolution stage: depthwise conv1d + SiLU, both directions at once.

One program owns (batch b, BL consecutive positions, BE channels), one channel per thread;
the backward walks TILES such tiles. For each tile it loads every input value the tile needs
(the tile plus a halo of K - 1 positions on each side for the forward, 2 (K - 1) of x and K - 1
of the gradients for the backward) into registers first, as a tuple of (BE,) vectors indexed by
position, then computes and stores: within a tile each value is loaded once and no load waits
behind a store (neighbouring tiles load their shared halo again). The anti-causal direction
only mirrors the tap offsets (see reference.py), so nothing is flipped. For the Vim mixer's
(batch, length, channels) memory a warp's loads and stores at one position are contiguous across
its channels.

Tensors: x, y_f, y_b, dx, dy_f, dy_b (batch, channels, length) with any strides (passed as
(batch, channel, length) stride triples); weights (channels, K) and biases (channels,) contiguous;
their gradients (channels, K) and (channels,) float32, accumulated with one atomic add per
program and channel.
"""
import triton
import triton.language as tl


@triton.jit
def load_positions(ptr, rows, dmask, first, COUNT: tl.constexpr, stride, L):
    """Tuple of COUNT (BE,) vectors ``ptr[rows + p * stride]`` (as stored) for the positions
    p = first, first + 1, ...; zero outside [0, L) (the convolution's zero padding)."""
    values = ()
    for j in tl.static_range(COUNT):
        p = first + j
        inside = dmask & (rows * 0 + p >= 0) & (rows * 0 + p < L)
        values = values + (tl.load(ptr + rows + p * stride, mask=inside, other=0.0), )
    return values


@triton.jit
def conv_taps(values, start, w, bias, REV: tl.constexpr, K: tl.constexpr):
    """float32 pre-activation from a tuple of input vectors whose entry ``start`` is the output
    position: causal ``bias + sum_k w[k] x[p - (K-1) + k]``, anti-causal ``... x[p + (K-1) - k]``;
    ``start`` counts from the tuple's first entry, ``w`` is a tuple of K weight vectors."""
    acc = bias
    for k in tl.static_range(K):
        if REV:
            acc += w[k] * values[start + K - 1 - k].to(tl.float32)
        else:
            acc += w[k] * values[start - (K - 1) + k].to(tl.float32)
    return acc


@triton.jit
def load_params(w_ptr, bias_ptr, d, dmask, K: tl.constexpr, HAS_BIAS: tl.constexpr):
    """(tuple of K (BE,) float32 weights, (BE,) float32 bias or zeros) of channels ``d``."""
    w = ()
    for k in tl.static_range(K):
        w = w + (tl.load(w_ptr + d * K + k, mask=dmask, other=0.0).to(tl.float32), )
    bias = tl.load(bias_ptr + d, mask=dmask & HAS_BIAS, other=0.0).to(tl.float32)
    return w, bias


@triton.jit
def conv_forward_kernel(x_ptr, wf_ptr, bf_ptr, wb_ptr, bb_ptr, yf_ptr, yb_ptr,
                        sx_b, sx_d, sx_l, sy_b, sy_d, sy_l, L, DIM,
                        K: tl.constexpr, HAS_BIAS: tl.constexpr, BL: tl.constexpr,
                        BE: tl.constexpr):
    """y_f, y_b = silu(causal conv(x)), silu(anti-causal conv(x)) at BL positions, BE channels."""
    b = tl.program_id(0).to(tl.int64)
    t0 = tl.program_id(1) * BL
    d = tl.program_id(2) * BE + tl.arange(0, BE)
    dmask = d < DIM
    wf, bias_f = load_params(wf_ptr, bf_ptr, d, dmask, K, HAS_BIAS)
    wb, bias_b = load_params(wb_ptr, bb_ptr, d, dmask, K, HAS_BIAS)
    # xs[j] = x at position t0 - (K - 1) + j
    xs = load_positions(x_ptr, b * sx_b + d * sx_d, dmask, t0 - (K - 1), BL + 2 * K - 2, sx_l,
                        L)
    out_rows = b * sy_b + d * sy_d
    for i in tl.static_range(BL):
        t = t0 + i
        mask = dmask & (d * 0 + t < L)
        pre = conv_taps(xs, i + K - 1, wf, bias_f, False, K)
        tl.store(yf_ptr + out_rows + t * sy_l, (pre * tl.sigmoid(pre)).to(yf_ptr.dtype.element_ty),
                 mask=mask)
        pre = conv_taps(xs, i + K - 1, wb, bias_b, True, K)
        tl.store(yb_ptr + out_rows + t * sy_l, (pre * tl.sigmoid(pre)).to(yb_ptr.dtype.element_ty),
                 mask=mask)


@triton.jit
def pre_activation_grads(xs, dys, w, bias, COUNT: tl.constexpr, REV: tl.constexpr,
                         K: tl.constexpr):
    """Tuple of COUNT (BE,) float32 g = dy * silu'(pre), the gradient of one direction's
    pre-activation, at the positions of ``dys``; ``xs`` starts K - 1 positions earlier."""
    gs = ()
    for m in tl.static_range(COUNT):
        pre = conv_taps(xs, m + K - 1, w, bias, REV, K)
        sig = tl.sigmoid(pre)
        gs = gs + (dys[m].to(tl.float32) * sig * (1.0 + pre * (1.0 - sig)), )
    return gs


@triton.jit
def param_grad_sums(gs, xs, sums, BL: tl.constexpr, REV: tl.constexpr, K: tl.constexpr):
    """``sums`` (a tuple of K + 1 (BE,) float32 vectors: dw[0..K-1], db) plus one tile's share:
    dw[k] += sum_t g[t] x[t - (K-1) + k] (causal; anti-causal x[t + (K-1) - k]), db += sum_t g[t],
    over the tile's own BL positions (entries K - 1.. of ``gs``, 2 (K - 1).. of ``xs``)."""
    out = ()
    for k in tl.static_range(K):
        acc = sums[k]
        for i in tl.static_range(BL):
            if REV:
                acc += gs[i + K - 1] * xs[i + 3 * (K - 1) - k].to(tl.float32)
            else:
                acc += gs[i + K - 1] * xs[i + K - 1 + k].to(tl.float32)
        out = out + (acc, )
    acc = sums[K]
    for i in tl.static_range(BL):
        acc += gs[i + K - 1]
    return out + (acc, )


@triton.jit
def add_param_grads(sums, dw_ptr, db_ptr, d, dmask, K: tl.constexpr, HAS_BIAS: tl.constexpr):
    """Atomically adds :func:`param_grad_sums`' result to dw (channels, K) and db (channels,)."""
    for k in tl.static_range(K):
        tl.atomic_add(dw_ptr + d * K + k, sums[k], mask=dmask, sem='relaxed')
    if HAS_BIAS:
        tl.atomic_add(db_ptr + d, sums[K], mask=dmask, sem='relaxed')


@triton.jit
def conv_backward_kernel(x_ptr, wf_ptr, bf_ptr, wb_ptr, bb_ptr, dyf_ptr, dyb_ptr, dx_ptr,
                         dwf_ptr, dbf_ptr, dwb_ptr, dbb_ptr,
                         sx_b, sx_d, sx_l, sdf_b, sdf_d, sdf_l, sdb_b, sdb_d, sdb_l,
                         sdx_b, sdx_d, sdx_l, L, DIM, K: tl.constexpr, HAS_BIAS: tl.constexpr,
                         BL: tl.constexpr, TILES: tl.constexpr, BE: tl.constexpr):
    """dx at TILES tiles of BL positions and BE channels from both directions' output
    gradients, plus the program's share of dw, db (one atomic add per channel and parameter:
    with many programs per channel the adds to the small dw / db queue up).

    With g = dy * silu'(pre), dx[t] = sum_k w_f[k] g_f[t + (K-1) - k] + sum_k w_b[k]
    g_b[t - (K-1) + k]: g is formed at the BL positions and K - 1 on each side, from x at
    2 (K - 1) on each side; each program forms its halo's g itself instead of storing it.
    """
    b = tl.program_id(0).to(tl.int64)
    d = tl.program_id(2) * BE + tl.arange(0, BE)
    dmask = d < DIM
    wf, bias_f = load_params(wf_ptr, bf_ptr, d, dmask, K, HAS_BIAS)
    wb, bias_b = load_params(wb_ptr, bb_ptr, d, dmask, K, HAS_BIAS)
    x_rows = b * sx_b + d * sx_d
    out_rows = b * sdx_b + d * sdx_d
    sums_f = ()
    for k in tl.static_range(K + 1):
        sums_f = sums_f + (tl.zeros(d.shape, dtype=tl.float32), )
    sums_b = sums_f
    NG: tl.constexpr = BL + 2 * K - 2                  # g at t0 - (K - 1) + m
    for tile in range(TILES):
        t0 = (tl.program_id(1) * TILES + tile) * BL
        xs = load_positions(x_ptr, x_rows, dmask, t0 - 2 * (K - 1), NG + 2 * K - 2, sx_l, L)
        dyf = load_positions(dyf_ptr, b * sdf_b + d * sdf_d, dmask, t0 - (K - 1), NG, sdf_l, L)
        dyb = load_positions(dyb_ptr, b * sdb_b + d * sdb_d, dmask, t0 - (K - 1), NG, sdb_l, L)
        gf = pre_activation_grads(xs, dyf, wf, bias_f, NG, False, K)
        gb = pre_activation_grads(xs, dyb, wb, bias_b, NG, True, K)
        for i in tl.static_range(BL):
            t = t0 + i
            dx = tl.zeros(d.shape, dtype=tl.float32)
            for k in tl.static_range(K):
                dx += wf[k] * gf[i + 2 * (K - 1) - k] + wb[k] * gb[i + k]
            tl.store(dx_ptr + out_rows + t * sdx_l, dx.to(dx_ptr.dtype.element_ty),
                     mask=dmask & (d * 0 + t < L))
        sums_f = param_grad_sums(gf, xs, sums_f, BL, False, K)
        sums_b = param_grad_sums(gb, xs, sums_b, BL, True, K)
    add_param_grads(sums_f, dwf_ptr, dbf_ptr, d, dmask, K, HAS_BIAS)
    add_param_grads(sums_b, dwb_ptr, dbb_ptr, d, dmask, K, HAS_BIAS)
