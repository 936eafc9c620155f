"""Triton kernels of Vim's convolution stage: depthwise conv1d + SiLU, both directions at once.

One program owns (batch b, BL consecutive positions, BE channels), one channel per thread;
the backward walks TILES such tiles. The forward loads every input value its tile needs (the
tile plus a halo of K - 1 positions on each side) into registers first, as a tuple of (BE,)
vectors indexed by position, then computes and stores: each value is loaded once and no load
waits behind a store. The backward slides windows of x and of the pre-activation gradients
from tile to tile, so each position's inputs are loaded and its gradients formed once per
program, and loads the next tile's inputs before the current tile's stores. The anti-causal
direction only mirrors the tap offsets (see reference.py), so nothing is flipped. For the Vim
mixer's (batch, length, channels) memory a warp's loads and stores at one position are
contiguous across its channels.

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
def pre_activation_grads(xs, dys, w, bias, FIRST: tl.constexpr, COUNT: tl.constexpr,
                         REV: tl.constexpr, K: tl.constexpr):
    """Tuple of COUNT (BE,) float32 g = dy * silu'(pre), the gradient of one direction's
    pre-activation, at COUNT consecutive positions: ``dys[m]`` is dy there, and the pre-activation
    at the m-th of them is :func:`conv_taps` at entry ``FIRST + m`` of ``xs``."""
    gs = ()
    for m in tl.static_range(COUNT):
        pre = conv_taps(xs, FIRST + m, w, bias, REV, K)
        sig = tl.sigmoid(pre)
        gs = gs + (dys[m].to(tl.float32) * sig * (1.0 + pre * (1.0 - sig)), )
    return gs


@triton.jit
def param_grad_sums(gs, xs, sums, FIRST: tl.constexpr, REV: tl.constexpr, K: tl.constexpr,
                    ON=True):
    """``sums`` (a tuple of K + 1 (BE,) float32 vectors: dw[0..K-1], db) plus the terms of the
    positions in ``gs``, where ``ON``: dw[k] += g[p] x[p - (K-1) + k] (causal; anti-causal
    x[p + (K-1) - k]), db += g[p]; ``xs[FIRST + m]`` is x at the position of ``gs[m]``."""
    out = ()
    for k in tl.static_range(K):
        acc = sums[k]
        for m in tl.static_range(len(gs)):
            if REV:
                term = gs[m] * xs[FIRST + m + K - 1 - k].to(tl.float32)
            else:
                term = gs[m] * xs[FIRST + m - (K - 1) + k].to(tl.float32)
            acc += tl.where(ON, term, 0.0)
        out = out + (acc, )
    acc = sums[K]
    for m in tl.static_range(len(gs)):
        acc += tl.where(ON, gs[m], 0.0)
    return out + (acc, )


@triton.jit
def add_param_grads(sums, dw_ptr, db_ptr, d, dmask, K: tl.constexpr, HAS_BIAS: tl.constexpr):
    """Atomically adds :func:`param_grad_sums`' result to dw (channels, K) and db (channels,)."""
    for k in tl.static_range(K):
        tl.atomic_add(dw_ptr + d * K + k, sums[k], mask=dmask, sem='relaxed')
    if HAS_BIAS:
        tl.atomic_add(db_ptr + d, sums[K], mask=dmask, sem='relaxed')


@triton.jit
def load_next_inputs(x_ptr, x_rows, dyf_ptr, dyf_rows, dyb_ptr, dyb_rows, dmask, t0, sx_l,
                     sdf_l, sdb_l, L, BL: tl.constexpr, K: tl.constexpr):
    """The inputs the tile at t0 adds to the backward's windows: x and dy_f at t0 + K - 1 ..
    t0 + BL + K - 2, dy_b at t0 .. t0 + BL - 1 (tuples of BL (BE,) vectors)."""
    return (load_positions(x_ptr, x_rows, dmask, t0 + K - 1, BL, sx_l, L),
            load_positions(dyf_ptr, dyf_rows, dmask, t0 + K - 1, BL, sdf_l, L),
            load_positions(dyb_ptr, dyb_rows, dmask, t0, BL, sdb_l, L))


@triton.jit
def conv_backward_kernel(x_ptr, wf_ptr, bf_ptr, wb_ptr, bb_ptr, dyf_ptr, dyb_ptr, dx_ptr,
                         dwf_ptr, dbf_ptr, dwb_ptr, dbb_ptr,
                         sx_b, sx_d, sx_l, sdf_b, sdf_d, sdf_l, sdb_b, sdb_d, sdb_l,
                         sdx_b, sdx_d, sdx_l, L, DIM, K: tl.constexpr, HAS_BIAS: tl.constexpr,
                         BL: tl.constexpr, TILES: tl.constexpr, BE: tl.constexpr):
    """dx at TILES consecutive tiles of BL positions and BE channels from both directions'
    output gradients, plus the program's share of dw, db (one atomic add per channel and
    parameter: with many programs per channel the adds to the small dw / db queue up).

    With g = dy * silu'(pre), dx[t] = sum_k w_f[k] g_f[t + (K-1) - k] + sum_k w_b[k]
    g_b[t - (K-1) + k]. The program slides windows along its positions: for the tile at t0,
    x at t0 .. t0 + BL + K - 2, g_f at t0 .. t0 + BL + K - 2, g_b at t0 - (K - 1) .. t0 + BL - 1.
    A tile loads x and dy_f K - 1 positions ahead and dy_b at its own positions (BL each, no
    halo: the windows' other entries come from the tile before), forms g_f and g_b at those BL
    positions (each once), and adds their terms to the parameter sums. Before the first tile
    the program loads x at start - (K - 1) .. start + K - 2 and forms g_f at start .. start +
    K - 2 and g_b at start - (K - 1) .. start - 1: that g_f counts in the sums only in a row's
    first program (later ones' belong to the program before), that g_b never (it lies before
    the program's positions). The next tile's inputs are loaded before this tile's stores,
    which the compiler does not move loads across.
    """
    b = tl.program_id(0).to(tl.int64)
    d = tl.program_id(2) * BE + tl.arange(0, BE)
    dmask = d < DIM
    wf, bias_f = load_params(wf_ptr, bf_ptr, d, dmask, K, HAS_BIAS)
    wb, bias_b = load_params(wb_ptr, bb_ptr, d, dmask, K, HAS_BIAS)
    x_rows = b * sx_b + d * sx_d
    dyf_rows = b * sdf_b + d * sdf_d
    dyb_rows = b * sdb_b + d * sdb_d
    out_rows = b * sdx_b + d * sdx_d
    H: tl.constexpr = K - 1
    start = tl.program_id(1) * TILES * BL
    # the first windows: x at start - H .. start + H - 1 (x_win[j]: x at start - H + j), g_f at
    # start .. start + H - 1, g_b at start - H .. start - 1
    x_win = load_positions(x_ptr, x_rows, dmask, start - H, 2 * H, sx_l, L)
    g_f = pre_activation_grads(x_win, load_positions(dyf_ptr, dyf_rows, dmask, start, H, sdf_l,
                                                     L), wf, bias_f, H, H, False, K)
    g_b = pre_activation_grads(x_win, load_positions(dyb_ptr, dyb_rows, dmask, start - H, H,
                                                     sdb_l, L), wb, bias_b, 0, H, True, K)
    sums_f = ()
    for k in tl.static_range(K + 1):
        sums_f = sums_f + (tl.zeros(d.shape, dtype=tl.float32), )
    sums_b = sums_f
    sums_f = param_grad_sums(g_f, x_win, sums_f, H, False, K, start == 0)
    x_win = x_win[H:]
    x_new, dyf_new, dyb_new = load_next_inputs(x_ptr, x_rows, dyf_ptr, dyf_rows, dyb_ptr,
                                               dyb_rows, dmask, start, sx_l, sdf_l, sdb_l, L,
                                               BL, K)
    for tile in range(TILES):
        t0 = start + tile * BL
        xs = x_win + x_new                   # xs[j]: x at t0 + j, j < BL + H
        gf_new = pre_activation_grads(xs, dyf_new, wf, bias_f, H, BL, False, K)
        gb_new = pre_activation_grads(xs, dyb_new, wb, bias_b, 0, BL, True, K)
        x_new, dyf_new, dyb_new = load_next_inputs(x_ptr, x_rows, dyf_ptr, dyf_rows, dyb_ptr,
                                                   dyb_rows, dmask, t0 + BL, sx_l, sdf_l, sdb_l,
                                                   L, BL, K)
        gf = g_f + gf_new                    # gf[j]: g_f at t0 + j
        gb = g_b + gb_new                    # gb[j]: g_b at t0 - H + j
        for i in tl.static_range(BL):
            t = t0 + i
            dx = tl.zeros(d.shape, dtype=tl.float32)
            for k in tl.static_range(K):
                dx += wf[k] * gf[i + H - k] + wb[k] * gb[i + k]
            tl.store(dx_ptr + out_rows + t * sdx_l, dx.to(dx_ptr.dtype.element_ty),
                     mask=dmask & (d * 0 + t < L))
        sums_f = param_grad_sums(gf_new, xs, sums_f, H, False, K)
        sums_b = param_grad_sums(gb_new, xs, sums_b, 0, True, K)
        x_win = xs[BL:]
        g_f = gf[BL:]
        g_b = gb[BL:]
    add_param_grads(sums_f, dwf_ptr, dbf_ptr, d, dmask, K, HAS_BIAS)
    add_param_grads(sums_b, dwb_ptr, dbb_ptr, d, dmask, K, HAS_BIAS)
