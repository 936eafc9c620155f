"""Autograd functions and launch code for the Triton selective-scan kernels.

One autograd Function serves the single-direction op (either direction) and the fused
bidirectional one: a direction is a slot ('f' runs first to last, 'b' last to first) of the same
two kernels. Only the inputs and, per direction, the state entering every tile of ``T``
positions, (batch, ceil(length / T), NP, dim) (see :func:`_state_buffer`), are kept for the
backward pass.

u, delta, z, B, C (and the incoming gradient) go to the kernels with their own strides: no
copies. Outputs and gradients of (batch, dim, length) tensors are allocated channel-fastest when
the tensor they mirror is (a view of a (batch, length, dim) tensor, as in the Vim mixer).
"""
import functools
import math

import torch
import triton

from .. import launcher
from ..launcher import alignment_key, launch
from ..layout import check_int32_span, int32_indexable, new_like
from .triton_backward import scan_backward_kernel
from .triton_chunk_carry import carry_chunks_kernel
from .triton_forward import scan_forward_kernel

# Tests set these: POISON_OUTPUTS fills outputs with NaN before the kernels run, so an element
# no kernel writes shows up; CONFIG_OVERRIDE replaces entries of the launch configuration.
POISON_OUTPUTS = False
CONFIG_OVERRIDE = {}

# T: tile length (shared: the backward reads the states the forward saved per tile);
# BD_*: channels per program, one per lane (a multiple of 32 * WARPS_*); WARPS_*: warps per
# program. Chunks of the length are added until the grid holds, per multiprocessor, at most
# PROGRAMS_F forward programs and no more than it holds at once (one wave), and at most WAVES_B
# waves of backward programs (what a multiprocessor holds comes from the compiled kernel's
# registers); where that is unknown (no compiled kernel, as under the interpreter), WAVES
# programs. With the resident count known and no CHUNKS override, forward chunks keep at least
# MIN_TILES_F tiles (the last may be shorter). Each setting's measured reason, on an H100, is in
# docs/kernel_notes.md, section 4: one-warp forward programs (32 channels, 1 warp) were the
# fastest of the widths tried; PROGRAMS_F 24: the forward kernel's 80 registers let 24 programs
# stay resident, the fastest of 12-24; WAVES_B 3: the fastest of 1-4 waves of the backward's
# 255-register kernel. The carry kernel loads CARRY_BLOCK chunk links at once and splits a row's
# states over CARRY_WARPS warps (at batch 1 its serial walk waited a memory latency per chunk).
# MAXNREG_SAVE caps the registers of the forward kernel when it saves states for the backward
# (0: no cap), so that as many programs stay resident as in inference; where the Triton in use
# would spill under the cap, the kernel is compiled without it (Triton 3.6 fits the saving
# kernel in 80 registers, 104 uncapped; 3.9 would spill).
DEFAULT_CONFIG = dict(T=4, BD_F=32, WARPS_F=1, BD_B=32, WARPS_B=1, PROGRAMS_F=24, WAVES_B=3,
                      WAVES=8, MIN_TILES_F=6, CARRY_BLOCK=8, CARRY_WARPS=4, MAXNREG_SAVE=80)


def _config():
    """The launch configuration in force: DEFAULT_CONFIG with the tests' overrides."""
    return {**DEFAULT_CONFIG, **CONFIG_OVERRIDE}


@functools.lru_cache(maxsize=None)
def _num_sms(device):
    if device.type != 'cuda':
        return 4
    return torch.cuda.get_device_properties(device).multi_processor_count


def _chunking(batch, dim, length, bd, cfg, device, per_sm=None, min_tiles=1):
    """(NC, CHUNK, TPC): chunks of CHUNK = TPC * T positions, enough to fill the GPU.

    With ``per_sm``, the grid holds at most that many programs per multiprocessor (rounded
    down, so that a nearly empty extra wave does not double the time) and chunks have at least
    ``min_tiles`` tiles; without it (the resident count unknown), chunks are added until it
    holds ``WAVES``.
    """
    T = cfg['T']
    tiles = triton.cdiv(length, T)
    programs = batch * triton.cdiv(dim, bd)
    if cfg.get('CHUNKS'):
        want = cfg['CHUNKS']
    elif per_sm:
        want = per_sm * _num_sms(device) // programs
    else:
        want = math.ceil(cfg['WAVES'] * _num_sms(device) / programs)
    tpc = triton.cdiv(tiles, min(max(want, 1), tiles))
    if per_sm and not cfg.get('CHUNKS'):
        tpc = max(tpc, min(min_tiles, tiles))
    return triton.cdiv(tiles, tpc), tpc * T, tpc


_RESIDENT = {}


def _register_cap_without_spills(flags, compiled_facts):
    """(flags, programs a multiprocessor holds): ``flags`` as given unless the kernel compiled
    with them spills registers under their ``maxnreg`` cap (the Triton in use cannot fit it
    there), in which case without the cap. ``compiled_facts(flags)`` gives (resident programs,
    spills) as :func:`_resident_programs` does."""
    resident, spills = compiled_facts(flags)
    if spills and 'maxnreg' in flags:
        flags = {k: v for k, v in flags.items() if k != 'maxnreg'}
        resident, _ = compiled_facts(flags)
    return flags, resident


def _resident_programs(kernel, flags, tensors, build):
    """(programs of ``kernel`` that one multiprocessor holds at once, whether it spills
    registers), from the compiled kernel's registers, shared memory, warps and ``n_spills``
    (its local memory, which these kernels use for nothing but spills); (None, False) where
    Triton does not say its register count.
    Cached per flags and the tensors' dtypes and stride classes (what Triton specialises on;
    the integer sizes are left out, so the count is approximate); ``build()`` gives (grid,
    arguments) to compile with on a miss."""
    key = (kernel, tuple(sorted(flags.items())), tensors[0].device,
           tuple((t.dtype, tuple((st == 1, st % 16 == 0) for st in t.stride()))
                 for t in tensors))
    if key not in _RESIDENT:
        grid, args = build()
        compiled = kernel.warmup(*args, grid=grid, **flags)
        if compiled is not None and getattr(compiled, 'n_regs', None) is None and hasattr(
                compiled, '_init_handles'):
            compiled._init_handles()                    # loads it, which sets n_regs
        n_regs = getattr(compiled, 'n_regs', None)
        resident = None
        spills = bool(getattr(compiled, 'n_spills', 0))
        if n_regs:
            props = torch.cuda.get_device_properties(tensors[0].device)
            threads = getattr(props, 'warp_size', 32) * flags['num_warps']
            regs = triton.cdiv(n_regs, 8) * 8 * threads         # allocated per warp in 256s
            smem = compiled.metadata.shared + 1024              # 1 KB reserved per block
            resident = max(1, min(
                getattr(props, 'regs_per_multiprocessor', 65536) // regs,
                getattr(props, 'shared_memory_per_multiprocessor', 228 * 1024) // smem,
                props.max_threads_per_multi_processor // threads, 32))
        _RESIDENT[key] = resident, spills
    return _RESIDENT[key]


def _new(like, dtype=None):
    """Output or gradient mirroring ``like``'s layout (see :func:`mmvim.ops.layout.new_like`)."""
    return new_like(like, dtype, poison=POISON_OUTPUTS)


def _flat_views(flat, specs):
    """Consecutive contiguous views of the 1-D uint8 buffer ``flat``, one per (shape, dtype) of
    ``specs``, each starting on a 16-byte boundary, as Triton's alignment specialisation
    expects."""
    views, offset = [], 0
    for shape, dtype in specs:
        nbytes = math.prod(shape) * dtype.itemsize
        views.append(flat[offset:offset + nbytes].view(dtype).view(shape))
        offset += _aligned_bytes(nbytes)
    return views


def _aligned_bytes(nbytes):
    return triton.cdiv(nbytes, 16) * 16


def _flat_bytes(specs):
    """Size of the uint8 buffer :func:`_flat_views` cuts ``specs`` from."""
    return sum(_aligned_bytes(math.prod(shape) * dtype.itemsize) for shape, dtype in specs)


class _Plan:
    """What a launch derives from its inputs' shapes, strides, dtypes and alignment (cached per
    :func:`mmvim.ops.launcher.alignment_key`): flags, chunking, grid, and the stride and size
    arguments. Per present direction, stage 1 writes two chunk-link buffers, the chunks' end
    states (batch, NC, NP, dim) in ``end_dtype`` and their delta sums (batch, NC, dim) in
    float32; the carry kernel turns the first into the states entering the chunks (the forward
    direction's over ascending chunks where ``ascending_f``), and stage 2 reads them.

    The forward kernel's end states are bfloat16 where u is (:func:`_rounded_state_dtype`):
    at batch 1 the links of chunks of 6 tiles are 1.3 times u's size per direction (Vim-Ti at
    1248: 12.5 MB of a 75 MiB inference peak). The carry folds them in float32 registers, but
    the ends' roundings add up along the chain, decayed like the state: the outputs move by 1
    to 2.6 times bfloat16's own rounding of them, more for slow decays (small |A|) and many
    chunks, within the 1e-2 the bfloat16 tests allow (docs/kernel_notes.md, "Why bfloat16
    stored states"). The
    backward's adjoint links stay float32."""

    def __init__(self, kernel, slots, z, softplus, scale, cfg, bd, warps, per_sm, min_tiles,
                 slot_tensors, stride_tensors, head, ascending_f, end_dtype, extra):
        u, A = next(s for s in slots if s is not None)[0:3:2]
        _check_spans(z, slots)
        batch, dim, length = u.shape
        present = [s is not None for s in slots]
        self.np2 = triton.next_power_of_2(A.shape[1])
        ref = slots[present.index(True)]
        self.flags = dict(HAS_F=present[0], HAS_B=present[1], HAS_Z=z is not None,
                          HAS_D=ref[5] is not None, HAS_BIAS=ref[6] is not None,
                          SOFTPLUS=softplus, BD=bd, NP=self.np2, T=cfg['T'], num_warps=warps,
                          PACK_F=_pack(slots[0]), PACK_B=_pack(slots[1]), **extra)
        self.strides = []
        for i in range(2):
            slot = slots[i] if present[i] else slots[1 - i]
            self.strides.append([st for t in (slot[0], slot[1], slot[3], slot[4],
                                              *stride_tensors(i)) for st in t.stride()])
        self.head_strides = [st for t in head[1] for st in t.stride()]
        self.carry_flags = dict(HAS_F=present[0], HAS_B=present[1], ASC_F=ascending_f, BD=bd,
                                NP=self.np2, BLOCK=cfg['CARRY_BLOCK'],
                                num_warps=cfg['CARRY_WARPS'])
        self.rows = batch * triton.cdiv(dim, bd)
        self.directions = sum(present)
        self.scale = scale
        self.end_dtype = end_dtype
        sizes = (batch, dim, length, A.shape[1])
        resident = None
        if u.device.type == 'cuda':
            def build():
                self._chunk(*sizes, *_chunking(batch, dim, length, bd, cfg, u.device))
                return (self.rows, self.nc), self.arguments(slots, slot_tensors, head[0])[0]
            tensors = [t for s in slots if s is not None for t in s if t is not None]
            tensors += [z] if z is not None else []
            self.flags, resident = _register_cap_without_spills(
                self.flags, lambda flags: _resident_programs(kernel, dict(flags, OUTPUT=True),
                                                             tensors, build))
        self._chunk(*sizes, *_chunking(batch, dim, length, bd, cfg, u.device,
                                       per_sm(resident) if resident else None, min_tiles))

    def _chunk(self, batch, dim, length, dstate, nc, chunk, tpc):
        self.nc = nc
        self.link_specs = [((batch, nc, self.np2, dim), self.end_dtype),
                           ((batch, nc, dim), torch.float32)] * self.directions
        # the last size: A's state stride (A is channel-fastest: see _prepare), also that of
        # the chunk links and saved states
        self.sizes = [length, dim, dstate, nc, chunk, tpc,
                      triton.cdiv(length, self.flags['T']), self.scale, dim]

    def arguments(self, slots, slot_tensors, head_tensors):
        """(the kernel's positional arguments, the carry kernel's). The kernel's:
        ``head_tensors`` and their strides, then per direction its inputs (an absent direction
        repeats the other's, which the kernel ignores), chunk links, ``slot_tensors[i]`` and
        strides, then the sizes. The carry kernel's: per direction its links and A, then sizes."""
        u = next(s for s in slots if s is not None)[0]
        links = _flat_views(_new_flat(_flat_bytes(self.link_specs), u.device, POISON_OUTPUTS),
                            self.link_specs)
        args, carry = [*head_tensors, *self.head_strides], []
        for i in range(2):
            inputs = slots[i] if slots[i] is not None else slots[1 - i]
            slot_links = links[2 * i:2 * i + 2] if self.directions == 2 else links
            args += [t if t is not None else u for t in inputs]
            args += slot_links
            args += slot_tensors[i] + self.strides[i]
            carry += [*slot_links, inputs[2]]
        _, dim, dstate, nc = self.sizes[:4]
        return args + self.sizes, carry + [dim, dstate, nc, dim]

    def run(self, kernel, key, args, carry_args):
        """Stage 1 and the carry when the length is split into chunks (each direction's last
        chunk needs no summary: kernel docs), then stage 2."""
        if self.nc > 1:
            launch(kernel, key, (self.rows, self.nc - 1), *args, OUTPUT=False, **self.flags)
            launch(carry_chunks_kernel, key, (self.rows, 2), *carry_args, **self.carry_flags)
        launch(kernel, key, (self.rows, self.nc), *args, OUTPUT=True, **self.flags)


_PLANS = {}
_MAX_PLANS = 4096


def _launch(kernel, slots, z, softplus, scale, cfg, bd, warps, per_sm, min_tiles, slot_tensors,
            stride_tensors, head, ascending_f, end_dtype, **extra):
    """Launch ``kernel`` (through :func:`mmvim.ops.launcher.launch`) on ``slots``
    ([forward direction, reverse direction], each (u, delta, A, B, C, D, delta_bias) or None).

    ``slot_tensors[i]``: direction i's extra tensors, passed after its chunk links;
    ``stride_tensors(i)``: the tensors whose strides follow those of its u, delta, B, C;
    ``head``: (tensors, the tensors whose strides follow them), first in the argument list.
    ``per_sm(resident)``: programs per multiprocessor to chunk for, given how many it holds at
    once, in chunks of at least ``min_tiles`` tiles (see :func:`_chunking`). ``ascending_f``:
    the forward direction's state runs first chunk to last (the forward kernel; False for the
    backward kernel's adjoint). ``end_dtype``: that of the chunk-end states in the links (see
    :class:`_Plan`).
    """
    u = next(s for s in slots if s is not None)[0]
    if u.numel() == 0:      # nothing to compute: outputs are empty, gradient sums stay zero
        return
    key = (kernel, softplus, scale, tuple(cfg.items()), tuple(extra.items()),
           tuple(s is not None for s in slots),
           alignment_key(z, *head[1], *[t for s in slots if s is not None for t in s],
                         slot_tensors[0][0], slot_tensors[1][0]))
    # (the plan's flags and chunking follow from the key; CachedLaunch adds the flags to it.
    # The other per-direction tensors are new buffers laid out after the inputs.)
    plan = _PLANS.get(key)
    if plan is None or launcher.VERIFY:
        fresh = _Plan(kernel, slots, z, softplus, scale, cfg, bd, warps, per_sm, min_tiles,
                      slot_tensors, stride_tensors, head, ascending_f, end_dtype, extra)
        if plan is not None and vars(plan) != vars(fresh):
            raise AssertionError(f'selective scan: launch plan cached under {key!r} differs '
                                 'from the one these inputs give')
        if len(_PLANS) >= _MAX_PLANS:       # endlessly varying shapes: start again
            _PLANS.clear()
        plan = _PLANS[key] = fresh
    plan.run(kernel, key, *plan.arguments(slots, slot_tensors, head[0]))


def _new_flat(nbytes, device, poison):
    """Uninitialised 1-D uint8 buffer for :func:`_flat_views` (all bits set if ``poison``: NaN
    in every float view, so that an entry read before it is written shows up)."""
    if poison:
        return torch.full((nbytes, ), 255, dtype=torch.uint8, device=device)
    return torch.empty(nbytes, dtype=torch.uint8, device=device)


def _pack(slot):
    """2 when the slot's B and C can be read as 32-bit words of two 16-bit states (N contiguous,
    even offsets and strides, 4-byte aligned), else 1 (also for an absent slot)."""
    if slot is None:
        return 1
    B, C = slot[3], slot[4]
    return 2 if all(t.element_size() == 2 and t.stride(1) == 1 and t.shape[1] % 2 == 0
                    and t.stride(0) % 2 == 0 and t.stride(2) % 2 == 0
                    and t.data_ptr() % 4 == 0 for t in (B, C)) else 1


def _rounded_state_dtype(u):
    """The dtype of the scan states the forward stores (saved per tile, chunk ends): bfloat16
    for bfloat16 ``u``, else float32 (see :func:`_state_buffer` for why not float16's)."""
    return torch.bfloat16 if u.dtype == torch.bfloat16 else torch.float32


def _state_buffer(slot, T):
    """(batch, ceil(length / T), NP, dim): the state entering each tile, in
    :func:`_rounded_state_dtype`.

    The states are the bulk of what a training step keeps: in float32, 64 bytes per channel,
    position and direction, 4.6 of the 7.4 GiB at which a Vim-S training step (512, batch 8,
    bf16) peaked; bfloat16 halves them (peak 7564 -> 5255 MiB). The backward rescans each tile
    in float32 from the rounded state: the gradients that depend on the states (dA, dC,
    delta's, z's) move by about bfloat16's rounding, the order of the error bfloat16 inputs and
    gradients carry anyway (docs/kernel_notes.md, "Why bfloat16 stored states"). float16
    inputs keep float32 states: their worst gradient error is 2.4e-4 against float64, 4.1e-3
    with bfloat16 states, and float16 states could overflow."""
    u = slot[0]
    batch, dim, length = u.shape
    return torch.empty(batch, triton.cdiv(length, T), triton.next_power_of_2(slot[2].shape[1]),
                       dim, dtype=_rounded_state_dtype(u), device=u.device)


class _TritonScan(torch.autograd.Function):
    """Inputs: rev (one bool per direction: False runs first to last), softplus, scale, save
    (keep what backward needs: see :func:`_will_backward`), z, then per direction u, delta, A,
    B, C, D, delta_bias. Output: sum of directions * silu(z) * scale."""

    @staticmethod
    def forward(ctx, rev, softplus, scale, save, z, *tensors):
        slots = [None, None]
        for i, r in enumerate(rev):
            slots[int(r)] = tensors[7 * i:7 * i + 7]
        cfg = _config()
        u = tensors[0]
        y = _new(z if z is not None else u, u.dtype)
        states = _run_forward(slots, z, y, softplus, scale, cfg, save)
        if save:
            ctx.save_for_backward(z, *tensors, *[s for s in states if s is not u])
            ctx.config = (rev, softplus, scale, cfg)
        return y

    @staticmethod
    def backward(ctx, dout):
        rev, softplus, scale, cfg = ctx.config
        dout = int32_indexable(dout)
        z, *saved = ctx.saved_tensors
        tensors, kept = saved[:7 * len(rev)], list(saved[7 * len(rev):])
        slots, states, grads = [None, None], [dout, dout], [None, None]
        for i, r in enumerate(rev):
            slots[int(r)] = tensors[7 * i:7 * i + 7]
        for i in range(2):
            if slots[i] is not None:
                states[i] = kept.pop(0)
        # the parameters' float32 sums (dA, dD, d(delta_bias)) of both directions come from one
        # small zeroed buffer: a parameter's .grad may keep a view of it (AccumulateGrad takes
        # the tensor it is given where its layout fits the parameter's; dA's, channel-fastest,
        # fits only a channel-fastest A), which pins only this buffer; dB and dC (batch x dstate x
        # length) are separate tensors for the same reason
        present = [s for s in slots if s is not None]
        dim, dstate = present[0][2].shape
        # (dA channel-fastest like A: a (dstate, dim) buffer seen as (dim, dstate))
        small = [(shape, torch.float32) for shape in ((dstate, dim), (dim, ), (dim, ))
                 ] * len(present)
        views = _flat_views(torch.zeros(_flat_bytes(small), dtype=torch.uint8,
                                        device=dout.device), small)
        f32 = dict(dtype=torch.float32, device=dout.device)
        for i in range(2):
            if slots[i] is not None:
                (dA, dD, dbias), views = views[:3], views[3:]
                dA = dA.t()
                dB, dC = (torch.zeros(slots[i][k].shape, **f32) for k in (3, 4))
                grads[i] = (_new(slots[i][0]), _new(slots[i][1]), dA, dB, dC, dD, dbias)
        dz = _new(z) if z is not None else None
        zz, dzz = (z, dz) if z is not None else (dout, dout)
        # an absent direction's arguments repeat the other's (the kernel ignores them)
        grads = [g if g is not None else grads[1 - i] for i, g in enumerate(grads)]
        slot_tensors = [[states[i], *grads[i]] for i in range(2)]
        _launch(scan_backward_kernel, slots, z, softplus, scale, cfg, cfg['BD_B'], cfg['WARPS_B'],
                lambda resident: cfg['WAVES_B'] * resident, 1, slot_tensors,
                lambda i: grads[i][:2], ([dzz, dout, zz], [dzz, dout, zz]), False, torch.float32)
        out = []
        for r in rev:
            slot = slots[int(r)]
            out += [g.to(t.dtype) if t is not None else None for g, t in zip(grads[int(r)], slot)]
        return (None, None, None, None, dz, *out)


def _run_forward(slots, z, y, softplus, scale, cfg, save):
    """The forward kernel writing ``y`` for ``slots``; returns per direction the saved-state
    buffer (``save``) or u."""
    u = next(s for s in slots if s is not None)[0]
    states = [_state_buffer(s, cfg['T']) if save and s is not None else u for s in slots]
    zz = z if z is not None else u
    _launch(scan_forward_kernel, slots, z, softplus, scale, cfg, cfg['BD_F'], cfg['WARPS_F'],
            lambda resident: min(cfg['PROGRAMS_F'], resident), cfg['MIN_TILES_F'],
            [[states[0]], [states[1]]], lambda i: [], ([y, zz], [y, zz]), True,
            _rounded_state_dtype(u), SAVE=save,
            **({'maxnreg': cfg['MAXNREG_SAVE']} if save and cfg['MAXNREG_SAVE']
               and u.is_cuda and torch.version.hip is None else {}))
    return states


def _check_spans(z, slots):
    """Raise a ValueError naming the input whose batch entry spans 2**31 elements or more: the
    kernels index within one entry with int32 offsets."""
    named = [('z', z)] + [(f'{name} ({direction} direction)', t)
                          for direction, slot in zip(('forward', 'reverse'), slots)
                          if slot is not None
                          for name, t in zip(('u', 'delta', 'A', 'B', 'C'), slot)]
    for name, t in named:
        if t is not None and t.dim() == 3:
            check_int32_span(t, name, 'selective scan (triton)')


def _prepare(*slot_tensors):
    """Per direction (u, delta, A, B, C, D, delta_bias): D and delta_bias made contiguous, A
    channel-fastest (the (dim, dstate) view of a contiguous (dstate, dim) tensor; small);
    u, delta, B, C are kept as they are (the kernels take their strides).

    A channel-fastest is what keeps the kernels in their layout: Triton lays a block out after
    the accesses it can see to be contiguous, and the (dstate, channels) blocks loaded from A and
    the chunk links (channel-fastest too) then put one channel on each lane, all states in that
    thread's registers. With A state-fastest it saw no contiguity anywhere in the block and
    spread the states over lanes, converting layouts through shared memory at every position
    (docs/kernel_notes.md, "Why A is channel-fastest")."""
    prepared = list(slot_tensors)
    for i, t in enumerate(prepared):
        if t is None:
            continue
        if i % 7 == 2:
            prepared[i] = t.t().contiguous().t()
        elif i % 7 in (5, 6):
            prepared[i] = t.contiguous()
    return prepared


def _will_backward(*tensors):
    """Whether autograd records the call: grad mode on and an input requiring a gradient.
    (Inside ``Function.forward`` grad mode is always off, and ``ctx.needs_input_grad`` is True
    for inputs that require gradients even under ``torch.no_grad``: inference passes the
    mixer's float32 parameters D and delta_bias as they are, and would save (batch,
    ceil(L / T), NP, dim) states per direction for nothing.)"""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def selective_scan_triton(u, delta, A, B, C, D, z, delta_bias, delta_softplus, reverse):
    """One direction; shapes as in :func:`mmvim.ops.selective_scan`."""
    tensors = _prepare(u, delta, A, B, C, D, delta_bias)
    return _TritonScan.apply((bool(reverse),), delta_softplus, 1.0, _will_backward(z, *tensors),
                             z, *tensors)


def bidirectional_selective_scan_triton(u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f,
                                        u_b, delta_b, A_b, B_b, C_b, D_b, delta_bias_b,
                                        z, delta_softplus, divide_out, out=None):
    """Both directions in one launch; shapes as in
    :func:`mmvim.ops.bidirectional_selective_scan` (``out``: written in place, without
    autograd)."""
    # the kernel takes D and delta_bias for both directions or for neither
    fill = lambda f, b: [u_f.new_zeros(u_f.shape[1], dtype=torch.float32) if t is None and  # noqa
                         (f, b) != (None, None) else t for t in (f, b)]
    (D_f, D_b), (delta_bias_f, delta_bias_b) = fill(D_f, D_b), fill(delta_bias_f, delta_bias_b)
    tensors = _prepare(u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f,
                       u_b, delta_b, A_b, B_b, C_b, D_b, delta_bias_b)
    scale = 0.5 if divide_out else 1.0
    if out is not None:
        check_int32_span(out, 'out', 'selective scan (triton)')
        _run_forward([tensors[:7], tensors[7:]], z, out, delta_softplus, scale, _config(),
                     save=False)
        return out
    return _TritonScan.apply((False, True), delta_softplus, scale, _will_backward(z, *tensors),
                             z, *tensors)
