"""Triton forward kernel of the selective scan, one or both directions in one launch.

Grid (batch * ceil(dim / BD), NC): one program per (batch, channel block, chunk of CHUNK
positions); one channel per lane (see triton_common). With NC > 1 it runs twice, around
triton_chunk_carry's kernel:

1. ``OUTPUT=False``, grid (.., NC - 1): each chunk's local end state (scan from a zero state)
   and the sum of its delta values, whose exp(A * sum) is the chunk's total decay; a direction's
   last chunk (NC - 1 forward, 0 reverse) is skipped: no chunk folds it; the carry kernel then
   turns the end states into the states entering the chunks;
2. ``OUTPUT=True``: each program loads its chunk's entering state, rescans the chunk and
   writes y.

With NC == 1 only stage 2 runs. For two directions a program first scans forward and writes
y_f + D u into y, then scans backward, adds that partial and writes the gated, scaled sum: each
input is read once, in its original order. ``SAVE`` stores the state entering every tile of T
positions, (batch, ceil(L / T), NP, dim) in the buffer's dtype (bfloat16 for bfloat16 inputs:
see triton_interface._state_buffer), for the backward kernel.

The scan steps one position at a time, ``h = exp(delta A) h + delta B u`` on the thread's
(NP, channels) state, with the next position's inputs loaded before the current one is used:
stores sit between the steps and the compiler does not move loads across them, so without
that every step waited for its loads (forward at (8, 768, 1024) 0.717 ms against 0.460 on an
H100: docs/kernel_notes.md, section 5).
"""
import triton
import triton.language as tl

from .triton_common import (clamped, delta_from_raw, entering_state, load_state_words,
                            position, state_layout, state_offsets, tile_index, unpack_states)


@triton.jit
def load_step(t, L, dmask, u_ptr, u_rows, su_t, dt_ptr, dt_rows, sdt_t, Bm_ptr, sB_t, B_cols,
              Cm_ptr, sC_t, C_cols, wvalid, y_ptr, y_rows, sy_t, z_ptr, z_rows, sz_t,
              OUTPUT: tl.constexpr, ACCUM: tl.constexpr, LOAD_Z: tl.constexpr,
              PACK: tl.constexpr):
    """The raw inputs of one step at position ``t`` clamped into [0, L) (always valid): u,
    delta, B and C words, the partial y of the other direction, z (unneeded ones repeat u)."""
    tc = clamped(t, L)
    u = tl.load(u_ptr + u_rows + tc * su_t, mask=dmask, other=0.0)
    raw = tl.load(dt_ptr + dt_rows + tc * sdt_t, mask=dmask, other=0.0)
    Bw = load_state_words(Bm_ptr, tc * sB_t, B_cols, wvalid, PACK)
    Cw = Bw
    yp = u
    z = u
    if OUTPUT:
        Cw = load_state_words(Cm_ptr, tc * sC_t, C_cols, wvalid, PACK)
        if ACCUM:
            yp = tl.load(y_ptr + y_rows + tc * sy_t, mask=dmask, other=0.0)
        if LOAD_Z:
            z = tl.load(z_ptr + z_rows + tc * sz_t, mask=dmask, other=0.0)
    return u, raw, Bw, Cw, yp, z


@triton.jit
def _forward_direction(u_ptr, dt_ptr, A_ptr, Bm_ptr, Cm_ptr, D_ptr, bias_ptr, end_ptr, sum_ptr,
                       state_ptr, su_b, su_d, su_t, sdt_b, sdt_d, sdt_t, sB_b, sB_n, sB_t, sC_b,
                       sC_n, sC_t, z_ptr, sz_b, sz_d, sz_t, y_ptr, sy_b, sy_d, sy_t, b, c, d,
                       dmask, L, DIM, NSTATE: tl.constexpr, NC, CHUNK, TPC, NT, SCALE, sA_n,
                       REV: tl.constexpr, OUTPUT: tl.constexpr, ACCUM: tl.constexpr,
                       FINAL: tl.constexpr, HAS_Z: tl.constexpr, HAS_D: tl.constexpr,
                       HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, SAVE: tl.constexpr,
                       NP: tl.constexpr, T: tl.constexpr, PACK: tl.constexpr):
    """Scan one direction over chunk ``c`` for channels ``d`` (BD,) of batch ``b``.

    The state is a (NP // PACK, PACK, BD) block, state n at [n // PACK, n % PACK], each thread
    holding all states of its channels. Steps run one position at a time; each step's inputs
    are loaded one step ahead, before the previous step's store (which the compiler cannot
    move loads across), so that load latency overlaps the scan.
    """
    n, pmask, A2, wvalid, B_cols, C_cols = state_layout(A_ptr, d, dmask, NSTATE, sA_n, sB_n,
                                                        sC_n, NP, PACK)
    bias = tl.load(bias_ptr + d, mask=dmask & HAS_BIAS, other=0.0)
    Dv = tl.load(D_ptr + d, mask=dmask & HAS_D, other=0.0)
    # batch entry b's offsets go into the pointers: per-channel offsets fit in int32
    u_ptr += b * su_b
    dt_ptr += b * sdt_b
    y_ptr += b * sy_b
    z_ptr += b * sz_b
    Bm_ptr += b * sB_b
    Cm_ptr += b * sC_b
    u_rows = d * su_d                                   # (BD,) offsets at t = 0
    dt_rows = d * sdt_d
    y_rows = d * sy_d
    z_rows = d * sz_d
    if OUTPUT:
        h = entering_state(end_ptr, b, d, n, pmask, c, NC, sA_n, NP, not REV)
    else:
        h = tl.zeros(A2.shape, dtype=tl.float32)
    dsum = tl.zeros([d.shape[0]], dtype=tl.float32)
    LOAD_Z: tl.constexpr = FINAL and HAS_Z
    u_n, raw_n, Bw_n, Cw_n, yp_n, z_n = load_step(
        position(c, 0, CHUNK, REV), L, dmask, u_ptr, u_rows, su_t, dt_ptr, dt_rows, sdt_t,
        Bm_ptr, sB_t, B_cols, Cm_ptr, sC_t, C_cols, wvalid, y_ptr, y_rows, sy_t, z_ptr, z_rows,
        sz_t, OUTPUT, ACCUM, LOAD_Z, PACK)
    for k in range(TPC):
        j = tile_index(c, k, TPC, REV)
        if SAVE and OUTPUT and j < NT:
            tl.store(state_ptr + state_offsets(b, j, NT, n, d, sA_n, NP),
                     h.to(state_ptr.dtype.element_ty), mask=pmask)
        for i in tl.static_range(T):
            t = position(c, k * T + i, CHUNK, REV)
            u, raw, Bw, Cw, yp, zt = u_n, raw_n, Bw_n, Cw_n, yp_n, z_n
            u_n, raw_n, Bw_n, Cw_n, yp_n, z_n = load_step(
                position(c, k * T + i + 1, CHUNK, REV), L, dmask, u_ptr, u_rows, su_t, dt_ptr,
                dt_rows, sdt_t, Bm_ptr, sB_t, B_cols, Cm_ptr, sC_t, C_cols, wvalid, y_ptr, y_rows,
                sy_t, z_ptr, z_rows, sz_t, OUTPUT, ACCUM, LOAD_Z, PACK)
            # past the end delta is 0 (the state is unchanged) and nothing is stored. (t < L
            # as a vector: the interpreter mis-types a tensor mask & a scalar one.)
            m = dmask & (d * 0 + t < L)
            u = u.to(tl.float32)
            dt, _ = delta_from_raw(raw.to(tl.float32), bias, m, HAS_BIAS, SOFTPLUS)
            Bt = unpack_states(Bw, Bm_ptr.dtype.element_ty, PACK)
            a = tl.exp2(dt[None, None, :] * A2)                 # (NW, PACK, BD) decays
            h = a * h + Bt[:, :, None] * (dt * u)[None, None, :]
            if OUTPUT:
                Ct = unpack_states(Cw, Cm_ptr.dtype.element_ty, PACK)
                y = tl.sum(tl.sum(h * Ct[:, :, None], axis=1), axis=0)   # (BD,), in-thread
                if HAS_D:
                    y += Dv * u
                if ACCUM:
                    y += yp.to(tl.float32)
                if FINAL:
                    if HAS_Z:
                        zt = zt.to(tl.float32)
                        y *= zt * tl.sigmoid(zt)
                    y *= SCALE
                tl.store(y_ptr + y_rows + t * sy_t, y.to(y_ptr.dtype.element_ty), mask=m)
            else:
                dsum += dt
    if not OUTPUT:
        tl.store(end_ptr + state_offsets(b, c, NC, n, d, sA_n, NP),
                 h.to(end_ptr.dtype.element_ty), mask=pmask)
        tl.store(sum_ptr + (b * NC + c) * DIM + d, dsum, mask=dmask)


# Not specialised: sA_n (see triton_common.state_layout) and the channel strides, so that
# Triton never vectorises loads across channels: each thread's channels then stay where the
# state has them.
@triton.jit(do_not_specialize=['sA_n', 'sy_d', 'sz_d', 'su_df', 'sdt_df', 'su_db', 'sdt_db'])
def scan_forward_kernel(y_ptr, z_ptr, sy_b, sy_d, sy_t, sz_b, sz_d, sz_t,
                        u_f, dt_f, A_f, B_f, C_f, D_f, bias_f, end_f, sum_f, state_f,
                        su_bf, su_df, su_tf, sdt_bf, sdt_df, sdt_tf,
                        sB_bf, sB_nf, sB_tf, sC_bf, sC_nf, sC_tf,
                        u_b, dt_b, A_b, B_b, C_b, D_b, bias_b, end_b, sum_b, state_b,
                        su_bb, su_db, su_tb, sdt_bb, sdt_db, sdt_tb,
                        sB_bb, sB_nb, sB_tb, sC_bb, sC_nb, sC_tb,
                        L, DIM, NSTATE: tl.constexpr, NC, CHUNK, TPC, NT, SCALE, sA_n,
                        OUTPUT: tl.constexpr, HAS_F: tl.constexpr, HAS_B: tl.constexpr,
                        HAS_Z: tl.constexpr, HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr,
                        SOFTPLUS: tl.constexpr, SAVE: tl.constexpr, BD: tl.constexpr,
                        NP: tl.constexpr, T: tl.constexpr, PACK_F: tl.constexpr,
                        PACK_B: tl.constexpr):
    """Stage 1 (chunk end states) or stage 2 (outputs) for the directions present.

    ``*_f`` feed the forward recurrence, ``*_b`` the reverse one;
    y = (y_f + y_b) * silu(z) * SCALE.
    ``s<name>_<axis><slot>`` are element strides. ``end_*`` (batch, NC, NP, dim; float32, or
    bfloat16 for bfloat16 inputs) and ``sum_*`` (batch, NC, dim; float32) link the chunks.
    """
    n_dblk = tl.cdiv(DIM, BD)
    b = (tl.program_id(0) // n_dblk).to(tl.int64)
    d = (tl.program_id(0) % n_dblk) * BD + tl.arange(0, BD)
    dmask = d < DIM
    c = tl.program_id(1)
    c_b = c             # stage 1 (NC - 1 programs per row) skips the reverse direction's chunk 0
    if not OUTPUT:
        c_b += 1
    if HAS_F:
        _forward_direction(u_f, dt_f, A_f, B_f, C_f, D_f, bias_f, end_f, sum_f, state_f,
                           su_bf, su_df, su_tf, sdt_bf, sdt_df, sdt_tf, sB_bf, sB_nf, sB_tf,
                           sC_bf, sC_nf, sC_tf, z_ptr, sz_b, sz_d, sz_t, y_ptr, sy_b, sy_d, sy_t,
                           b, c, d, dmask, L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE, sA_n,
                           False, OUTPUT, False, not HAS_B, HAS_Z, HAS_D, HAS_BIAS, SOFTPLUS,
                           SAVE, NP, T, PACK_F)
    if HAS_F and HAS_B and OUTPUT:
        tl.debug_barrier()  # the partial y_f written above is read back, maybe by other threads
    if HAS_B:
        _forward_direction(u_b, dt_b, A_b, B_b, C_b, D_b, bias_b, end_b, sum_b, state_b,
                           su_bb, su_db, su_tb, sdt_bb, sdt_db, sdt_tb, sB_bb, sB_nb, sB_tb,
                           sC_bb, sC_nb, sC_tb, z_ptr, sz_b, sz_d, sz_t, y_ptr, sy_b, sy_d, sy_t,
                           b, c_b, d, dmask, L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE, sA_n,
                           True, OUTPUT, HAS_F, True, HAS_Z, HAS_D, HAS_BIAS, SOFTPLUS, SAVE,
                           NP, T, PACK_B)
