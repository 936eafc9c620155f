"""Triton backward kernel of the selective scan, one or both directions in one launch.

With decay a_t = exp(delta_t A), input x_t = delta_t B_t u_t and state h_t = a_t h_{t-1} + x_t
(t in the direction's order), the adjoint g_t = C_t dy_t + a_{t+1} g_{t+1} runs the other way.
Gradients: du = delta sum_n(g B) + D dy; d(delta) = u sum_n(g B) + sum_n(g (h - x) A), times
sigmoid(raw delta) after softplus; dA = sum g (h - x) delta; dB = sum_d g delta u;
dC = sum_d h dy; dD = sum dy u; d(delta_bias) = sum d(delta); dy = dout silu(z) SCALE.

Grid (batch * ceil(dim / BD), NC), as in the forward kernel. Each program walks its chunk's
tiles last to first (in the direction's order): it rescans the tile's states from the state the
forward kernel saved at the tile's start, runs the adjoint as a reverse scan from the carried
g, and forms every gradient; nothing of size (batch, dim, dstate, length) is stored. With
NC > 1 a first launch (``OUTPUT=False``) writes each chunk's local adjoint at its first position
and the sum of the delta values linking it to the next chunk. dB and dC are summed over channel
blocks, dA, dD and d(delta_bias) over batch and chunks, with float32 atomics.

For two directions the forward one runs first and stores its y_f + D u into dz; the reverse one
adds its own and writes dz = dout * y * silu'(z) * SCALE.
"""
import triton
import triton.language as tl

from .triton_common import (LOG2E, affine_combine, fold_chunks, load_delta, load_rows,
                            reverse_affine_scan, tile_index, tile_positions)


@triton.jit
def _backward_direction(u_ptr, dt_ptr, A_ptr, Bm_ptr, Cm_ptr, D_ptr, bias_ptr, end_ptr, sum_ptr,
                        state_ptr, du_ptr, ddt_ptr, dA_ptr, dB_ptr, dC_ptr, dD_ptr, dbias_ptr,
                        z_ptr, dout_ptr, dz_ptr, b, c, d, dmask, L, DIM, NSTATE, NC, CHUNK, TPC,
                        NT, SCALE, REV: tl.constexpr, OUTPUT: tl.constexpr, ACCUM: tl.constexpr,
                        FINAL: tl.constexpr, HAS_Z: tl.constexpr, HAS_D: tl.constexpr,
                        HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, NP: tl.constexpr,
                        T: tl.constexpr):
    """Adjoint and gradients of one direction over chunk ``c`` for channels ``d`` of batch ``b``."""
    n = tl.arange(0, NP)
    nmask = n < NSTATE
    row = b * DIM + d
    nrow = b * NSTATE + n
    pmask = dmask[:, None] & nmask[None, :]
    A = tl.load(A_ptr + d[:, None] * NSTATE + n[None, :], mask=pmask, other=0.0)
    A2 = A * LOG2E
    bias = tl.load(bias_ptr + d, mask=dmask & HAS_BIAS, other=0.0)
    Dv = tl.load(D_ptr + d, mask=dmask & HAS_D, other=0.0)
    if OUTPUT:
        g = fold_chunks(end_ptr, sum_ptr, row, dmask, n, nmask, A2, c, NC, NP, REV)
    else:
        g = tl.zeros([d.shape[0], NP], dtype=tl.float32)
    dA = tl.zeros([d.shape[0], NP], dtype=tl.float32)
    dD = tl.zeros([d.shape[0]], dtype=tl.float32)
    dbias = tl.zeros([d.shape[0]], dtype=tl.float32)
    dsum = tl.zeros([d.shape[0]], dtype=tl.float32)
    first = (tl.arange(0, T) == 0)[:, None, None]
    for kk in range(TPC):
        k = TPC - 1 - kk
        t = tile_positions(c, k, CHUNK, T, REV)
        tmask = t < L
        mask = tmask[:, None] & dmask[None, :]
        offs = row[None, :] * L + t[:, None]
        # the adjoint links t to the next position in the direction's order, through its decay
        tn = t - 1 if REV else t + 1
        dt_next, _ = load_delta(dt_ptr, row, dmask, tn, (tn >= 0) & (tn < L), L, bias, HAS_BIAS,
                                SOFTPLUS)
        dout = load_rows(dout_ptr, row, dmask, t, L, tmask)
        if HAS_Z:
            zt = load_rows(z_ptr, row, dmask, t, L, tmask)
            zsig = tl.sigmoid(zt)
            dy = dout * zt * zsig * SCALE
        else:
            dy = dout * SCALE
        Ct = load_rows(Cm_ptr, nrow, nmask, t, L, tmask)
        p, s = reverse_affine_scan(tl.exp2(dt_next[:, :, None] * A2[None, :, :]),
                                   Ct[:, None, :] * dy[:, :, None])
        gs = s + p * g[None, :, :]                          # (T, BD, NP) adjoint
        g = tl.sum(tl.where(first, gs, 0.0), axis=0)
        if OUTPUT:
            u = load_rows(u_ptr, row, dmask, t, L, tmask)
            dt, raw = load_delta(dt_ptr, row, dmask, t, tmask, L, bias, HAS_BIAS, SOFTPLUS)
            Bt = load_rows(Bm_ptr, nrow, nmask, t, L, tmask)
            # a tile wholly past the end (chunk padding) reads the last saved state: harmless,
            # as its dt, u, dy are zero and its outputs masked
            j = tl.minimum(tile_index(c, k, TPC, REV), NT - 1)
            h0 = tl.load(state_ptr + (row[:, None] * NT + j) * NP + n[None, :], mask=pmask,
                         other=0.0)
            a = tl.exp2(dt[:, :, None] * A2[None, :, :])
            x = (dt * u)[:, :, None] * Bt[:, None, :]
            a, hs = tl.associative_scan((a, x), 0, affine_combine)
            hs += a * h0[None, :, :]                        # (T, BD, NP) states
            gx = gs * (hs - x)                              # g_t a_t h_{t-1}
            gB = tl.sum(gs * Bt[:, None, :], axis=2)        # (T, BD)
            ddt = u * gB + tl.sum(gx * A[None, :, :], axis=2)
            if SOFTPLUS:
                ddt *= tl.sigmoid(raw)
            ddt = tl.where(mask, ddt, 0.0)
            du = dt * gB + Dv[None, :] * dy
            tl.store(du_ptr + offs, du.to(du_ptr.dtype.element_ty), mask=mask)
            tl.store(ddt_ptr + offs, ddt.to(ddt_ptr.dtype.element_ty), mask=mask)
            dA += tl.sum(gx * dt[:, :, None], axis=0)
            dD += tl.sum(dy * u, axis=0)
            dbias += tl.sum(ddt, axis=0)
            nt_offs = nrow[None, :] * L + t[:, None]
            nt_mask = tmask[:, None] & nmask[None, :]
            tl.atomic_add(dB_ptr + nt_offs, tl.sum(gs * (dt * u)[:, :, None], axis=1),
                          mask=nt_mask, sem='relaxed')
            tl.atomic_add(dC_ptr + nt_offs, tl.sum(hs * dy[:, :, None], axis=1), mask=nt_mask,
                          sem='relaxed')
            if HAS_Z:
                y = tl.sum(hs * Ct[:, None, :], axis=2) + Dv[None, :] * u
                if ACCUM:
                    y += tl.load(dz_ptr + offs, mask=mask, other=0.0).to(tl.float32)
                if FINAL:
                    y = dout * y * zsig * (1.0 + zt * (1.0 - zsig)) * SCALE
                tl.store(dz_ptr + offs, y.to(dz_ptr.dtype.element_ty), mask=mask)
        else:
            dsum += tl.sum(dt_next, axis=0)
    if OUTPUT:
        tl.atomic_add(dA_ptr + d[:, None] * NSTATE + n[None, :], dA, mask=pmask, sem='relaxed')
        if HAS_D:
            tl.atomic_add(dD_ptr + d, dD, mask=dmask, sem='relaxed')
        if HAS_BIAS:
            tl.atomic_add(dbias_ptr + d, dbias, mask=dmask, sem='relaxed')
    else:
        tl.store(end_ptr + (row[:, None] * NC + c) * NP + n[None, :], g, mask=pmask)
        tl.store(sum_ptr + row * NC + c, dsum, mask=dmask)


@triton.jit
def scan_backward_kernel(dz_ptr, dout_ptr, z_ptr,
                         u_f, dt_f, A_f, B_f, C_f, D_f, bias_f, end_f, sum_f, state_f,
                         du_f, ddt_f, dA_f, dB_f, dC_f, dD_f, dbias_f,
                         u_b, dt_b, A_b, B_b, C_b, D_b, bias_b, end_b, sum_b, state_b,
                         du_b, ddt_b, dA_b, dB_b, dC_b, dD_b, dbias_b,
                         L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE,
                         OUTPUT: tl.constexpr, HAS_F: tl.constexpr, HAS_B: tl.constexpr,
                         HAS_Z: tl.constexpr, HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr,
                         SOFTPLUS: tl.constexpr, BD: tl.constexpr, NP: tl.constexpr,
                         T: tl.constexpr):
    """Stage 1 (chunk adjoints) or stage 2 (gradients) for the directions present.

    ``state_*`` (batch * dim, ceil(L / T), NP) are the forward kernel's saved tile states; dA, dB,
    dC, dD, d(delta_bias) must be zeroed float32 buffers (atomic sums).
    """
    n_dblk = tl.cdiv(DIM, BD)
    b = (tl.program_id(0) // n_dblk).to(tl.int64)
    d = (tl.program_id(0) % n_dblk) * BD + tl.arange(0, BD)
    dmask = d < DIM
    c = tl.program_id(1)
    if HAS_F:
        _backward_direction(u_f, dt_f, A_f, B_f, C_f, D_f, bias_f, end_f, sum_f, state_f, du_f,
                            ddt_f, dA_f, dB_f, dC_f, dD_f, dbias_f, z_ptr, dout_ptr, dz_ptr, b, c,
                            d, dmask, L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE, False, OUTPUT,
                            False, not HAS_B, HAS_Z, HAS_D, HAS_BIAS, SOFTPLUS, NP, T)
    if HAS_F and HAS_B and OUTPUT and HAS_Z:
        tl.debug_barrier()  # the partial y_f stored in dz above is read back by other threads
    if HAS_B:
        _backward_direction(u_b, dt_b, A_b, B_b, C_b, D_b, bias_b, end_b, sum_b, state_b, du_b,
                            ddt_b, dA_b, dB_b, dC_b, dD_b, dbias_b, z_ptr, dout_ptr, dz_ptr, b, c,
                            d, dmask, L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE, True, OUTPUT,
                            HAS_F, True, HAS_Z, HAS_D, HAS_BIAS, SOFTPLUS, NP, T)
