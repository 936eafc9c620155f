"""Public bidirectional conv1d + SiLU: argument checks, backend choice, autograd Function.

Backends (``backend=``, :mod:`mmvim.ops.backend`):
    'triton'  one kernel for both directions, forward and backward (GPU; on CPU tensors under
              ``TRITON_INTERPRET=1``);
    'torch', 'reference'  the specification in ``reference.py`` (two ``F.conv1d`` calls + SiLU).
``backend=None`` picks 'triton' for CUDA tensors when Triton is importable, else 'torch'.
"""
import torch

from ..backend import check_float, resolve_backend
from ..launcher import alignment_key, launch
from ..layout import check_int32_span, int32_indexable, new_like
from .reference import bidirectional_conv1d_silu_ref

OP = 'bidirectional conv1d'
# Tests set these: POISON_OUTPUTS fills outputs with NaN before the kernels run; the blocks are
# the programs' tiles: BL positions (TILES tiles per backward program) and BE channels, one per
# thread. Chosen on an H100 (docs/kernel_notes.md, sections 5 and 6): with one tile per
# backward program, ~520 programs' atomic adds per channel queued on the small dw / db (69 us at
# (8, 384, 1025)); 8 tiles a program: 31 us. For the sliding-window backward, BL 8 with 8 or 16
# tiles, or 2 warps, were within 8% of these blocks either way.
POISON_OUTPUTS = False
FORWARD_BLOCK = dict(BL=16, BE=128, num_warps=4)
BACKWARD_BLOCK = dict(BL=16, TILES=8, BE=128, num_warps=4)


def _check(x, weight_f, bias_f, weight_b, bias_b):
    """Raise a ValueError naming the argument whose shape or dtype breaks the contract."""
    check_float(OP, dict(x=x, weight_f=weight_f, bias_f=bias_f, weight_b=weight_b,
                         bias_b=bias_b))
    if x.dim() != 3:
        raise ValueError(f'bidirectional conv1d: x must be (batch, channels, length), got '
                         f'{tuple(x.shape)}')
    check_int32_span(x, 'x', 'bidirectional conv1d')
    channels = x.shape[1]
    for name, w in (('weight_f', weight_f), ('weight_b', weight_b)):
        if w.dim() != 3 or w.shape[:2] != (channels, 1):
            raise ValueError(f'bidirectional conv1d: {name} must be (channels={channels}, 1, K), '
                             f'got {tuple(w.shape)}')
    if weight_f.shape != weight_b.shape:
        raise ValueError(f'bidirectional conv1d: weight_f {tuple(weight_f.shape)} and weight_b '
                         f'{tuple(weight_b.shape)} differ')
    if (bias_f is None) != (bias_b is None):
        raise ValueError('bidirectional conv1d: give both biases or neither')
    for name, b in (('bias_f', bias_f), ('bias_b', bias_b)):
        if b is not None and tuple(b.shape) != (channels, ):
            raise ValueError(f'bidirectional conv1d: {name} must be (channels={channels},), got '
                             f'{tuple(b.shape)}')
    for name, t in (('weight_f', weight_f), ('bias_f', bias_f), ('weight_b', weight_b),
                    ('bias_b', bias_b)):
        if t is not None and t.device != x.device:
            raise ValueError(f'bidirectional conv1d: {name} is on {t.device}, x on {x.device}')


def _kernel_params(weight_f, bias_f, weight_b, bias_b):
    """Weights as contiguous (channels, K), biases contiguous, as the kernels index them."""
    return (weight_f.reshape(weight_f.shape[0], -1).contiguous(),
            bias_f.contiguous() if bias_f is not None else None,
            weight_b.reshape(weight_b.shape[0], -1).contiguous(),
            bias_b.contiguous() if bias_b is not None else None)


def _launch_args(x, block):
    import triton
    batch, channels, length = x.shape
    grid = (batch, triton.cdiv(length, block['BL'] * block.get('TILES', 1)),
            triton.cdiv(channels, block['BE']))
    return grid, (length, channels)


class _TritonBidirectionalConv(torch.autograd.Function):
    """(x, weight_f, bias_f, weight_b, bias_b) -> (y_f, y_b); weights flattened to (C, K)."""

    @staticmethod
    def forward(ctx, x, weight_f, bias_f, weight_b, bias_b):
        from .triton_kernels import conv_forward_kernel
        has_bias = bias_f is not None
        wf, bias_f, wb, bias_b = _kernel_params(weight_f, bias_f, weight_b, bias_b)
        y_f, y_b = new_like(x, poison=POISON_OUTPUTS), new_like(x, poison=POISON_OUTPUTS)
        grid, sizes = _launch_args(x, FORWARD_BLOCK)
        launch(conv_forward_kernel, alignment_key(x, wf, bias_f, wb, bias_b, y_f, y_b), grid,
               x, wf, bias_f if has_bias else wf, wb, bias_b if has_bias else wb, y_f, y_b,
               *x.stride(), *y_f.stride(), *sizes, K=wf.shape[1], HAS_BIAS=has_bias,
               **FORWARD_BLOCK)
        ctx.save_for_backward(x, weight_f, bias_f, weight_b, bias_b)
        return y_f, y_b

    @staticmethod
    def backward(ctx, dy_f, dy_b):
        from .triton_kernels import conv_backward_kernel
        x, weight_f, bias_f, weight_b, bias_b = ctx.saved_tensors
        dy_f, dy_b = int32_indexable(dy_f), int32_indexable(dy_b)
        has_bias = bias_f is not None
        wf, bias_f, wb, bias_b = _kernel_params(weight_f, bias_f, weight_b, bias_b)
        f32 = dict(dtype=torch.float32, device=x.device)
        dwf, dwb = torch.zeros(wf.shape, **f32), torch.zeros(wb.shape, **f32)
        dbf, dbb = torch.zeros(x.shape[1], **f32), torch.zeros(x.shape[1], **f32)
        dx = new_like(x, poison=POISON_OUTPUTS)
        grid, sizes = _launch_args(x, BACKWARD_BLOCK)
        launch(conv_backward_kernel,
               alignment_key(x, wf, bias_f, wb, bias_b, dy_f, dy_b, dx, dwf, dbf, dwb, dbb), grid,
               x, wf, bias_f if has_bias else wf, wb, bias_b if has_bias else wb, dy_f, dy_b, dx,
               dwf, dbf, dwb, dbb, *x.stride(), *dy_f.stride(), *dy_b.stride(), *dx.stride(),
               *sizes, K=wf.shape[1], HAS_BIAS=has_bias, **BACKWARD_BLOCK)
        bias_grads = ((dbf.to(bias_f.dtype), dbb.to(bias_b.dtype)) if has_bias
                      else (None, None))
        return (dx, dwf.view_as(weight_f).to(weight_f.dtype), bias_grads[0],
                dwb.view_as(weight_b).to(weight_b.dtype), bias_grads[1])


def bidirectional_conv1d_silu(x, weight_f, bias_f, weight_b, bias_b, backend=None):
    """Vim's convolution stage for both directions, from ``x`` in its original order.

    Args:
        x: (batch, channels, length), any strides (a (batch, length, channels) view is best on
            GPU: the outputs then share that layout, which the scan and x_proj read without
            copies).
        weight_f, weight_b: (channels, 1, K) depthwise kernels of the causal (forward) and the
            anti-causal (backward) direction. bias_f, bias_b: (channels,) or both None.
        backend: see the module docstring.

    Returns:
        (silu(causal conv(x)), silu(anti-causal conv(x))), each (batch, channels, length) in
        ``x``'s dtype (the Triton path accumulates in float32).
    """
    _check(x, weight_f, bias_f, weight_b, bias_b)
    if resolve_backend(backend, x.device, OP) != 'triton':
        return bidirectional_conv1d_silu_ref(x, weight_f, bias_f, weight_b, bias_b)
    return _TritonBidirectionalConv.apply(x, weight_f, bias_f, weight_b, bias_b)
