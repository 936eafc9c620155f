"""The Triton selective-scan kernels against the float64 specification.

On CPU the kernels run under TRITON_INTERPRET=1 (tests/conftest.py) on tiny shapes with short
tiles and several chunks, so the chunk carries, the tile carries and the padding all run. The
``cuda`` tests repeat the comparison at real sizes on a GPU. Inputs are fresh random draws each
run, and outputs are poisoned with NaN first so an element no kernel writes fails the test.
"""
import math

import pytest
import torch
import triton
import triton.language as tl

from mmvim.ops.selective_scan import bidirectional_selective_scan, selective_scan
from mmvim.ops.selective_scan import triton_interface
from mmvim.ops.selective_scan.triton_backward import add_channel_sums
from mmvim.ops.selective_scan.triton_chunk_carry import carry_chunks_kernel
from mmvim.ops.selective_scan.triton_common import softplus
from tests.scan_inputs import rel_err, scan_inputs

ORDER = ('u', 'delta', 'A', 'B', 'C', 'D', 'delta_bias')
TOL = {torch.float32: 1e-5, torch.bfloat16: 1e-2, torch.float16: 1e-2}


@pytest.fixture(autouse=True)
def poison(monkeypatch):
    monkeypatch.setattr(triton_interface, 'POISON_OUTPUTS', True)


@pytest.fixture
def small_tiles(monkeypatch):
    """Tiles of 4 positions and 3 chunks: the interpreter stays fast and every carry runs (its
    two links per direction in one block)."""
    monkeypatch.setattr(triton_interface, 'CONFIG_OVERRIDE',
                        dict(T=4, BD_F=2, BD_B=2, CHUNKS=3, CARRY_BLOCK=2))


@pytest.fixture
def saved_state_buffers(monkeypatch):
    """The per-tile state buffers the forward allocates for the backward, as a list."""
    buffers = []
    real = triton_interface._state_buffer
    monkeypatch.setattr(triton_interface, '_state_buffer',
                        lambda *a: buffers.append(real(*a)) or buffers[-1])
    return buffers


def _double(tensors):
    return {k: None if v is None else v.detach().double().requires_grad_(v.requires_grad)
            for k, v in tensors.items()}


def _check(out, ref, inputs, ref_inputs, tol):
    """Forward and every gradient within ``tol`` of the reference, nothing NaN."""
    assert not out.isnan().any()
    assert rel_err(out, ref) < tol, ('y', rel_err(out, ref))
    grad = torch.randn_like(out)
    out.backward(grad)
    ref.backward(grad.double())
    for name, x in inputs.items():
        if x is None or not x.requires_grad:
            continue
        assert not x.grad.isnan().any(), name
        ref_grad = ref_inputs[name].grad
        if ref_grad.norm() == 0:  # e.g. dA at length 1: only rounding (FMA contraction) remains
            assert x.grad.norm() < 1e-6, (name, x.grad.norm())
            continue
        err = rel_err(x.grad, ref_grad)
        assert err < tol, (name, err)


def _single(batch, dim, length, dstate, dtype, device, reverse, drop=(), softplus=True):
    x = scan_inputs(batch, dim, length, dstate, dtype, device)
    if not softplus:  # without softplus a negative step makes the decay grow without bound
        for name in ('delta', 'delta_bias'):
            x[name] = x[name].detach().abs().requires_grad_()
    for name in drop:
        x[name] = None
    x64 = _double(x)
    out = selective_scan(**x, delta_softplus=softplus, reverse=reverse, backend='triton')
    ref = selective_scan(**x64, delta_softplus=softplus, reverse=reverse,
                         backend='reference' if device == 'cpu' else 'torch')
    _check(out, ref, x, x64, TOL[dtype])


def _bidirectional(batch, dim, length, dstate, dtype, device, divide_out=True, with_z=True):
    xf = scan_inputs(batch, dim, length, dstate, dtype, device)
    xb = scan_inputs(batch, dim, length, dstate, dtype, device)
    inputs = {**{k + '_f': xf[k] for k in ORDER}, **{k + '_b': xb[k] for k in ORDER},
              'z': xf['z'] if with_z else None}
    x64 = _double(inputs)
    out = bidirectional_selective_scan(**inputs, divide_out=divide_out, backend='triton')
    ref = bidirectional_selective_scan(**x64, divide_out=divide_out,
                                       backend='reference' if device == 'cpu' else 'torch')
    _check(out, ref, inputs, x64, TOL[dtype])


@pytest.mark.parametrize('reverse', [False, True])
@pytest.mark.parametrize('length', [1, 2, 7, 37])
def test_single_direction_interpreter(small_tiles, reverse, length):
    _single(2, 5, length, 3, torch.float32, 'cpu', reverse)


@pytest.mark.parametrize('length', [1, 2, 37])
def test_bidirectional_interpreter(small_tiles, length):
    _bidirectional(2, 5, length, 3, torch.float32, 'cpu')


@pytest.mark.parametrize('drop', [('z', 'D', 'delta_bias'), ('z',), ('D',)])
def test_optional_inputs_interpreter(small_tiles, drop):
    _single(1, 3, 9, 2, torch.float32, 'cpu', reverse=True, drop=drop, softplus=False)


def test_bidirectional_no_gate_interpreter(small_tiles):
    _bidirectional(1, 3, 9, 2, torch.float32, 'cpu', divide_out=False, with_z=False)


def test_bf16_and_non_contiguous_interpreter(small_tiles):
    x = scan_inputs(2, 4, 10, 4, torch.bfloat16, 'cpu', requires_grad=False)
    u = x['u'].transpose(0, 1).contiguous().transpose(0, 1)     # non-contiguous view
    out = selective_scan(u, *(x[k] for k in ORDER[1:5]), D=x['D'], z=x['z'],
                         delta_bias=x['delta_bias'], delta_softplus=True, backend='triton')
    ref = selective_scan(**_double(x), delta_softplus=True, backend='reference')
    assert rel_err(out, ref) < TOL[torch.bfloat16]


@pytest.mark.parametrize('grad_mode', [False, True])
def test_states_saved_only_when_autograd_records(small_tiles, saved_state_buffers, grad_mode):
    """Inference (no_grad) with inputs that require gradients, as the mixer's float32 D and
    delta_bias parameters do, allocates no per-tile states; a recorded call does (one buffer
    per direction); the output is right either way."""
    f, b = (scan_inputs(2, 3, 10, 4, torch.float32, 'cpu') for _ in range(2))
    args = [x[k] for x in (f, b) for k in ORDER]
    with torch.set_grad_enabled(grad_mode):
        out = bidirectional_selective_scan(*args, z=f['z'], backend='triton')
    ref = bidirectional_selective_scan(*[a.detach().double() for a in args],
                                       z=f['z'].detach().double(), backend='reference')
    assert len(saved_state_buffers) == (2 if grad_mode else 0)
    assert rel_err(out, ref) < TOL[torch.float32]


@pytest.mark.parametrize('dtype,state_dtype', [(torch.float32, torch.float32),
                                               (torch.bfloat16, torch.bfloat16),
                                               (torch.float16, torch.float32)])
def test_stored_state_dtypes_interpreter(small_tiles, saved_state_buffers, monkeypatch, dtype,
                                         state_dtype):
    """bfloat16 inputs store the forward's states in bfloat16: the tile states saved for the
    backward (half of what a training step keeps for the scan) and the chunk end states the
    carry links; float32 and float16 inputs in float32 (float16's gradients would lose an
    order of magnitude). The backward's adjoint links stay float32. Output and gradients stay
    within the dtype's tolerance of the float64 reference."""
    carried = []
    launch = triton_interface.launch

    def recording_launch(kernel, key, grid, *args, **flags):
        if kernel is carry_chunks_kernel:
            carried.append((args[0].dtype, args[3].dtype))      # end_f, end_b
        return launch(kernel, key, grid, *args, **flags)

    monkeypatch.setattr(triton_interface, 'launch', recording_launch)
    _bidirectional(2, 3, 13, 4, dtype, 'cpu')
    assert [s.dtype for s in saved_state_buffers] == [state_dtype] * 2
    assert carried == [(state_dtype, state_dtype), (torch.float32, torch.float32)]


@pytest.mark.parametrize('spills', [False, True])
def test_register_cap_dropped_where_it_spills(spills):
    """A register cap under which the compiled kernel spills is dropped, and the resident
    count is then the uncapped kernel's; without spills the flags stay as given."""
    seen = []

    def compiled_facts(flags):
        seen.append(dict(flags))
        capped = 'maxnreg' in flags
        return (24 if capped else 16), capped and spills

    flags = dict(SAVE=True, num_warps=1, maxnreg=80)
    kept, resident = triton_interface._register_cap_without_spills(flags, compiled_facts)
    if spills:
        assert kept == dict(SAVE=True, num_warps=1) and resident == 16
        assert seen == [flags, kept]
    else:
        assert kept == flags and resident == 24 and seen == [flags]
    assert flags == dict(SAVE=True, num_warps=1, maxnreg=80)     # the caller's left as it was


@pytest.mark.cuda
@pytest.mark.parametrize('cap,kept', [(255, True), (24, False)])
def test_saving_forward_register_cap_cuda(monkeypatch, cap, kept):
    """The forward kernel saving states runs under MAXNREG_SAVE unless it would spill there
    (in 24 registers it must; in 255 it need not), and its gradients are right either way."""
    monkeypatch.setattr(triton_interface, 'CONFIG_OVERRIDE', dict(MAXNREG_SAVE=cap))
    monkeypatch.setattr(triton_interface, '_PLANS', {})
    _bidirectional(2, 100, 1025, 16, torch.bfloat16, 'cuda')
    forward = [p for p in triton_interface._PLANS.values() if 'SAVE' in p.flags]
    assert len(forward) == 1
    assert ('maxnreg' in forward[0].flags) == kept


def _channel_last(x, names=('u', 'delta', 'z')):
    """Views with the Vim mixer's strides: (batch, dim, length) views of (batch, length, dim)
    tensors for ``names``, and B, C as views of one (batch, length, 2 * dstate) tensor."""
    out = dict(x)
    for k in names:
        out[k] = x[k].detach().transpose(1, 2).contiguous().transpose(1, 2).requires_grad_()
    bc = torch.cat([x['B'].detach(), x['C'].detach()], 1).transpose(1, 2).contiguous()
    bc = bc.transpose(1, 2)                                    # (batch, 2 * dstate, length)
    dstate = x['B'].shape[1]
    leaf = bc.detach().requires_grad_()
    out['_bc'] = leaf
    out['B'], out['C'] = leaf[:, :dstate], leaf[:, dstate:]
    return out


def _strided(batch, dim, length, dstate, dtype, device):
    """Bidirectional op on strided views (no copies in the kernels) against the reference."""
    xf = _channel_last(scan_inputs(batch, dim, length, dstate, dtype, device))
    xb = _channel_last(scan_inputs(batch, dim, length, dstate, dtype, device), ('delta',))
    leaves = {'bc_f': xf.pop('_bc'), 'bc_b': xb.pop('_bc')}
    inputs = {**{k + '_f': xf[k] for k in ORDER}, **{k + '_b': xb[k] for k in ORDER},
              'z': xf['z']}
    x64 = {k: v.detach().double() for k, v in inputs.items()}
    ref_leaves = {k: v.detach().double().requires_grad_() for k, v in leaves.items()}
    for s in 'fb':
        x64['B_' + s], x64['C_' + s] = ref_leaves['bc_' + s].split(dstate, 1)
    for k, v in x64.items():
        if inputs[k].is_leaf:
            v.requires_grad_()
    out = bidirectional_selective_scan(**inputs, backend='triton')
    ref = bidirectional_selective_scan(**x64, backend='reference' if device == 'cpu'
                                       else 'torch')
    checked = {k: v for k, v in inputs.items() if v.is_leaf}
    _check(out, ref, {**checked, **leaves}, {**x64, **ref_leaves}, TOL[dtype])


def test_strided_inputs_interpreter(small_tiles):
    _strided(2, 5, 13, 3, torch.float32, 'cpu')


def test_same_shapes_other_strides_interpreter(small_tiles):
    """The launch plans are cached per input signature: calls with the same shapes but other
    strides must not share one (the tests' VERIFY also rebuilds every cached plan)."""
    _bidirectional(2, 5, 13, 4, torch.float32, 'cpu')   # dstate 4: C's view is 16-byte aligned
    _strided(2, 5, 13, 4, torch.float32, 'cpu')
    _bidirectional(2, 5, 13, 4, torch.float32, 'cpu')


@pytest.mark.parametrize('dtype,dstate,packed', [(torch.bfloat16, 4, True),
                                                 (torch.float16, 4, True),
                                                 (torch.bfloat16, 3, False)])
def test_strided_16bit_interpreter(small_tiles, monkeypatch, dtype, dstate, packed):
    """16-bit B and C as views of one (batch, length, 2 * dstate) tensor: with dstate 4 the
    forward and backward kernels read them as 32-bit words of two states; with 3, C starts at an
    odd offset and both are read state by state."""
    chosen = []
    pack = triton_interface._pack
    monkeypatch.setattr(triton_interface, '_pack', lambda slot: chosen.append(pack(slot)) or
                        chosen[-1])
    _strided(2, 5, 13, dstate, dtype, 'cpu')
    assert chosen == ([2] * 4 if packed else [1] * 4)   # two slots, forward and backward


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('batch,dim,length', [(2, 200, 1025), (1, 384, 6085)])
def test_strided_inputs_cuda(dtype, batch, dim, length):
    _strided(batch, dim, length, 16, dtype, 'cuda')


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('batch,dim,length', [(1, 384, 6085), (2, 100, 1025), (16, 24, 197),
                                              (1, 64, 16385), (3, 40, 1), (2, 48, 2),
                                              (4, 384, 4097)])
def test_bidirectional_cuda(dtype, batch, dim, length):
    _bidirectional(batch, dim, length, 16, dtype, 'cuda')


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', [torch.float32, torch.float16])
@pytest.mark.parametrize('reverse', [False, True])
def test_single_direction_cuda(dtype, reverse):
    _single(2, 200, 1025, 16, dtype, 'cuda', reverse)


@pytest.mark.parametrize('batch,dim,length', [(0, 5, 7), (2, 5, 0), (2, 0, 7)])
def test_empty_inputs_interpreter(batch, dim, length):
    """No batch entries, channels or positions: an empty output and zero gradients for A, D
    and delta_bias (no launch, no division by an empty grid)."""
    xf, xb = (scan_inputs(batch, dim, length, 3) for _ in range(2))
    inputs = {**{k + '_f': xf[k] for k in ORDER}, **{k + '_b': xb[k] for k in ORDER},
              'z': xf['z']}
    out = bidirectional_selective_scan(**inputs, backend='triton')
    assert out.shape == (batch, dim, length)
    out.sum().backward()
    for name, x in inputs.items():
        assert x.grad is not None and x.grad.shape == x.shape, name
        assert not x.grad.isnan().any() and (x.grad == 0).all(), name


@pytest.mark.parametrize('batch,dim,length,resident,chunks', [
    (1, 96, 1000, 1, 2),     # 3 programs, 8 slots: 2 chunks (3 would need a third wave)
    (1, 64, 1000, 8, 32),    # 2 programs, 64 slots
    (2, 100, 7, 3, 2),       # 8 programs, 24 slots, but only 2 tiles
    (8, 768, 1024, 8, 1)])   # 192 programs fill more than two waves alone
def test_backward_chunking_stays_within_waves(batch, dim, length, resident, chunks):
    """The backward grid is at most WAVES_B waves of resident programs (4 'multiprocessors'
    on the CPU), as many chunks as fit, and the chunks cover the length."""
    cfg = dict(triton_interface.DEFAULT_CONFIG, WAVES_B=2)
    device = torch.device('cpu')
    nc, chunk, tpc = triton_interface._chunking(batch, dim, length, cfg['BD_B'], cfg, device,
                                                cfg['WAVES_B'] * resident)
    assert nc == chunks
    assert chunk == tpc * cfg['T'] and nc * chunk >= length > (nc - 1) * chunk


@pytest.mark.parametrize('length,min_tiles,chunks', [
    (1025, 1, 52),      # 1 program, 64 slots: 257 tiles in chunks of 5
    (1025, 8, 33),      # at least 8 tiles a chunk
    (20, 8, 1)])        # 5 tiles: one chunk
def test_chunks_keep_min_tiles(length, min_tiles, chunks):
    """Chunks of at least ``min_tiles`` tiles (the forward's MIN_TILES_F), even where more
    chunks would fit on the GPU."""
    cfg = dict(triton_interface.DEFAULT_CONFIG)
    nc, chunk, tpc = triton_interface._chunking(1, 32, length, 32, cfg, torch.device('cpu'), 16,
                                                min_tiles)
    assert nc == chunks
    assert tpc >= min(min_tiles, triton.cdiv(length, cfg['T']))
    assert nc * chunk >= length > (nc - 1) * chunk


def test_forward_and_backward_chunked_differently_interpreter(monkeypatch):
    """The backward reads the states the forward saved per tile whatever the chunking: here the
    forward splits 37 positions into 10 chunks of one tile and the backward into 5 of two."""
    monkeypatch.setattr(triton_interface, 'CONFIG_OVERRIDE', dict(T=4, BD_F=2, BD_B=1))
    cfg = {**triton_interface.DEFAULT_CONFIG, **triton_interface.CONFIG_OVERRIDE}
    cpu = torch.device('cpu')
    assert triton_interface._chunking(1, 5, 37, 2, cfg, cpu)[:2] == (10, 4)
    assert triton_interface._chunking(1, 5, 37, 1, cfg, cpu)[:2] == (5, 8)
    _bidirectional(1, 5, 37, 3, torch.float32, 'cpu')


@pytest.mark.parametrize('block', [2, 8])
def test_carry_blocks_interpreter(monkeypatch, block):
    """The carry kernel loads its chunk links in blocks of CARRY_BLOCK: 6 chunks give each
    direction 5 links, in blocks of 2, 2 and a masked tail of 1, or one block of 8 with 3
    masked; forward and backward (whose adjoint is carried the other way)."""
    monkeypatch.setattr(triton_interface, 'CONFIG_OVERRIDE',
                        dict(T=4, BD_F=2, BD_B=2, CHUNKS=6, CARRY_BLOCK=block))
    _bidirectional(1, 3, 23, 3, torch.float32, 'cpu')


@pytest.mark.parametrize('chunks', [2, 5, 6])
@pytest.mark.parametrize('block', [2, 8])
@pytest.mark.parametrize('ascending_f', [True, False])
@pytest.mark.parametrize('end_dtype', [torch.float32, torch.bfloat16])
def test_carry_kernel_against_a_python_fold_interpreter(chunks, block, ascending_f, end_dtype):
    """The carry kernel alone: each direction's slots, in its order, end up holding the state
    entering the next chunk (h <- exp(A sum_j) h + end_j from a zero state, folded in float32
    also where the end states are bfloat16, each stored rounded); the slot of the chunk it ends
    with (stage 1 leaves it unwritten) and the padded states keep what they held."""
    batch, dim, nstate, np2, sentinel = 2, 5, 3, 4, 1e3      # dim != dstate: strides differ
    links = {}
    for name in ('f', 'b'):
        end = torch.randn(batch, chunks, np2, dim).to(end_dtype)
        sums = torch.rand(batch, chunks, dim)
        end[:, :, nstate:] = sentinel
        links[name] = (end, sums, -torch.rand(dim, nstate) - 0.1)
    order = {'f': list(range(chunks)), 'b': list(range(chunks))[::-1]}
    if not ascending_f:
        order = {'f': order['b'], 'b': order['f']}
    expected = {}
    for name, (end, sums, A) in links.items():
        end[:, order[name][-1]] = sentinel        # the direction's last chunk: no summary
        want, h = end.clone(), torch.zeros(batch, nstate, dim)
        for c in order[name][:-1]:
            h = torch.exp(A.T * sums[:, c, None]) * h + end[:, c, :nstate].float()
            want[:, c, :nstate] = h.to(end_dtype)
        expected[name] = want
    # A channel-fastest, as the launcher passes it: state stride dim, as the links have
    args = [t for name in ('f', 'b') for t in (*links[name][:2], links[name][2].T.contiguous())]
    carry_chunks_kernel[(batch * triton.cdiv(dim, 2), 2)](
        *args, dim, nstate, chunks, dim, HAS_F=True, HAS_B=True, ASC_F=ascending_f, BD=2,
        NP=np2, BLOCK=block)
    # bfloat16: the kernel's float32 fold may differ from this one in the last bits, which can
    # round a stored state one step the other way
    tol = dict(rtol=1e-5, atol=1e-6) if end_dtype == torch.float32 else dict(rtol=2**-7, atol=0)
    for name in ('f', 'b'):
        torch.testing.assert_close(links[name][0], expected[name], **tol)


def test_flat_views_are_aligned_disjoint_typed_and_poisoned():
    """The link and gradient-sum buffers' views: each of its shape and dtype, contiguous,
    starting 16 bytes apart at least and on a 16-byte boundary of the buffer (Triton specialises
    on pointer alignment), not overlapping, NaN where the buffer is poisoned."""
    specs = [((3, 5), torch.bfloat16), ((7, ), torch.float32), ((0, 4), torch.float32),
             ((2, 3, 1), torch.bfloat16), ((1, ), torch.float32), ((9, ), torch.bfloat16)]
    nbytes = triton_interface._flat_bytes(specs)
    flat = triton_interface._new_flat(nbytes, 'cpu', poison=True)
    views = triton_interface._flat_views(flat, specs)
    assert flat.dtype == torch.uint8 and flat.numel() == nbytes
    assert nbytes == sum(-(-math.prod(shape) * dtype.itemsize // 16) * 16
                         for shape, dtype in specs)
    for (shape, dtype), view in zip(specs, views):
        assert (view.shape, view.dtype, view.is_contiguous()) == (shape, dtype, True)
        assert (view.data_ptr() - flat.data_ptr()) % 16 == 0
        assert view.isnan().all()
    for i, view in enumerate(views):
        view.fill_(i + 1)
    for i, view in enumerate(views):
        assert (view == i + 1).all(), i


@triton.jit
def _channel_sums_kernel(x_ptr, out_ptr, t, L, NSTATE, NP: tl.constexpr, PACK: tl.constexpr,
                         BD: tl.constexpr):
    """One (NP // PACK, PACK, BD) block from a contiguous (NP, BD) x, summed into out."""
    n = tl.arange(0, NP // PACK)[:, None, None] * PACK + tl.arange(0, PACK)[None, :, None]
    x = tl.load(x_ptr + n * BD + tl.arange(0, BD)[None, None, :])
    add_channel_sums(out_ptr, x, t, L, NSTATE)


@pytest.mark.parametrize('np2,pack,bd,warps,padded', [
    (16, 2, 32, 1, True), (16, 2, 32, 1, False), (4, 1, 32, 1, True), (16, 2, 4, 1, True),
    (2, 2, 8, 1, True), (8, 1, 1, 1, True), (1, 1, 32, 1, False), (16, 2, 64, 2, True)])
@pytest.mark.parametrize('t', [0, 6, 7])
def test_channel_sums_reduce_scatter(np2, pack, bd, warps, padded, t):
    """The backward's dB / dC sums over a block's channels: out[n, t] += sum_d x[n, d] for the
    states n < NSTATE (NP - 1 where ``padded``) and t < L (here 7), nothing else touched; more
    states than channels, fewer (the butterfly stage), one state, one channel, two warps.
    Under the interpreter on CPU (the lanes are then only an index), on the GPU as compiled
    (tl.gather as shuffles, between warps through shared memory) where there is one."""
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    nstate, length = np2 - int(padded), 7
    x = torch.randn(np2, bd, device=device)
    out = torch.randn(np2, length, device=device)
    expected = out.clone()
    if t < length:
        expected[:nstate, t] += x[:nstate].sum(1)
    _channel_sums_kernel[(1, )](x, out, t, length, nstate, NP=np2, PACK=pack, BD=bd,
                                num_warps=warps)
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-5)


@triton.jit
def _softplus_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    tl.store(out_ptr + offsets, softplus(tl.load(x_ptr + offsets, mask=mask)), mask=mask)


def test_softplus_matches_float64():
    """The kernels' float32 softplus (a series for log1p) within 5e-7 relative of float64 from
    -40 to 40, where the result runs from ~4e-18 (it is exp(x) there) to 40."""
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    x = torch.cat([torch.linspace(-40, 40, 20001), torch.randn(999) * 5]).to(device)
    out = torch.empty_like(x)
    _softplus_kernel[(triton.cdiv(x.numel(), 1024), )](x, out, x.numel(), BLOCK=1024)
    expected = torch.nn.functional.softplus(x.double())
    assert ((out.double() - expected).abs() / expected).max() < 5e-7
