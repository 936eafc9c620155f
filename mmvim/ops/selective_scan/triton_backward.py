"""Triton backward kernel of the selective scan, one or both directions in one launch.

With decay a_t = exp(delta_t A), input x_t = delta_t B_t u_t and state h_t = a_t h_{t-1} + x_t
(t in the direction's order), the adjoint g_t = C_t dy_t + a_{t+1} g_{t+1} runs the other way.
Gradients: du = delta sum_n(g B) + D dy; d(delta) = u sum_n(g B) + sum_n(g (h - x) A), times
sigmoid(raw delta) after softplus; dA = sum g (h - x) delta; dB = sum_d g delta u;
dC = sum_d h dy; dD = sum dy u; d(delta_bias) = sum d(delta); dy = dout silu(z) SCALE.

Grid (batch * ceil(dim / BD), NC), as in the forward kernel (one channel per lane). Each
program walks its chunk's tiles last to first (in the direction's order): it rescans the tile's
states from the state the forward kernel saved at the tile's start, runs the adjoint as a
reverse scan from the carried g, and forms every gradient; nothing of size
(batch, dim, dstate, length) is stored. With NC > 1 a first launch (``OUTPUT=False``) writes
each chunk's local adjoint at its first position and the sum of the delta values linking it to
the next chunk. dB and dC are summed over channel
blocks (across lanes: the kernels' one cross-lane reduction), dA, dD and d(delta_bias) over
batch and chunks, with float32 atomics.

For two directions the forward one runs first and stores its y_f + D u into dz; the reverse one
adds its own and writes dz = dout * y * silu'(z) * SCALE.
"""
import triton
import triton.language as tl

from .triton_common import (LOG2E, affine_combine, fold_chunks, load_delta, load_tile,
                            reverse_affine_scan, state_offsets, tile_index, tile_positions)


@triton.jit
def _backward_direction(u_ptr, dt_ptr, A_ptr, Bm_ptr, Cm_ptr, D_ptr, bias_ptr, end_ptr, sum_ptr,
                        state_ptr, du_ptr, ddt_ptr, dA_ptr, dB_ptr, dC_ptr, dD_ptr, dbias_ptr,
                        su_b, su_d, su_t, sdt_b, sdt_d, sdt_t, sB_b, sB_n, sB_t, sC_b, sC_n, sC_t,
                        sdu_b, sdu_d, sdu_t, sddt_b, sddt_d, sddt_t,
                        z_ptr, dout_ptr, dz_ptr, z_rows, sz_t, o_rows, so_t, dz_rows, sdz_t,
                        b, c, d, dmask, L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE, sA_n,
                        REV: tl.constexpr, OUTPUT: tl.constexpr, ACCUM: tl.constexpr,
                        FINAL: tl.constexpr, HAS_Z: tl.constexpr, HAS_D: tl.constexpr,
                        HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, NP: tl.constexpr,
                        T: tl.constexpr):
    """Adjoint and gradients of one direction over chunk ``c`` for channels ``d`` of batch ``b``.
    Tiles are (T, NP, BD); ``*_rows`` are (BD,) offsets at t = 0, ``s*_t`` strides along t."""
    n = tl.arange(0, NP)
    nmask = n < NSTATE
    pmask = nmask[:, None] & dmask[None, :]
    # (NP, BD); sA_n as in the forward kernel (a runtime 1: no N-fastest layout for A)
    A = tl.load(A_ptr + d[None, :] * NSTATE + n[:, None] * sA_n, mask=pmask, other=0.0)
    A2 = A * LOG2E
    bias = tl.load(bias_ptr + d, mask=dmask & HAS_BIAS, other=0.0)
    Dv = tl.load(D_ptr + d, mask=dmask & HAS_D, other=0.0)
    u_rows = b * su_b + d * su_d
    dt_rows = b * sdt_b + d * sdt_d
    B_rows = b * sB_b + n * sB_n
    C_rows = b * sC_b + n * sC_n
    du_rows = b * sdu_b + d * sdu_d
    ddt_rows = b * sddt_b + d * sddt_d
    nrow = (b * NSTATE + n) * L                         # dB, dC: contiguous float32
    if OUTPUT:
        g = fold_chunks(end_ptr, sum_ptr, b, d, dmask, n[:, None], pmask, A2, c, NC, DIM, NP, REV)
    else:
        g = tl.zeros([NP, d.shape[0]], dtype=tl.float32)
    dA = tl.zeros([NP, d.shape[0]], dtype=tl.float32)
    dD = tl.zeros([d.shape[0]], dtype=tl.float32)
    dbias = tl.zeros([d.shape[0]], dtype=tl.float32)
    dsum = tl.zeros([d.shape[0]], dtype=tl.float32)
    first = (tl.arange(0, T) == 0)[:, None, None]
    for kk in range(TPC):
        k = TPC - 1 - kk
        t = tile_positions(c, k, CHUNK, T, REV)
        tmask = t < L
        mask = tmask[:, None] & dmask[None, :]
        # the adjoint links t to the next position in the direction's order, through its decay
        tn = t - 1 if REV else t + 1
        dt_next, _ = load_delta(dt_ptr, dt_rows, dmask, tn, sdt_t, (tn >= 0) & (tn < L), bias,
                                HAS_BIAS, SOFTPLUS)
        dout = load_tile(dout_ptr, o_rows, dmask, t, so_t, tmask)
        if HAS_Z:
            zt = load_tile(z_ptr, z_rows, dmask, t, sz_t, tmask)
            zsig = tl.sigmoid(zt)
            dy = dout * zt * zsig * SCALE
        else:
            dy = dout * SCALE
        Ct = load_tile(Cm_ptr, C_rows, nmask, t, sC_t, tmask)         # (T, NP)
        p, s = reverse_affine_scan(tl.exp2(dt_next[:, None, :] * A2[None, :, :]),
                                   Ct[:, :, None] * dy[:, None, :])
        gs = s + p * g[None, :, :]                          # (T, NP, BD) adjoint
        g = tl.sum(tl.where(first, gs, 0.0), axis=0)
        if OUTPUT:
            u = load_tile(u_ptr, u_rows, dmask, t, su_t, tmask)
            dt, raw = load_delta(dt_ptr, dt_rows, dmask, t, sdt_t, tmask, bias, HAS_BIAS,
                                 SOFTPLUS)
            Bt = load_tile(Bm_ptr, B_rows, nmask, t, sB_t, tmask)
            # a tile wholly past the end (chunk padding) reads the last saved state: harmless,
            # as its dt, u, dy are zero and its outputs masked
            j = tl.minimum(tile_index(c, k, TPC, REV), NT - 1)
            h0 = tl.load(state_ptr + state_offsets(b, j, NT, n[:, None], d[None, :], DIM, NP),
                         mask=pmask, other=0.0)
            a = tl.exp2(dt[:, None, :] * A2[None, :, :])
            x = Bt[:, :, None] * (dt * u)[:, None, :]
            a, hs = tl.associative_scan((a, x), 0, affine_combine)
            hs += a * h0[None, :, :]                        # (T, NP, BD) states
            gx = gs * (hs - x)                              # g_t a_t h_{t-1}
            gB = tl.sum(gs * Bt[:, :, None], axis=1)        # (T, BD), in-thread over N
            ddt = u * gB + tl.sum(gx * A[None, :, :], axis=1)
            if SOFTPLUS:
                ddt *= tl.sigmoid(raw)
            ddt = tl.where(mask, ddt, 0.0)
            du = dt * gB + Dv[None, :] * dy
            tl.store(du_ptr + du_rows[None, :] + t[:, None] * sdu_t,
                     du.to(du_ptr.dtype.element_ty), mask=mask)
            tl.store(ddt_ptr + ddt_rows[None, :] + t[:, None] * sddt_t,
                     ddt.to(ddt_ptr.dtype.element_ty), mask=mask)
            dA += tl.sum(gx * dt[:, None, :], axis=0)
            dD += tl.sum(dy * u, axis=0)
            dbias += tl.sum(ddt, axis=0)
            nt_offs = nrow[None, :] + t[:, None]
            nt_mask = tmask[:, None] & nmask[None, :]
            # sums over the channel block: across lanes (and warps)
            tl.atomic_add(dB_ptr + nt_offs, tl.sum(gs * (dt * u)[:, None, :], axis=2),
                          mask=nt_mask, sem='relaxed')
            tl.atomic_add(dC_ptr + nt_offs, tl.sum(hs * dy[:, None, :], axis=2), mask=nt_mask,
                          sem='relaxed')
            if HAS_Z:
                y = tl.sum(hs * Ct[:, :, None], axis=1) + Dv[None, :] * u
                offs = dz_rows[None, :] + t[:, None] * sdz_t
                if ACCUM:
                    y += tl.load(dz_ptr + offs, mask=mask, other=0.0).to(tl.float32)
                if FINAL:
                    y = dout * y * zsig * (1.0 + zt * (1.0 - zsig)) * SCALE
                tl.store(dz_ptr + offs, y.to(dz_ptr.dtype.element_ty), mask=mask)
        else:
            dsum += tl.sum(dt_next, axis=0)
    if OUTPUT:
        tl.atomic_add(dA_ptr + d[None, :] * NSTATE + n[:, None] * sA_n, dA, mask=pmask,
                      sem='relaxed')
        if HAS_D:
            tl.atomic_add(dD_ptr + d, dD, mask=dmask, sem='relaxed')
        if HAS_BIAS:
            tl.atomic_add(dbias_ptr + d, dbias, mask=dmask, sem='relaxed')
    else:
        tl.store(end_ptr + state_offsets(b, c, NC, n[:, None], d[None, :], DIM, NP), g, mask=pmask)
        tl.store(sum_ptr + (b * NC + c) * DIM + d, dsum, mask=dmask)


@triton.jit(do_not_specialize=['sA_n'])
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
                         L, DIM, NSTATE, NC, CHUNK, TPC, NT, SCALE, sA_n,
                         OUTPUT: tl.constexpr, HAS_F: tl.constexpr, HAS_B: tl.constexpr,
                         HAS_Z: tl.constexpr, HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr,
                         SOFTPLUS: tl.constexpr, BD: tl.constexpr, NP: tl.constexpr,
                         T: tl.constexpr):
    """Stage 1 (chunk adjoints) or stage 2 (gradients) for the directions present.

    ``state_*`` (batch, ceil(L / T), NP, dim) are the forward kernel's saved tile states; dA, dB,
    dC, dD, d(delta_bias) must be zeroed float32 buffers (atomic sums); ``s<name>_<axis><slot>``
    are element strides of the (batch, dim or dstate, length) tensors.
    """
    n_dblk = tl.cdiv(DIM, BD)
    b = (tl.program_id(0) // n_dblk).to(tl.int64)
    d = (tl.program_id(0) % n_dblk) * BD + tl.arange(0, BD)
    dmask = d < DIM
    c = tl.program_id(1)
    z_rows = b * sz_b + d * sz_d
    o_rows = b * so_b + d * so_d
    dz_rows = b * sdz_b + d * sdz_d
    if HAS_F:
        _backward_direction(u_f, dt_f, A_f, B_f, C_f, D_f, bias_f, end_f, sum_f, state_f, du_f,
                            ddt_f, dA_f, dB_f, dC_f, dD_f, dbias_f, su_bf, su_df, su_tf, sdt_bf,
                            sdt_df, sdt_tf, sB_bf, sB_nf, sB_tf, sC_bf, sC_nf, sC_tf, sdu_bf,
                            sdu_df, sdu_tf, sddt_bf, sddt_df, sddt_tf, z_ptr, dout_ptr, dz_ptr,
                            z_rows, sz_t, o_rows, so_t, dz_rows, sdz_t, b, c, d, dmask, L, DIM,
                            NSTATE, NC, CHUNK, TPC, NT, SCALE, sA_n, False, OUTPUT, False,
                            not HAS_B, HAS_Z, HAS_D, HAS_BIAS, SOFTPLUS, NP, T)
    if HAS_F and HAS_B and OUTPUT and HAS_Z:
        tl.debug_barrier()  # the partial y_f stored in dz above is read back, maybe by others
    if HAS_B:
        _backward_direction(u_b, dt_b, A_b, B_b, C_b, D_b, bias_b, end_b, sum_b, state_b, du_b,
                            ddt_b, dA_b, dB_b, dC_b, dD_b, dbias_b, su_bb, su_db, su_tb, sdt_bb,
                            sdt_db, sdt_tb, sB_bb, sB_nb, sB_tb, sC_bb, sC_nb, sC_tb, sdu_bb,
                            sdu_db, sdu_tb, sddt_bb, sddt_db, sddt_tb, z_ptr, dout_ptr, dz_ptr,
                            z_rows, sz_t, o_rows, so_t, dz_rows, sdz_t, b, c, d, dmask, L, DIM,
                            NSTATE, NC, CHUNK, TPC, NT, SCALE, sA_n, True, OUTPUT, HAS_F, True,
                            HAS_Z, HAS_D, HAS_BIAS, SOFTPLUS, NP, T)
