"""Vim's building blocks against independent, official-style formulations."""

import pytest
import torch
import torch.nn.functional as F

from mmvim.models.layers import BiMambaMixer, RMSNorm, bimamba, cls_token_index, resize_pos_embed
from mmvim.ops import selective_scan_ref


def test_rms_norm_formula():
    norm = RMSNorm(8, eps=1e-5)
    norm.weight.data.normal_()
    x = torch.randn(3, 5, 8, dtype=torch.float64)
    expected = x / torch.sqrt((x**2).mean(-1, keepdim=True) + 1e-5) * norm.weight.double()
    torch.testing.assert_close(norm(x), expected, rtol=1e-6, atol=1e-6)  # computed in float32
    assert norm(x.to(torch.bfloat16)).dtype == torch.bfloat16


def official_mixer_forward(m, hidden):
    """Vim's bimamba v2 path as the official code runs it: the backward direction on flipped
    copies of the sequence (flip in, causal conv, scan, flip out)."""
    xz = hidden @ m.in_proj.weight.T
    x, z = xz.transpose(1, 2).chunk(2, dim=1)
    outs = []
    for suffix, flip in (('', False), ('_b', True)):
        xs, zs = (x.flip(-1), z.flip(-1)) if flip else (x, z)
        conv = getattr(m, 'conv1d' + suffix)
        xc = F.silu(F.conv1d(xs, conv.weight, conv.bias, padding=3, groups=xs.shape[1])
                    [..., :xs.shape[-1]])
        x_dbl = xc.transpose(1, 2) @ getattr(m, 'x_proj' + suffix).weight.T
        dt, B, C = x_dbl.split([m.dt_rank, m.d_state, m.d_state], dim=-1)
        dt_proj = getattr(m, 'dt_proj' + suffix)
        delta = (dt @ dt_proj.weight.T).transpose(1, 2)
        y = selective_scan_ref(xc, delta, -torch.exp(getattr(m, 'A' + suffix + '_log')),
                               B.transpose(1, 2), C.transpose(1, 2), getattr(m, 'D' + suffix),
                               zs, dt_proj.bias, delta_softplus=True)
        outs.append(y.flip(-1) if flip else y)
    y = (outs[0] + outs[1]).transpose(1, 2)
    return (y / 2 if m.divide_out else y) @ m.out_proj.weight.T


@pytest.mark.parametrize('backend', ['torch', 'reference', 'triton'])
@pytest.mark.parametrize('path', ['autograd', 'fused', 'lean'])
@pytest.mark.parametrize('divide_out', [True, False])
def test_mixer_matches_official_flip_formulation(monkeypatch, backend, path, divide_out):
    """Each path of the mixer: the fused scan with autograd recording and without it, and the
    memory-lean inference path (taken without autograd from ``LEAN_MIN_LENGTH`` tokens; the
    threshold is set at the test's length, or one above it for the plain inference path).
    Triton runs under the interpreter on CPU."""
    mixer = BiMambaMixer(16, d_state=4, divide_out=divide_out, scan_backend=backend).double()
    with torch.no_grad():                 # move D and the biases off their init values
        for p in mixer.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    hidden = torch.randn(2, 13, 16, dtype=torch.float64)
    calls = []
    lean = BiMambaMixer.forward_lean
    monkeypatch.setattr(BiMambaMixer, 'forward_lean',
                        lambda self, h: calls.append(1) or lean(self, h))
    monkeypatch.setattr(bimamba, 'LEAN_MIN_LENGTH', 14 if path == 'fused' else 13)
    with torch.set_grad_enabled(path == 'autograd'):
        out = mixer(hidden)
    assert out.requires_grad == (path == 'autograd')
    assert len(calls) == (path == 'lean')
    # the Triton kernels keep a float32 state (and softplus) for float64 inputs too
    tol = dict(rtol=1e-5, atol=1e-6) if backend == 'triton' else {}
    with torch.no_grad():
        torch.testing.assert_close(out, official_mixer_forward(mixer, hidden), **tol)


def test_mixer_parameter_names_and_init():
    mixer = BiMambaMixer(192)
    shapes = {k: tuple(v.shape) for k, v in mixer.state_dict().items()}
    E, R, N = 384, 12, 16
    assert shapes == {
        'in_proj.weight': (2 * E, 192), 'out_proj.weight': (192, E),
        'conv1d.weight': (E, 1, 4), 'conv1d.bias': (E, ), 'conv1d_b.weight': (E, 1, 4),
        'conv1d_b.bias': (E, ), 'x_proj.weight': (R + 2 * N, E), 'x_proj_b.weight': (R + 2 * N, E),
        'dt_proj.weight': (E, R), 'dt_proj.bias': (E, ), 'dt_proj_b.weight': (E, R),
        'dt_proj_b.bias': (E, ), 'A_log': (E, N), 'A_b_log': (E, N), 'D': (E, ), 'D_b': (E, )}
    torch.testing.assert_close(mixer.A_b_log[7], torch.log(torch.arange(1.0, N + 1)))
    dt = F.softplus(mixer.dt_proj.bias)
    assert dt.min() >= 1e-4 - 1e-7 and dt.max() <= 0.1 + 1e-6
    assert mixer.dt_proj.weight.abs().max() <= R**-0.5


@pytest.mark.parametrize('grad,frozen', [(False, False), (True, False), (True, True)])
def test_mixer_passes_A_as_negative_exp_of_A_log(monkeypatch, grad, frozen):
    """Both directions' A is -exp(A_log); where autograd does not record it (no grad mode, or
    frozen parameters) it is made channel-fastest, the layout the Triton scan's launcher then
    passes on without a copy; under autograd its gradient reaches A_log."""
    from mmvim.ops.selective_scan.triton_interface import _prepare
    seen = []
    scan = bimamba.bidirectional_selective_scan

    def spy(*args, **kwargs):
        seen.extend([args[2], args[9]])
        return scan(*args, **kwargs)

    monkeypatch.setattr(bimamba, 'bidirectional_selective_scan', spy)
    mixer = BiMambaMixer(8, d_state=4).requires_grad_(not frozen)
    hidden = torch.randn(2, 5, 8)
    with torch.set_grad_enabled(grad):
        out = mixer(hidden)
    records = grad and not frozen
    for A, A_log in zip(seen, (mixer.A_log, mixer.A_b_log)):
        torch.testing.assert_close(A, -torch.exp(A_log))
        assert A.requires_grad == records
        if not records:
            assert _prepare(None, None, A)[2].data_ptr() == A.data_ptr()     # not copied
    if records:
        out.sum().backward()
        assert mixer.A_log.grad.abs().sum() > 0 and mixer.A_b_log.grad.abs().sum() > 0


def test_pos_embed_resize_identity_and_class_entry():
    pos = torch.randn(1, 197, 8)
    torch.testing.assert_close(resize_pos_embed(pos, (14, 14), (14, 14), 98, 98), pos)
    resized = resize_pos_embed(pos, (14, 14), (32, 32), 98, cls_token_index('middle', 1024))
    assert resized.shape == (1, 1025, 8)
    torch.testing.assert_close(resized[:, 512], pos[:, 98])
    head = resize_pos_embed(pos, (14, 14), (20, 30), 98, 0)
    torch.testing.assert_close(head[:, 0], pos[:, 98])
    assert resize_pos_embed(pos, (14, 14), (20, 30), 98, None).shape == (1, 600, 8)


def test_pos_embed_resize_non_square_is_smooth():
    """A smooth embedding stays smooth: resizing a linear ramp gives (nearly) a linear ramp."""
    rows, cols = torch.meshgrid(torch.linspace(0, 1, 14), torch.linspace(0, 1, 14), indexing='ij')
    pos = torch.stack([rows, cols], -1).reshape(1, 196, 2)
    out = resize_pos_embed(pos, (14, 14), (21, 35)).reshape(21, 35, 2)
    assert (out[1:, :, 0] - out[:-1, :, 0]).min() > 0       # rows increase down
    assert (out[:, 1:, 1] - out[:, :-1, 1]).min() > 0       # cols increase right
    assert (out[:, :, 0].diff(dim=0).abs().max()) < 2.0 / 14


def test_pos_embed_resize_rejects_mismatched_grid():
    with pytest.raises(ValueError, match='does not fit a 14x14 grid'):
        resize_pos_embed(torch.zeros(1, 196, 8), (14, 14), (7, 7), src_cls_index=98)
