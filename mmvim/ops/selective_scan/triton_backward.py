"""Triton backward kernel of the selective scan, one or both directions in one launch.

With decay a_t = exp(delta_t A), input x_t = delta_t B_t u_t and state h_t = a_t h_{t-1} + x_t
(t in the direction's order), the adjoint g_t = C_t dy_t + a_{t+1} g_{t+1} runs the other way.
Gradients: du = delta sum_n(g B) + D dy; d(delta) = u sum_n(g B) + sum_n(g a h_{t-1} A), times
sigmoid(raw delta) after softplus; dA = sum g a h_{t-1} delta; dB = sum_d g delta u;
dC = sum_d h dy; dD = sum dy u; d(delta_bias) = sum d(delta); dy = dout silu(z) SCALE.

Grid (batch * ceil(dim / BD), NC), one channel per lane, the (dstate, channels) state in each
thread's registers, as in the forward kernel. Each program walks its chunk's tiles of T
positions last to first (in the direction's order). Per tile it loads every input first, then
rescans the T states from the state the forward kernel saved at the tile's start (keeping
a_t h_{t-1} per position: T blocks of registers) and forms dC, y (for dz) on the way, and then
steps the adjoint back through the tile one position at a time, forming the other gradients.
Nothing of size (batch, dim, dstate, length) is stored. With NC > 1 a first launch
(``OUTPUT=False``, grid (.., NC - 1)) writes each chunk's local adjoint at its first position and
the sum of the delta values linking it to the next chunk, for every chunk but the one no other
chunk folds (the first in t order for the forward direction, the last for the reverse one);
triton_chunk_carry's kernel turns them into the adjoints entering the chunks, which the second
launch loads.
dB and dC are summed over the program's channels (across lanes by a reduce-scatter,
:func:`add_channel_sums`: the kernel's one cross-lane reduction) and over programs with float32
atomics, as are dA, dD and d(delta_bias) over batch and chunks.

For two directions the forward one runs first and stores its y_f + D u into dz; the reverse one
adds its own and writes dz = dout * y * silu'(z) * SCALE.
"""
import triton
import triton.language as tl

from .triton_common import (clamped, delta_from_raw, entering_state, load_state_words, position,
                            state_layout, state_offsets, tile_index, unpack_states)

LN2 = tl.constexpr(0.6931471805599453)


@triton.jit
def gate_grad(dout, z, valid, SCALE, HAS_Z: tl.constexpr):
    """dy in float32, the gradient reaching the scan's output through ``y * silu(z) * SCALE``
    (zero where ``valid`` is False), and sigmoid(z) (with HAS_Z; else a placeholder)."""
    dout = dout.to(tl.float32)
    if HAS_Z:
        z = z.to(tl.float32)
        zsig = tl.sigmoid(z)
        dy = dout * z * zsig * SCALE
    else:
        zsig = dout
        dy = dout * SCALE
    return tl.where(valid, dy, 0.0), zsig


@triton.jit
def load_words(Bm_ptr, Cm_ptr, tc, sB_t, B_cols, sC_t, C_cols, wvalid, LOAD_B: tl.constexpr,
               PACK: tl.constexpr):
    """B (when ``LOAD_B``, else C again) and C words of position ``tc``."""
    Cw = load_state_words(Cm_ptr, tc * sC_t, C_cols, wvalid, PACK)
    Bw = Cw
    if LOAD_B:
        Bw = load_state_words(Bm_ptr, tc * sB_t, B_cols, wvalid, PACK)
    return Bw, Cw


@triton.jit
def next_delta(c, CHUNK, L, dt_ptr, dt_rows, sdt_t, d, dmask, bias, HAS_BIAS: tl.constexpr,
               SOFTPLUS: tl.constexpr, REV: tl.constexpr):
    """(BD,) delta one position past chunk ``c`` in the direction's order (0 outside the
    sequence): its decay links the chunk's last adjoint to the next chunk's first."""
    t = position(c, CHUNK, CHUNK, REV)
    raw = tl.load(dt_ptr + dt_rows + clamped(t, L) * sdt_t, mask=dmask, other=0.0)
    inside = dmask & (d * 0 + t >= 0) & (d * 0 + t < L)
    return delta_from_raw(raw.to(tl.float32), bias, inside, HAS_BIAS, SOFTPLUS)[0]


@triton.jit
def add_channel_sums(ptr, x, t, L, NSTATE):
    """``ptr[n * L + t] += sum over the block's channels of x[n]`` (float32 atomics) for the
    states n < NSTATE, if t < L. x: an (NP // PACK, PACK, BD) state block, state n at
    [n // PACK, n % PACK], one channel per lane.

    A reduce-scatter over the channels: at the level of channel bit k, while a channel holds
    more than one value, it keeps one half of its values (the upper half where bit k of its
    channel index is set) and adds the partner channel's (index xor 2**k) values of that half,
    fetched with ``tl.gather`` along the channels (a shuffle each, lanes being channels); once
    it holds one value, the partner's copy of the same state is added (a butterfly), and only
    the channel whose remaining bits are 0 stores. Vim's 16 states over 32 lanes then cost 16
    shuffles (NP - 1 + log2(32 / NP) for NP <= 32) instead of tl.sum's 80, and the sums reach
    the atomics spread over the lanes, without a layout conversion (docs/kernel_notes.md,
    "Gradient sums"). With more than one warp per program the gathers between warps go through
    shared memory.
    """
    BD: tl.constexpr = x.shape[2]
    tl.static_assert(BD <= 65536, 'add_channel_sums walks 16 channel bits')
    c = tl.arange(0, BD)
    values = tl.reshape(x, (x.shape[0] * x.shape[1], BD))
    first = c * 0               # the state index of each channel's first value
    owner = c >= 0              # the one channel of each group of equal sums that stores
    for k in tl.static_range(16):
        if (1 << k) < BD:
            partner = c ^ (1 << k)
            upper = ((c >> k) & 1) == 1
            if values.shape[0] > 1:
                lo, hi = tl.split(tl.permute(
                    tl.reshape(values, (2, values.shape[0] // 2, BD)), (1, 2, 0)))
                keep = tl.where(upper[None, :], hi, lo)
                send = tl.where(upper[None, :], lo, hi)
                values = keep + tl.gather(send, tl.broadcast_to(partner[None, :], send.shape),
                                          axis=1)
                first += tl.where(upper, send.shape[0], 0)
            else:
                values += tl.gather(values, partner[None, :], axis=1)
                owner &= ~upper
    n = first[None, :] + tl.arange(0, values.shape[0])[:, None]
    tl.atomic_add(ptr + n * L + t, values,
                  mask=(n < NSTATE) & owner[None, :] & (n * 0 + t < L), sem='relaxed')


@triton.jit
def _backward_direction(u_ptr, dt_ptr, A_ptr, Bm_ptr, Cm_ptr, D_ptr, bias_ptr, end_ptr, sum_ptr,
                        state_ptr, du_ptr, ddt_ptr, dA_ptr, dB_ptr, dC_ptr, dD_ptr, dbias_ptr,
                        su_b, su_d, su_t, sdt_b, sdt_d, sdt_t, sB_b, sB_n, sB_t, sC_b, sC_n, sC_t,
                        sdu_b, sdu_d, sdu_t, sddt_b, sddt_d, sddt_t,
                        z_ptr, dout_ptr, dz_ptr, z_rows, sz_t, o_rows, so_t, dz_rows, sdz_t,
                        b, c, d, dmask, L, DIM, NSTATE: tl.constexpr, NC, CHUNK, TPC, NT, SCALE,
                        sA_n, REV: tl.constexpr, OUTPUT: tl.constexpr, ACCUM: tl.constexpr,
                        FINAL: tl.constexpr, HAS_Z: tl.constexpr, HAS_D: tl.constexpr,
                        HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, NP: tl.constexpr,
                        T: tl.constexpr, PACK: tl.constexpr):
    """Adjoint and gradients of one direction over chunk ``c`` for channels ``d`` (BD,) of batch
    ``b``; states are (NP // PACK, PACK, BD) blocks as in the forward kernel; ``*_rows`` are
    (BD,) offsets at t = 0, ``s*_t`` strides along t."""
    n, pmask, A2, wvalid, B_cols, C_cols = state_layout(A_ptr, d, dmask, NSTATE, sA_n, sB_n,
                                                        sC_n, NP, PACK)
    bias = tl.load(bias_ptr + d, mask=dmask & HAS_BIAS, other=0.0)
    Dv = tl.load(D_ptr + d, mask=dmask & HAS_D, other=0.0)
    # batch entry b's offsets go into the pointers: per-channel offsets fit in int32
    u_ptr += b * su_b
    dt_ptr += b * sdt_b
    du_ptr += b * sdu_b
    ddt_ptr += b * sddt_b
    u_rows = d * su_d
    dt_rows = d * sdt_d
    du_rows = d * sdu_d
    ddt_rows = d * sddt_d
    dB_ptr += b * NSTATE * L
    dC_ptr += b * NSTATE * L
    Bm_ptr += b * sB_b
    Cm_ptr += b * sC_b
    dt_next = next_delta(c, CHUNK, L, dt_ptr, dt_rows, sdt_t, d, dmask, bias, HAS_BIAS, SOFTPLUS,
                         REV)
    if OUTPUT:
        g = entering_state(end_ptr, b, d, n, pmask, c, NC, sA_n, NP, REV)
    else:
        g = tl.zeros(A2.shape, dtype=tl.float32)
    dA = tl.zeros(A2.shape, dtype=tl.float32)
    dD = tl.zeros([d.shape[0]], dtype=tl.float32)
    dbias = tl.zeros([d.shape[0]], dtype=tl.float32)
    dsum = tl.zeros([d.shape[0]], dtype=tl.float32)
    for kk in range(TPC):
        k = TPC - 1 - kk
        # the tile's inputs, loaded before any of its stores (the compiler does not move loads
        # across stores); B and C are loaded again, a position ahead, for the adjoint steps
        us = ()
        raws = ()
        Bws = ()
        Cws = ()
        outs = ()
        zs = ()
        yps = ()
        for i in tl.static_range(T):
            tc = clamped(position(c, k * T + i, CHUNK, REV), L)
            raws += (tl.load(dt_ptr + dt_rows + tc * sdt_t, mask=dmask, other=0.0),)
            outs += (tl.load(dout_ptr + o_rows + tc * so_t, mask=dmask, other=0.0),)
            if HAS_Z:
                zs += (tl.load(z_ptr + z_rows + tc * sz_t, mask=dmask, other=0.0),)
            else:
                zs += (outs[i],)
            if OUTPUT:
                us += (tl.load(u_ptr + u_rows + tc * su_t, mask=dmask, other=0.0),)
                Bws += (load_state_words(Bm_ptr, tc * sB_t, B_cols, wvalid, PACK),)
                if HAS_Z:
                    Cws += (load_state_words(Cm_ptr, tc * sC_t, C_cols, wvalid, PACK),)
                if ACCUM and HAS_Z:
                    yps += (tl.load(dz_ptr + dz_rows + tc * sdz_t, mask=dmask, other=0.0),)
        if OUTPUT:
            # a tile wholly past the end (chunk padding) reads the last saved state: harmless,
            # as its delta and dy are zero and its outputs masked
            j = tl.minimum(tile_index(c, k, TPC, REV), NT - 1)
            h = tl.load(state_ptr + state_offsets(b, j, NT, n, d[None, None, :], sA_n, NP),
                        mask=pmask, other=0.0).to(tl.float32)
            # rescan the tile: keep a_t h_{t-1} per position; dC and y (for dz) on the way
            hps = ()
            dts = ()
            dys = ()
            for i in tl.static_range(T):
                t = position(c, k * T + i, CHUNK, REV)
                m = dmask & (d * 0 + t < L)
                u = us[i].to(tl.float32)
                dt, _ = delta_from_raw(raws[i].to(tl.float32), bias, m, HAS_BIAS, SOFTPLUS)
                dy, zsig = gate_grad(outs[i], zs[i], m, SCALE, HAS_Z)
                hp = tl.exp2(dt[None, None, :] * A2) * h
                h = hp + unpack_states(Bws[i], Bm_ptr.dtype.element_ty, PACK)[:, :, None] * \
                    (dt * u)[None, None, :]
                add_channel_sums(dC_ptr, h * dy[None, None, :], t, L, NSTATE)
                if HAS_Z:
                    Ct = unpack_states(Cws[i], Cm_ptr.dtype.element_ty, PACK)
                    y = tl.sum(tl.sum(h * Ct[:, :, None], axis=1), axis=0) + Dv * u
                    if ACCUM:
                        y += yps[i].to(tl.float32)
                    if FINAL:
                        z = zs[i].to(tl.float32)
                        y = outs[i].to(tl.float32) * y * zsig * (1.0 + z * (1.0 - zsig)) * SCALE
                    tl.store(dz_ptr + dz_rows + t * sdz_t, y.to(dz_ptr.dtype.element_ty), mask=m)
                dD += dy * u
                hps += (hp,)
                dts += (dt,)
                dys += (dy,)
        # the adjoint, one position at a time, last first
        Bw_n, Cw_n = load_words(Bm_ptr, Cm_ptr, clamped(position(c, k * T + T - 1, CHUNK, REV), L),
                                sB_t, B_cols, sC_t, C_cols, wvalid, OUTPUT, PACK)
        for i in tl.static_range(T - 1, -1, -1):
            t = position(c, k * T + i, CHUNK, REV)
            m = dmask & (d * 0 + t < L)
            Bw, Cw = Bw_n, Cw_n
            if i > 0:
                Bw_n, Cw_n = load_words(Bm_ptr, Cm_ptr,
                                        clamped(position(c, k * T + i - 1, CHUNK, REV), L), sB_t,
                                        B_cols, sC_t, C_cols, wvalid, OUTPUT, PACK)
            Ct = unpack_states(Cw, Cm_ptr.dtype.element_ty, PACK)
            if OUTPUT:
                dt = dts[i]
                dy = dys[i]
            else:
                dt, _ = delta_from_raw(raws[i].to(tl.float32), bias, m, HAS_BIAS, SOFTPLUS)
                dy, _ = gate_grad(outs[i], zs[i], m, SCALE, HAS_Z)
                dsum += dt_next
            g = tl.exp2(dt_next[None, None, :] * A2) * g + Ct[:, :, None] * dy[None, None, :]
            if OUTPUT:
                u = us[i].to(tl.float32)
                Bt = unpack_states(Bw, Bm_ptr.dtype.element_ty, PACK)[:, :, None]
                gx = g * hps[i]
                dA += gx * dt[None, None, :]
                gB = tl.sum(tl.sum(g * Bt, axis=1), axis=0)
                ddt = u * gB + tl.sum(tl.sum(gx * A2, axis=1), axis=0) * LN2
                if SOFTPLUS:
                    raw = raws[i].to(tl.float32)
                    if HAS_BIAS:
                        raw += bias
                    ddt *= tl.sigmoid(raw)
                ddt = tl.where(m, ddt, 0.0)
                tl.store(du_ptr + du_rows + t * sdu_t,
                         (dt * gB + Dv * dy).to(du_ptr.dtype.element_ty), mask=m)
                tl.store(ddt_ptr + ddt_rows + t * sddt_t, ddt.to(ddt_ptr.dtype.element_ty),
                         mask=m)
                add_channel_sums(dB_ptr, g * (dt * u)[None, None, :], t, L, NSTATE)
                dbias += ddt
            dt_next = dt
    if OUTPUT:
        tl.atomic_add(dA_ptr + n * sA_n + d[None, None, :], dA, mask=pmask,
                      sem='relaxed')
        if HAS_D:
            tl.atomic_add(dD_ptr + d, dD, mask=dmask, sem='relaxed')
        if HAS_BIAS:
            tl.atomic_add(dbias_ptr + d, dbias, mask=dmask, sem='relaxed')
    else:
        tl.store(end_ptr + state_offsets(b, c, NC, n, d[None, None, :], sA_n, NP), g, mask=pmask)
        tl.store(sum_ptr + (b * NC + c) * DIM + d, dsum, mask=dmask)


# Not specialised, as in the forward kernel: sA_n and the channel strides.
@triton.jit(do_not_specialize=['sA_n', 'sdz_d', 'so_d', 'sz_d', 'su_df', 'sdt_df', 'sdu_df',
                               'sddt_df', 'su_db', 'sdt_db', 'sdu_db', 'sddt_db'])
def scan_backward_kernel(dz_ptr, dout_ptr, z_ptr, sdz_b, sdz_d, sdz_t, so_b, so_d, so_t,
                         sz_b, sz_d, sz_t,
                         u_f, dt_f, A_f, B_f, C_f, D_f, bias_f, end_f, sum_f, state_f,
                         du_f, ddt_f, dA_f, dB_f, dC_f, dD_f, dbias_f,
                         su_bf, su_df, su_tf, sdt_bf, sdt_df, sdt_tf,
                         sB_bf, sB_nf, sB_tf, sC_bf, sC_nf, sC_tf,
                         sdu_bf, sdu_df, sdu_tf, sddt_bf, sddt_df, sddt_tf,
                         u_b, dt_b, A_b, B_b, C_b, D_b, bias_b, end_b, sum_b, state_b,
                         du_b, ddt_b, dA_b, dB_b, dC_b, dD_b, dbias_b,
                         su_bb, su_db, su_tb, sdt_bb, sdt_db, sdt_tb,
                         sB_bb, sB_nb, sB_tb, sC_bb, sC_nb, sC_tb,
                         sdu_bb, sdu_db, sdu_tb, sddt_bb, sddt_db, sddt_tb,
                         L, DIM, NSTATE: tl.constexpr, NC, CHUNK, TPC, NT, SCALE, sA_n,
                         OUTPUT: tl.constexpr, HAS_F: tl.constexpr, HAS_B: tl.constexpr,
                         HAS_Z: tl.constexpr, HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr,
                         SOFTPLUS: tl.constexpr, BD: tl.constexpr, NP: tl.constexpr,
                         T: tl.constexpr, PACK_F: tl.constexpr, PACK_B: tl.constexpr):
    """Stage 1 (chunk adjoints) or stage 2 (gradients) for the directions present.

    ``state_*`` (batch, ceil(L / T), NP, dim) are the forward kernel's saved tile states; dA, dB,
    dC, dD, d(delta_bias) must be zeroed float32 buffers (atomic sums); ``s<name>_<axis><slot>``
    are element strides of the (batch, dim or dstate, length) tensors; ``PACK_*`` as in the
    forward kernel.
    """
    n_dblk = tl.cdiv(DIM, BD)
    b = (tl.program_id(0) // n_dblk).to(tl.int64)
    d = (tl.program_id(0) % n_dblk) * BD + tl.arange(0, BD)
    dmask = d < DIM
    c = tl.program_id(1)
    c_f = c             # stage 1 (NC - 1 programs per row) skips the forward direction's chunk 0
    if not OUTPUT:
        c_f += 1
    z_ptr += b * sz_b                                   # int32 offsets within the entry
    dout_ptr += b * so_b
    dz_ptr += b * sdz_b
    z_rows = d * sz_d
    o_rows = d * so_d
    dz_rows = d * sdz_d
    if HAS_F:
        _backward_direction(u_f, dt_f, A_f, B_f, C_f, D_f, bias_f, end_f, sum_f, state_f, du_f,
                            ddt_f, dA_f, dB_f, dC_f, dD_f, dbias_f, su_bf, su_df, su_tf, sdt_bf,
                            sdt_df, sdt_tf, sB_bf, sB_nf, sB_tf, sC_bf, sC_nf, sC_tf, sdu_bf,
                            sdu_df, sdu_tf, sddt_bf, sddt_df, sddt_tf, z_ptr, dout_ptr, dz_ptr,
                            z_rows, sz_t, o_rows, so_t, dz_rows, sdz_t, b, c_f, d, dmask, L, DIM,
                            NSTATE, NC, CHUNK, TPC, NT, SCALE, sA_n, False, OUTPUT, False,
                            not HAS_B, HAS_Z, HAS_D, HAS_BIAS, SOFTPLUS, NP, T, PACK_F)
    if HAS_F and HAS_B and OUTPUT and HAS_Z:
        tl.debug_barrier()  # the partial y_f stored in dz above is read back
    if HAS_B:
        _backward_direction(u_b, dt_b, A_b, B_b, C_b, D_b, bias_b, end_b, sum_b, state_b, du_b,
                            ddt_b, dA_b, dB_b, dC_b, dD_b, dbias_b, su_bb, su_db, su_tb, sdt_bb,
                            sdt_db, sdt_tb, sB_bb, sB_nb, sB_tb, sC_bb, sC_nb, sC_tb, sdu_bb,
                            sdu_db, sdu_tb, sddt_bb, sddt_db, sddt_tb, z_ptr, dout_ptr, dz_ptr,
                            z_rows, sz_t, o_rows, so_t, dz_rows, sdz_t, b, c, d, dmask, L, DIM,
                            NSTATE, NC, CHUNK, TPC, NT, SCALE, sA_n, True, OUTPUT, HAS_F, True,
                            HAS_Z, HAS_D, HAS_BIAS, SOFTPLUS, NP, T, PACK_B)
