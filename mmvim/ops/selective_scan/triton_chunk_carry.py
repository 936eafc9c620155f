"""Triton kernel carrying the scan's state across chunks, between the two stages of a chunked
forward or backward launch (see triton_forward / triton_backward).

Stage 1 leaves, per chunk, its local end state (scanned from a zero state) and the sum of the
delta values whose decay exp(A sum) links it to the next chunk, in (batch, NC, NP, dim) (float32,
or bfloat16: the forward's for bfloat16 inputs) and (batch, NC, dim) float32 buffers. This kernel
walks each row's chunks in the direction's order, ``h <- exp(A sum_j) h + end_j`` in float32,
and overwrites chunk j's end state with h (in the buffer's dtype): the state entering the chunk
after it, which stage 2 loads (:func:`~.triton_common.entering_state`). Each chunk is
folded once, instead of every stage-2 program folding all chunks before its own (NC - 1 folds
for the last chunk; forward + backward at (1, 384, 6084) 0.698 ms that way, 0.595 with this
kernel: docs/kernel_notes.md, section 5).

Grid (batch * ceil(dim / BD), 2): one program per row of BD channels and direction, one channel
per lane as in the scan kernels; the NP states of a channel are split over the program's warps
(every (channel, state) pair is its own chain). The walk over chunks is serial: at batch 1 the
whole GPU runs only these 2 * ceil(dim / BD) programs, so they load BLOCK chunks' links at once
and fold them one by one (the carry at (1, 384, 16385): 0.059 ms serial, 0.024 with 8 links
loaded at once over 4 warps; docs/kernel_notes.md, section 4).
"""
import triton
import triton.language as tl

from .triton_common import clamped, state_layout, state_offsets


@triton.jit
def _carry_direction(end_ptr, sum_ptr, A_ptr, b, d, dmask, DIM, NSTATE: tl.constexpr, NC, sA_n,
                     ASCENDING: tl.constexpr, NP: tl.constexpr, BLOCK: tl.constexpr):
    """Carry one direction's state over chunks 0..NC-2 (ASCENDING) or NC-1..1; the chunk its
    direction ends with is folded by nobody (stage 1 skips it). The links of BLOCK chunks are
    loaded together, then folded one by one: one memory latency per block, not per chunk."""
    n, mask, A2, _, _, _ = state_layout(A_ptr, d, dmask, NSTATE, sA_n, sA_n, sA_n, NP, 1)
    h = tl.zeros(A2.shape, dtype=tl.float32)
    for j0 in range(0, NC - 1, BLOCK):
        sums = ()
        ends = ()
        for g in tl.static_range(BLOCK):
            s, end = _link(end_ptr, sum_ptr, b, d, dmask, n, mask, j0 + g, NC, DIM, sA_n, NP,
                           ASCENDING)
            sums = sums + (s, )
            ends = ends + (end, )
        for g in tl.static_range(BLOCK):
            # past the last link (the tail of the last block) the loads read the direction's
            # last chunk, which stage 1 skips: h is garbage from there on and never stored
            h = tl.exp2(A2 * sums[g]) * h + ends[g]
            cj = _slot(j0 + g, NC, ASCENDING)
            link = n * 0 + j0 + g < NC - 1          # a tensor: see triton_common.entering_state
            tl.store(end_ptr + state_offsets(b, cj, NC, n, d, sA_n, NP),
                     h.to(end_ptr.dtype.element_ty), mask=mask & link)


@triton.jit
def _slot(j, NC, ASCENDING: tl.constexpr):
    """Chunk index of the direction's ``j``-th chunk, clamped into [0, NC)."""
    j = clamped(j, NC)
    if ASCENDING:
        return j
    return NC - 1 - j


@triton.jit
def _link(end_ptr, sum_ptr, b, d, dmask, n, mask, j, NC, DIM, sA_n, NP: tl.constexpr,
          ASCENDING: tl.constexpr):
    """(sum of deltas, end state) of the direction's ``j``-th chunk, ``j`` clamped to its last
    (whose slot stage 1 skips: what it holds is unused)."""
    cj = _slot(j, NC, ASCENDING)
    s = tl.load(sum_ptr + (b * NC + cj) * DIM + d, mask=dmask, other=0.0)
    end = tl.load(end_ptr + state_offsets(b, cj, NC, n, d, sA_n, NP), mask=mask, other=0.0)
    return s, end.to(tl.float32)


@triton.jit(do_not_specialize=['sA_n'])
def carry_chunks_kernel(end_f, sum_f, A_f, end_b, sum_b, A_b, DIM, NSTATE: tl.constexpr, NC,
                        sA_n, HAS_F: tl.constexpr, HAS_B: tl.constexpr, ASC_F: tl.constexpr,
                        BD: tl.constexpr, NP: tl.constexpr, BLOCK: tl.constexpr):
    """Carry the forward (``*_f``) and reverse (``*_b``) directions' chunk links in place.

    ``ASC_F``: the forward direction's state runs over ascending chunks (the forward kernel's
    scan; the backward kernel's adjoint runs the other way), the reverse one's the other way.
    An absent direction's arguments repeat the other's (ignored). ``sA_n`` (== dim, not
    specialised) as in the scan kernels. ``BLOCK``: chunk links loaded at once.
    """
    n_dblk = tl.cdiv(DIM, BD)
    b = (tl.program_id(0) // n_dblk).to(tl.int64)
    d = (tl.program_id(0) % n_dblk) * BD + tl.arange(0, BD)
    dmask = d < DIM
    if tl.program_id(1) == 0:
        if HAS_F:
            _carry_direction(end_f, sum_f, A_f, b, d, dmask, DIM, NSTATE, NC, sA_n, ASC_F, NP,
                             BLOCK)
    else:
        if HAS_B:
            _carry_direction(end_b, sum_b, A_b, b, d, dmask, DIM, NSTATE, NC, sA_n, not ASC_F,
                             NP, BLOCK)
