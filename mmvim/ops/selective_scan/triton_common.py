"""Triton building blocks shared by the selective-scan forward and backward kernels.

Every kernel works on one (batch, block of ``BD`` channels, chunk of the length) per program and
walks its chunk in tiles of ``T`` positions, one position per step. A direction is only an index
map: the forward direction visits positions ``t`` ascending, the reverse one descending, so both
run the same code (``REV`` flag) on inputs in their original order. Loads are made at positions
clamped into [0, L) and the results masked, so a step never branches on the position.

Layout: the state is a (NP // PACK, PACK, BD) block (NP = dstate padded to a power of two, PACK
2 where B and C are read as 32-bit words of two 16-bit states) with BD the fastest axis: Triton
puts one channel on each lane and keeps the NP states in that thread's registers. The scan and
the sums over N (y, and in the backward d(delta), du) are in-thread work with no shuffles; only
the backward's sums over channels (dB, dC) cross lanes. BD must be a multiple of 32 * num_warps.

Tensor layouts: u, delta, z, y and their gradients are (batch, dim, length) with any strides
(the kernels take them as (batch, dim, length) stride triples; a (batch, length, dim) tensor
viewed as (batch, dim, length), as the Vim mixer makes it, gives coalesced loads across
channels); B, C (batch, dstate, length) with any strides; dB, dC (batch, dstate, length)
contiguous float32; A, dA (dim, dstate) channel-fastest (views of contiguous (dstate, dim)
tensors, see :func:`state_layout`); D, delta_bias (dim,) contiguous.
Per-chunk links and saved states keep the channel fastest: (batch, chunks or tiles, NP, dim).
"""
import triton
import triton.language as tl

LOG2E = tl.constexpr(1.4426950408889634)


@triton.jit
def position(c, p, CHUNK, REV: tl.constexpr):
    """Sequence position of step ``p`` (a scalar or a tensor of steps) of chunk ``c``, in the
    direction's visiting order."""
    if REV:
        return (c + 1) * CHUNK - 1 - p
    return c * CHUNK + p


@triton.jit
def clamped(t, L):
    """Position ``t`` clamped into [0, L): loads there are always in bounds; the caller masks."""
    return tl.minimum(tl.maximum(t, 0), L - 1)


@triton.jit
def tile_index(c, k, TPC, REV: tl.constexpr):
    """Index of tile ``k`` of chunk ``c`` among the length's tiles of T positions (in t order),
    so that states saved per tile do not depend on the chunk size."""
    if REV:
        return c * TPC + TPC - 1 - k
    return c * TPC + k


@triton.jit
def softplus(x):
    """log(1 + exp(x)) in float32 as max(x, 0) + log1p(e), e = exp(-|x|) in (0, 1].

    log1p(e) = 2 atanh(s) with s = e / (2 + e) <= 1/3, by its odd series to s**13 (the next
    term is below 2e-8 of the sum): a division and 6 FMAs instead of a precise log, 20 fewer
    instructions per channel and position (stage 1's loop over a tile of 4 positions: 549
    against 629, sm_90, Triton 3.6; docs/kernel_notes.md, section 5); relative error within
    2.5e-7 of float64 (the log form's was 2.1e-7), also for tiny e, where it is e.
    """
    e = tl.exp(-tl.abs(x))
    s = e / (2.0 + e)
    s2 = s * s
    series = 1.0 / 13.0
    series = series * s2 + 1.0 / 11.0
    series = series * s2 + 1.0 / 9.0
    series = series * s2 + 1.0 / 7.0
    series = series * s2 + 1.0 / 5.0
    series = series * s2 + 1.0 / 3.0
    series = series * s2 + 1.0
    return tl.maximum(x, 0.0) + 2.0 * s * series


@triton.jit
def delta_from_raw(raw, bias, mask, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr):
    """(delta, pre-softplus value) from float32 ``raw`` delta: plus the bias and through softplus
    as the flags say; delta is 0 where ``mask`` is False."""
    if HAS_BIAS:
        raw += bias
    dt = raw
    if SOFTPLUS:
        dt = softplus(raw)
    return tl.where(mask, dt, 0.0), raw


@triton.jit
def state_offsets(b, j, NJ, n, d, sA_n, NP: tl.constexpr):
    """Offsets of entry ``j`` of a (batch, NJ, NP, dim) buffer at state indices ``n`` and
    channels ``d`` (broadcastable index tensors, e.g. (NP, 1) and (1, BD)). ``sA_n`` == dim,
    the unspecialised state stride (see :func:`state_layout`)."""
    return ((b * NJ + j) * NP + n) * sA_n + d


@triton.jit
def entering_state(end_ptr, b, d, n, mask, c, NC, sA_n, NP: tl.constexpr,
                   ASCENDING: tl.constexpr):
    """The state entering chunk ``c`` (the direction's first chunk: zero) in float32, as
    :func:`~.triton_chunk_carry.carry_chunks_kernel` left it in the (batch, NC, NP, dim) link
    buffer: in the slot of the chunk before ``c`` (after it in t order where not ``ASCENDING``).
    ``n``, ``d`` and ``mask`` index the state block as in :func:`state_offsets`."""
    if ASCENDING:
        j = c - 1
    else:
        j = c + 1
    ok = (n * 0 + j >= 0) & (n * 0 + j < NC)   # tensors: the interpreter mis-types tensor & scalar
    return tl.load(end_ptr + state_offsets(b, clamped(j, NC), NC, n, d, sA_n, NP),
                   mask=mask & ok, other=0.0).to(tl.float32)


@triton.jit
def load_state_words(ptr, row, cols, ok, PACK: tl.constexpr):
    """One position's B or C as loaded: PACK == 1, the NP values ``ptr[row + cols]`` (cols the
    state offsets); PACK == 2 (16-bit inputs, N contiguous, ``row`` even, 4-byte aligned), NP // 2
    32-bit words (cols their indices) holding states 2w and 2w + 1: half the loads."""
    if PACK == 2:
        words = tl.load(ptr.to(tl.pointer_type(tl.int32)) + row // 2 + cols, mask=ok, other=0)
    else:
        words = tl.load(ptr + row + cols, mask=ok, other=0.0)
    return words


@triton.jit
def unpack_states(words, dtype: tl.constexpr, PACK: tl.constexpr):
    """(NP // PACK, PACK) float32 from :func:`load_state_words`' result; state n at [n // PACK,
    n % PACK]."""
    if PACK == 2:
        if dtype == tl.bfloat16:
            lo = (words << 16).to(tl.float32, bitcast=True)
            hi = (words & -65536).to(tl.float32, bitcast=True)
        else:
            lo = words.to(tl.int16).to(tl.float16, bitcast=True).to(tl.float32)
            hi = (words >> 16).to(tl.int16).to(tl.float16, bitcast=True).to(tl.float32)
        states = tl.join(lo, hi)
    else:
        states = words.to(tl.float32)[:, None]
    return states


@triton.jit
def state_layout(A_ptr, d, dmask, NSTATE, sA_n, sB_n, sC_n, NP: tl.constexpr,
                 PACK: tl.constexpr):
    """Index tensors of a thread-held state block (NP // PACK, PACK, BD), state n at
    [n // PACK, n % PACK] (see :func:`unpack_states`), and A log2(e) in it.

    Returns n (NW, PACK, 1), the block's mask, A2, the word indices' validity (NW,) and the
    (NW,) column offsets of B and C for :func:`load_state_words`.

    A is channel-fastest (the launcher passes a contiguous (dstate, dim) tensor) and its state
    stride ``sA_n`` (== dim) is not specialised, nor is that of the chunk links and saved
    states (:func:`state_offsets`): Triton lays a block out after the accesses it sees to be
    contiguous, and these show it contiguous along the channels with no known alignment, so it
    puts one channel on each lane and the states in the thread's registers, unvectorised. With
    A state-fastest it saw no contiguity in the block and spread the states over lanes, with
    conversions through shared memory at every position and 128 registers instead of 80
    (docs/kernel_notes.md, "Why A is channel-fastest").
    """
    wi = tl.arange(0, NP // PACK)
    n = (wi[:, None] * PACK + tl.arange(0, PACK)[None, :])[:, :, None]
    mask = (n < NSTATE) & dmask[None, None, :]
    A2 = tl.load(A_ptr + n * sA_n + d[None, None, :], mask=mask, other=0.0) * LOG2E
    if PACK == 2:
        B_cols = wi                                     # 32-bit words of a position's row
        C_cols = wi
    else:
        B_cols = wi * sB_n
        C_cols = wi * sC_n
    return n, mask, A2, wi * PACK < NSTATE, B_cols, C_cols
