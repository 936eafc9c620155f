"""Triton forward kernel of the selective scan, one or both directions in one launch.

Grid (batch * ceil(dim / BD), NC): one program per (batch, channel block, chunk of CHUNK
positions); one channel per lane (see triton_common). With NC > 1 it runs twice:

1. ``OUTPUT=False``: each chunk's local end state (scan from a zero state) and the sum of its
   delta values, whose exp(A * sum) is the chunk's total decay;
2. ``OUTPUT=True``: each program folds the earlier chunks' results into its true initial state
   (earlier in the direction's order), rescans its chunk and writes y.

With NC == 1 only stage 2 runs. For two directions a program first scans forward and writes
y_f + D u into y, then scans backward, adds that partial and writes the gated, scaled sum: each
input is read once, in its original order. ``SAVE`` stores the state entering every tile of T
positions, (batch, ceil(L / T), NP, dim) float32, for the backward kernel.
"""
import triton
import triton.language as tl

from .triton_common import (LOG2E, affine_combine, fold_chunks, load_delta, load_tile,
                            state_offsets, tile_index, tile_positions)


@triton.jit
def _forward_direction(u_ptr, dt_ptr, A_ptr, Bm_ptr, Cm_ptr, D_ptr, bias_ptr, end_ptr, sum_ptr,
                       state_ptr, su_b, su_d, su_t, sdt_b, sdt_d, sdt_t, sB_b, sB_n, sB_t, sC_b,
                       sC_n, sC_t, z_ptr, sz_b, sz_d, sz_t, y_ptr, sy_b, sy_d, sy_t, b, c, d,
                       dmask, L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE, REV: tl.constexpr,
                       OUTPUT: tl.constexpr, ACCUM: tl.constexpr, FINAL: tl.constexpr,
                       HAS_Z: tl.constexpr, HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr,
                       SOFTPLUS: tl.constexpr, SAVE: tl.constexpr, NP: tl.constexpr,
                       T: tl.constexpr):
    """Scan one direction over chunk ``c`` for channels ``d`` (BD,) of batch ``b``."""
    n = tl.arange(0, NP)
    nmask = n < NSTATE
    pmask = nmask[:, None] & dmask[None, :]
    A2 = tl.load(A_ptr + d[None, :] * NSTATE + n[:, None], mask=pmask, other=0.0) * LOG2E
    bias = tl.load(bias_ptr + d, mask=dmask & HAS_BIAS, other=0.0)
    u_rows = b * su_b + d * su_d                        # (BD,) int64 offsets at t = 0
    dt_rows = b * sdt_b + d * sdt_d
    B_rows = b * sB_b + n * sB_n                        # (NP,)
    C_rows = b * sC_b + n * sC_n
    if OUTPUT:
        h = fold_chunks(end_ptr, sum_ptr, b, d, dmask, n, nmask, A2, c, NC, DIM, not REV)
    else:
        h = tl.zeros([NP, d.shape[0]], dtype=tl.float32)
    dsum = tl.zeros([d.shape[0]], dtype=tl.float32)
    last = (tl.arange(0, T) == T - 1)[:, None, None]
    for k in range(TPC):
        t = tile_positions(c, k, CHUNK, T, REV)
        tmask = t < L
        j = tile_index(c, k, TPC, REV)
        if SAVE and OUTPUT and j < NT:
            tl.store(state_ptr + state_offsets(b, j, NT, n, d, DIM), h, mask=pmask)
        u = load_tile(u_ptr, u_rows, dmask, t, su_t, tmask)
        dt, _ = load_delta(dt_ptr, dt_rows, dmask, t, sdt_t, tmask, bias, HAS_BIAS, SOFTPLUS)
        Bt = load_tile(Bm_ptr, B_rows, nmask, t, sB_t, tmask)           # (T, NP)
        a = tl.exp2(dt[:, None, :] * A2[None, :, :])        # (T, NP, BD) decays
        x = Bt[:, :, None] * (dt * u)[:, None, :]           # (T, NP, BD) inputs
        a, x = tl.associative_scan((a, x), 0, affine_combine)
        hs = x + a * h[None, :, :]                          # states, from the carried one
        h = tl.sum(tl.where(last, hs, 0.0), axis=0)         # out-of-range lanes keep the state
        if OUTPUT:
            Ct = load_tile(Cm_ptr, C_rows, nmask, t, sC_t, tmask)
            y = tl.sum(hs * Ct[:, :, None], axis=1)         # (T, BD), in-thread over N
            if HAS_D:
                y += tl.load(D_ptr + d, mask=dmask, other=0.0)[None, :] * u
            offs = (b * sy_b + d * sy_d)[None, :] + t[:, None] * sy_t
            mask = tmask[:, None] & dmask[None, :]
            if ACCUM:
                y += tl.load(y_ptr + offs, mask=mask, other=0.0).to(tl.float32)
            if FINAL:
                if HAS_Z:
                    zt = load_tile(z_ptr, b * sz_b + d * sz_d, dmask, t, sz_t, tmask)
                    y *= zt * tl.sigmoid(zt)
                y *= SCALE
            tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=mask)
        else:
            dsum += tl.sum(dt, axis=0)
    if not OUTPUT:
        tl.store(end_ptr + state_offsets(b, c, NC, n, d, DIM), h, mask=pmask)
        tl.store(sum_ptr + (b * NC + c) * DIM + d, dsum, mask=dmask)


@triton.jit
def scan_forward_kernel(y_ptr, z_ptr, sy_b, sy_d, sy_t, sz_b, sz_d, sz_t,
                        u_f, dt_f, A_f, B_f, C_f, D_f, bias_f, end_f, sum_f, state_f,
                        su_bf, su_df, su_tf, sdt_bf, sdt_df, sdt_tf,
                        sB_bf, sB_nf, sB_tf, sC_bf, sC_nf, sC_tf,
                        u_b, dt_b, A_b, B_b, C_b, D_b, bias_b, end_b, sum_b, state_b,
                        su_bb, su_db, su_tb, sdt_bb, sdt_db, sdt_tb,
                        sB_bb, sB_nb, sB_tb, sC_bb, sC_nb, sC_tb,
                        L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE,
                        OUTPUT: tl.constexpr, HAS_F: tl.constexpr, HAS_B: tl.constexpr,
                        HAS_Z: tl.constexpr, HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr,
                        SOFTPLUS: tl.constexpr, SAVE: tl.constexpr, BD: tl.constexpr,
                        NP: tl.constexpr, T: tl.constexpr):
    """Stage 1 (chunk end states) or stage 2 (outputs) for the directions present.

    ``*_f`` feed the forward recurrence, ``*_b`` the reverse one; y = (y_f + y_b) * silu(z) * SCALE.
    ``s<name>_<axis><slot>`` are element strides. ``end_*`` (batch, NC, NP, dim) and ``sum_*``
    (batch, NC, dim) float32 link the chunks.
    """
    n_dblk = tl.cdiv(DIM, BD)
    b = (tl.program_id(0) // n_dblk).to(tl.int64)
    d = (tl.program_id(0) % n_dblk) * BD + tl.arange(0, BD)
    dmask = d < DIM
    c = tl.program_id(1)
    if HAS_F:
        _forward_direction(u_f, dt_f, A_f, B_f, C_f, D_f, bias_f, end_f, sum_f, state_f,
                           su_bf, su_df, su_tf, sdt_bf, sdt_df, sdt_tf, sB_bf, sB_nf, sB_tf,
                           sC_bf, sC_nf, sC_tf, z_ptr, sz_b, sz_d, sz_t, y_ptr, sy_b, sy_d, sy_t,
                           b, c, d, dmask, L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE,
                           False, OUTPUT, False, not HAS_B, HAS_Z, HAS_D, HAS_BIAS, SOFTPLUS,
                           SAVE, NP, T)
    if HAS_F and HAS_B and OUTPUT:
        tl.debug_barrier()  # the partial y_f written above is read back, maybe by other threads
    if HAS_B:
        _forward_direction(u_b, dt_b, A_b, B_b, C_b, D_b, bias_b, end_b, sum_b, state_b,
                           su_bb, su_db, su_tb, sdt_bb, sdt_db, sdt_tb, sB_bb, sB_nb, sB_tb,
                           sC_bb, sC_nb, sC_tb, z_ptr, sz_b, sz_d, sz_t, y_ptr, sy_b, sy_d, sy_t,
                           b, c, d, dmask, L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE,
                           True, OUTPUT, HAS_F, True, HAS_Z, HAS_D, HAS_BIAS, SOFTPLUS, SAVE,
                           NP, T)
