"""Triton forward kernel of the selective scan, one or both directions in one launch.

Grid (batch * ceil(dim / BD), NC): one program per (batch, channel block, chunk of CHUNK
positions). With NC > 1 it runs twice:

1. ``OUTPUT=False``: each chunk's local end state (scan from a zero state) and the sum of its
   delta values, whose exp(A * sum) is the chunk's total decay;
2. ``OUTPUT=True``: each program folds the earlier chunks' results into its true initial state
   (earlier in the direction's order), rescans its chunk and writes y.

With NC == 1 only stage 2 runs. For two directions a program first scans forward and writes
y_f + D u into y, then scans backward, adds that partial and writes the gated, scaled sum: each
input is read once, in its original order. ``SAVE`` stores the state entering every tile of T
positions, (batch * dim, ceil(L / T), NP) float32, for the backward kernel.
"""
import triton
import triton.language as tl

from .triton_common import (LOG2E, affine_combine, fold_chunks, load_delta, load_rows,
                            tile_index, tile_positions)


@triton.jit
def _forward_direction(u_ptr, dt_ptr, A_ptr, Bm_ptr, Cm_ptr, D_ptr, bias_ptr, end_ptr, sum_ptr,
                       state_ptr, z_ptr, y_ptr, b, c, d, dmask, L, DIM, NSTATE, NC, CHUNK, TPC,
                       NT, SCALE, REV: tl.constexpr, OUTPUT: tl.constexpr, ACCUM: tl.constexpr,
                       FINAL: tl.constexpr, HAS_Z: tl.constexpr, HAS_D: tl.constexpr,
                       HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, SAVE: tl.constexpr,
                       NP: tl.constexpr, T: tl.constexpr):
    """Scan one direction over chunk ``c`` for channels ``d`` (BD,) of batch ``b``."""
    n = tl.arange(0, NP)
    nmask = n < NSTATE
    row = b * DIM + d                                   # (BD,) int64 rows of u, delta, z, y
    nrow = b * NSTATE + n                               # (NP,) rows of B, C
    pmask = dmask[:, None] & nmask[None, :]
    A2 = tl.load(A_ptr + d[:, None] * NSTATE + n[None, :], mask=pmask, other=0.0) * LOG2E
    bias = tl.load(bias_ptr + d, mask=dmask & HAS_BIAS, other=0.0)
    if OUTPUT:
        h = fold_chunks(end_ptr, sum_ptr, row, dmask, n, nmask, A2, c, NC, NP, not REV)
    else:
        h = tl.zeros([d.shape[0], NP], dtype=tl.float32)
    dsum = tl.zeros([d.shape[0]], dtype=tl.float32)
    last = (tl.arange(0, T) == T - 1)[:, None, None]
    for k in range(TPC):
        t = tile_positions(c, k, CHUNK, T, REV)
        tmask = t < L
        j = tile_index(c, k, TPC, REV)
        if SAVE and OUTPUT and j < NT:
            tl.store(state_ptr + (row[:, None] * NT + j) * NP + n[None, :], h, mask=pmask)
        u = load_rows(u_ptr, row, dmask, t, L, tmask)
        dt, _ = load_delta(dt_ptr, row, dmask, t, tmask, L, bias, HAS_BIAS, SOFTPLUS)
        Bt = load_rows(Bm_ptr, nrow, nmask, t, L, tmask)
        a = tl.exp2(dt[:, :, None] * A2[None, :, :])        # (T, BD, NP) decays
        x = (dt * u)[:, :, None] * Bt[:, None, :]           # (T, BD, NP) inputs
        a, x = tl.associative_scan((a, x), 0, affine_combine)
        hs = x + a * h[None, :, :]                          # states, from the carried one
        h = tl.sum(tl.where(last, hs, 0.0), axis=0)         # out-of-range lanes keep the state
        if OUTPUT:
            Ct = load_rows(Cm_ptr, nrow, nmask, t, L, tmask)
            y = tl.sum(hs * Ct[:, None, :], axis=2)
            if HAS_D:
                y += tl.load(D_ptr + d, mask=dmask, other=0.0)[None, :] * u
            offs = row[None, :] * L + t[:, None]
            mask = tmask[:, None] & dmask[None, :]
            if ACCUM:
                y += tl.load(y_ptr + offs, mask=mask, other=0.0).to(tl.float32)
            if FINAL:
                if HAS_Z:
                    zt = load_rows(z_ptr, row, dmask, t, L, tmask)
                    y *= zt * tl.sigmoid(zt)
                y *= SCALE
            tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=mask)
        else:
            dsum += tl.sum(dt, axis=0)
    if not OUTPUT:
        tl.store(end_ptr + (row[:, None] * NC + c) * NP + n[None, :], h, mask=pmask)
        tl.store(sum_ptr + row * NC + c, dsum, mask=dmask)


@triton.jit
def scan_forward_kernel(y_ptr, z_ptr,
                        u_f, dt_f, A_f, B_f, C_f, D_f, bias_f, end_f, sum_f, state_f,
                        u_b, dt_b, A_b, B_b, C_b, D_b, bias_b, end_b, sum_b, state_b,
                        L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE,
                        OUTPUT: tl.constexpr, HAS_F: tl.constexpr, HAS_B: tl.constexpr,
                        HAS_Z: tl.constexpr, HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr,
                        SOFTPLUS: tl.constexpr, SAVE: tl.constexpr, BD: tl.constexpr,
                        NP: tl.constexpr, T: tl.constexpr):
    """Stage 1 (chunk end states) or stage 2 (outputs) for the directions present.

    ``*_f`` feed the forward recurrence, ``*_b`` the reverse one; y = (y_f + y_b) * silu(z) * SCALE.
    ``end_*`` (batch * dim, NC, NP) and ``sum_*`` (batch * dim, NC) float32 link the chunks.
    """
    n_dblk = tl.cdiv(DIM, BD)
    b = (tl.program_id(0) // n_dblk).to(tl.int64)
    d = (tl.program_id(0) % n_dblk) * BD + tl.arange(0, BD)
    dmask = d < DIM
    c = tl.program_id(1)
    if HAS_F:
        _forward_direction(u_f, dt_f, A_f, B_f, C_f, D_f, bias_f, end_f, sum_f, state_f, z_ptr,
                           y_ptr, b, c, d, dmask, L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE,
                           False, OUTPUT, False, not HAS_B, HAS_Z, HAS_D, HAS_BIAS, SOFTPLUS,
                           SAVE, NP, T)
    if HAS_F and HAS_B and OUTPUT:
        tl.debug_barrier()  # the partial y_f written above is read back by other threads
    if HAS_B:
        _forward_direction(u_b, dt_b, A_b, B_b, C_b, D_b, bias_b, end_b, sum_b, state_b, z_ptr,
                           y_ptr, b, c, d, dmask, L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE,
                           True, OUTPUT, HAS_F, True, HAS_Z, HAS_D, HAS_BIAS, SOFTPLUS, SAVE,
                           NP, T)
