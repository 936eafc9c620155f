"""Autograd functions and launch code for the Triton selective-scan kernels.

One autograd Function serves the single-direction op (either direction) and the fused
bidirectional one: a direction is a slot ('f' runs first to last, 'b' last to first) of the same
two kernels. Only the inputs and, per direction, the state entering every tile of ``T``
positions, (batch, ceil(length / T), NP, dim) float32, are kept for the backward pass.

u, delta, z, B, C (and the incoming gradient) go to the kernels with their own strides: no
copies. Outputs and gradients of (batch, dim, length) tensors are allocated channel-fastest when
the tensor they mirror is (a view of a (batch, length, dim) tensor, as in the Vim mixer).
"""
import functools
import math

import torch
import triton

from ..layout import new_like
from .triton_backward import scan_backward_kernel
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
# MIN_TILES_F tiles (the last may be shorter): each chunk folds all earlier ones, which outweighs
# a short chunk's own work. One-warp programs were the fastest on an H100
# (docs/kernel_notes.md, v4, backward v4 and session 5).
DEFAULT_CONFIG = dict(T=4, BD_F=32, WARPS_F=1, BD_B=32, WARPS_B=1, PROGRAMS_F=12, WAVES_B=2,
                      WAVES=8, MIN_TILES_F=6)


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


def _resident_programs(kernel, flags, tensors, build):
    """Programs of ``kernel`` that one multiprocessor holds at once, from the compiled kernel's
    registers, shared memory and warps, or None where Triton does not say its register count.
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
        if n_regs:
            props = torch.cuda.get_device_properties(tensors[0].device)
            threads = getattr(props, 'warp_size', 32) * flags['num_warps']
            regs = triton.cdiv(n_regs, 8) * 8 * threads         # allocated per warp in 256s
            smem = compiled.metadata.shared + 1024              # 1 KB reserved per block
            resident = max(1, min(
                getattr(props, 'regs_per_multiprocessor', 65536) // regs,
                getattr(props, 'shared_memory_per_multiprocessor', 228 * 1024) // smem,
                props.max_threads_per_multi_processor // threads, 32))
        _RESIDENT[key] = resident
    return _RESIDENT[key]


def _new(like, dtype=None):
    """Output or gradient mirroring ``like``'s layout (see :func:`mmvim.ops.layout.new_like`)."""
    return new_like(like, dtype, poison=POISON_OUTPUTS)


def _link(*shape, **kwargs):
    """A chunk-link buffer (stage 1 writes what stage 2 reads), NaN-filled under POISON_OUTPUTS
    so that an entry read before it is written shows up."""
    return (torch.full(shape, float('nan'), **kwargs) if POISON_OUTPUTS
            else torch.empty(shape, **kwargs))


def _launch(kernel, slots, z, softplus, scale, cfg, bd, warps, per_sm, min_tiles, per_slot, head,
            **extra):
    """Launch ``kernel`` (stage 1 when the length is split into chunks, then stage 2).

    ``slots`` is [forward direction, reverse direction], each a tuple (u, delta, A, B, C, D,
    delta_bias) or None; ``per_slot(slot, i)`` gives that slot's extra (tensors, strides),
    passed after its chunk-link buffers and after the strides of u, delta, B, C respectively; an
    absent slot reuses the other's tensors, which the kernel ignores. ``per_sm(resident)``:
    programs per multiprocessor to chunk for, given how many it holds at once, in chunks of at
    least ``min_tiles`` tiles (see :func:`_chunking`).
    """
    u, A = next(s for s in slots if s is not None)[0:3:2]
    batch, dim, length = u.shape
    present = [s is not None for s in slots]
    T = cfg['T']
    np2 = triton.next_power_of_2(A.shape[1])
    f32 = dict(dtype=torch.float32, device=u.device)
    pieces = []
    for i in range(2):
        slot = slots[i] if present[i] else slots[1 - i]
        tensors, strides = per_slot(slot, i)
        strides = [st for t in (slot[0], slot[1], slot[3], slot[4]) for st in t.stride()] + strides
        pieces.append(([t if t is not None else u for t in slot], tensors, strides))
    ref = slots[present.index(True)]
    flags = dict(HAS_F=present[0], HAS_B=present[1], HAS_Z=z is not None,
                 HAS_D=ref[5] is not None, HAS_BIAS=ref[6] is not None, SOFTPLUS=softplus,
                 BD=bd, NP=np2, T=T, num_warps=warps, **extra)

    def arguments(chunking):
        """Grid and kernel arguments for a (NC, CHUNK, TPC) chunking (the chunk-link buffers
        depend on it)."""
        nc, chunk, tpc = chunking
        args = list(head)
        for inputs, tensors, strides in pieces:
            args += inputs
            args += [_link(batch, nc, np2, dim, **f32), _link(batch, nc, dim, **f32)]
            args += tensors + strides
        sizes = (length, dim, A.shape[1], nc, chunk, tpc, triton.cdiv(length, T), scale,
                 A.stride(1))
        return (batch * triton.cdiv(dim, bd), nc), args + list(sizes)

    if u.numel() == 0:      # nothing to compute: outputs are empty, gradient sums stay zero
        return
    resident = None
    if u.device.type == 'cuda':
        tensors = [t for inputs, _, _ in pieces for t in inputs] + [
            t for t in head if isinstance(t, torch.Tensor)]
        resident = _resident_programs(
            kernel, dict(flags, OUTPUT=True), tensors,
            lambda: arguments(_chunking(batch, dim, length, bd, cfg, u.device)))
    grid, args = arguments(_chunking(batch, dim, length, bd, cfg, u.device,
                                     per_sm(resident) if resident else None, min_tiles))
    if grid[1] > 1:     # stage 1: each direction's last chunk needs no summary (kernel docs)
        kernel[grid[0], grid[1] - 1](*args, OUTPUT=False, **flags)
    kernel[grid](*args, OUTPUT=True, **flags)


def _pack(slot):
    """2 when the slot's B and C can be read as 32-bit words of two 16-bit states (N contiguous,
    even offsets and strides, 4-byte aligned), else 1 (also for an absent slot)."""
    if slot is None:
        return 1
    B, C = slot[3], slot[4]
    return 2 if all(t.element_size() == 2 and t.stride(1) == 1 and t.shape[1] % 2 == 0
                    and t.stride(0) % 2 == 0 and t.stride(2) % 2 == 0
                    and t.data_ptr() % 4 == 0 for t in (B, C)) else 1


def _state_buffer(slot, T):
    """(batch, ceil(length / T), NP, dim) float32: the state entering each tile."""
    batch, dim, length = slot[0].shape
    return torch.empty(batch, triton.cdiv(length, T), triton.next_power_of_2(slot[2].shape[1]),
                       dim, dtype=torch.float32, device=slot[0].device)


class _TritonScan(torch.autograd.Function):
    """Inputs: rev (one bool per direction: False runs first to last), softplus, scale, z, then
    per direction u, delta, A, B, C, D, delta_bias. Output: sum of directions * silu(z) * scale."""

    @staticmethod
    def forward(ctx, rev, softplus, scale, z, *tensors):
        slots = [None, None]
        for i, r in enumerate(rev):
            slots[int(r)] = tensors[7 * i:7 * i + 7]
        cfg = {**DEFAULT_CONFIG, **CONFIG_OVERRIDE}
        save = any(ctx.needs_input_grad)
        u = tensors[0]
        y = _new(z if z is not None else u, u.dtype)
        states = [_state_buffer(s, cfg['T']) if save and s is not None else None for s in slots]
        zz = z if z is not None else u
        _launch(scan_forward_kernel, slots, z, softplus, scale, cfg, cfg['BD_F'],
                cfg['WARPS_F'], lambda resident: min(cfg['PROGRAMS_F'], resident),
                cfg['MIN_TILES_F'],
                lambda slot, i: ([states[i] if states[i] is not None else u], []),
                (y, zz, *y.stride(), *zz.stride()), SAVE=save,
                PACK_F=_pack(slots[0]), PACK_B=_pack(slots[1]))
        if save:
            ctx.save_for_backward(z, *tensors, *[s for s in states if s is not None])
            ctx.config = (rev, softplus, scale, cfg)
        return y

    @staticmethod
    def backward(ctx, dout):
        rev, softplus, scale, cfg = ctx.config
        if _entry_span(dout) >= 2**31:      # autograd chose its strides; dense it fits (as u)
            dout = dout.contiguous()
        z, *saved = ctx.saved_tensors
        tensors, kept = saved[:7 * len(rev)], list(saved[7 * len(rev):])
        slots, states, grads = [None, None], [None, None], [None, None]
        for i, r in enumerate(rev):
            slots[int(r)] = tensors[7 * i:7 * i + 7]
        for i in range(2):
            states[i] = kept.pop(0) if slots[i] is not None else None
        f32 = dict(dtype=torch.float32, device=dout.device)

        def per_slot(slot, i):
            grads[i] = (_new(slot[0]), _new(slot[1]), torch.zeros(slot[2].shape, **f32),
                        torch.zeros(slot[3].shape, **f32), torch.zeros(slot[4].shape, **f32),
                        torch.zeros(slot[0].shape[1], **f32), torch.zeros(slot[0].shape[1], **f32))
            return ([states[i] if states[i] is not None else dout, *grads[i]],
                    [*grads[i][0].stride(), *grads[i][1].stride()])

        dz = _new(z) if z is not None else None
        zz, dzz = (z, dz) if z is not None else (dout, dout)
        _launch(scan_backward_kernel, slots, z, softplus, scale, cfg, cfg['BD_B'],
                cfg['WARPS_B'], lambda resident: cfg['WAVES_B'] * resident, 1, per_slot,
                (dzz, dout, zz, *dzz.stride(), *dout.stride(), *zz.stride()),
                PACK_F=_pack(slots[0]), PACK_B=_pack(slots[1]))
        out = []
        for r in rev:
            slot = slots[int(r)]
            out += [g.to(t.dtype) if t is not None else None for g, t in zip(grads[int(r)], slot)]
        return (None, None, None, dz, *out)


def _entry_span(t):
    """Elements between the first and the last of one batch entry of a (batch, rows, length)
    tensor: the kernels index within an entry with int32 offsets."""
    return sum((size - 1) * stride for size, stride in zip(t.shape[1:], t.stride()[1:]))


# z, then each direction's (u, delta, A, B, C, D, delta_bias), as _prepare takes them
_ARGUMENT_NAMES = ['z'] + [f'{name} (direction {i // 7})' for i, name in
                           enumerate(('u', 'delta', 'A', 'B', 'C', 'D', 'delta_bias') * 2)]


def _prepare(z, *slot_tensors):
    """Per direction (u, delta, A, B, C, D, delta_bias): A, D, delta_bias made contiguous (small);
    u, delta, B, C and z are kept as they are (the kernels take their strides, and index one
    batch entry with int32 offsets)."""
    out = [t.contiguous() if t is not None and i % 7 in (2, 5, 6) else t
           for i, t in enumerate(slot_tensors)]
    for name, t in zip(_ARGUMENT_NAMES, (z, *slot_tensors)):
        if t is not None and t.dim() == 3 and _entry_span(t) >= 2**31:
            raise ValueError(f'selective scan (triton): one batch entry of {name} '
                             f'{tuple(t.shape)} with strides {t.stride()} spans 2**31 elements')
    return z, out


def selective_scan_triton(u, delta, A, B, C, D, z, delta_bias, delta_softplus, reverse):
    """One direction; shapes as in :func:`mmvim.ops.selective_scan`."""
    z, tensors = _prepare(z, u, delta, A, B, C, D, delta_bias)
    return _TritonScan.apply((bool(reverse),), delta_softplus, 1.0, z, *tensors)


def bidirectional_selective_scan_triton(u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f,
                                        u_b, delta_b, A_b, B_b, C_b, D_b, delta_bias_b,
                                        z, delta_softplus, divide_out):
    """Both directions in one launch; shapes as in :func:`mmvim.ops.bidirectional_selective_scan`."""
    # the kernel takes D and delta_bias for both directions or for neither
    fill = lambda f, b: [u_f.new_zeros(u_f.shape[1], dtype=torch.float32) if t is None and  # noqa
                         (f, b) != (None, None) else t for t in (f, b)]
    (D_f, D_b), (delta_bias_f, delta_bias_b) = fill(D_f, D_b), fill(delta_bias_f, delta_bias_b)
    z, tensors = _prepare(z, u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f,
                          u_b, delta_b, A_b, B_b, C_b, D_b, delta_bias_b)
    return _TritonScan.apply((False, True), delta_softplus, 0.5 if divide_out else 1.0, z,
                             *tensors)
