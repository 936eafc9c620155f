"""Memory layout helpers shared by the Triton ops: outputs mirror their input's layout; the
kernels index within one batch entry with int32 offsets."""
import torch

INT32_SPAN = 2**31


def _last_offset(shape, strides):
    """Elements from a strided view's first element to its last (non-negative strides)."""
    return sum((size - 1) * stride for size, stride in zip(shape, strides))


def entry_span(t):
    """Elements between the first and the last of one batch entry of a (batch, rows, length)
    tensor: the kernels index within an entry with int32 offsets, so it must stay below
    ``INT32_SPAN``."""
    return _last_offset(t.shape[1:], t.stride()[1:])


def check_int32_span(t, name, op):
    """Raise a ValueError naming ``name`` when one batch entry of ``t`` spans ``INT32_SPAN``
    elements or more (``op`` opens the message)."""
    if entry_span(t) >= INT32_SPAN:
        raise ValueError(f'{op}: one batch entry of {name} {tuple(t.shape)} with strides '
                         f'{t.stride()} spans 2**31 elements (the kernels index it with int32 '
                         'offsets)')


def int32_indexable(t):
    """``t``, or a contiguous copy when its strides make a batch entry span ``INT32_SPAN``
    elements or more (for gradients, whose strides autograd chose: dense they fit as the
    checked input does)."""
    return t if entry_span(t) < INT32_SPAN else t.contiguous()


def is_dense(t):
    """Whether ``t``'s elements are distinct and fill its storage span (a permutation of a
    contiguous layout): no element is written twice through it."""
    expected = 1
    for stride, size in sorted((st, s) for s, st in zip(t.shape, t.stride()) if s > 1):
        if stride != expected:
            return False
        expected *= size
    return True


def may_overlap(a, b):
    """Whether ``a`` and ``b`` (non-negative strides) may share memory: their storages are the
    same and their byte spans intersect (interleaved views that share no element count too)."""
    if a.numel() == 0 or b.numel() == 0 or a.device != b.device:
        return False
    if a.untyped_storage().data_ptr() != b.untyped_storage().data_ptr():
        return False
    spans = [(t.data_ptr(), t.data_ptr() + (_last_offset(t.shape, t.stride()) + 1)
              * t.element_size()) for t in (a, b)]
    return spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]


def new_like(like, dtype=None, poison=False):
    """Uninitialised (batch, dim, length) tensor shaped like ``like`` (NaN-filled if ``poison``).

    When ``like`` has a unit channel stride (a view of a (batch, length, dim) tensor, as the Vim
    mixer makes them) the result is laid out the same way, (batch, length, dim) in memory, so a
    kernel's stores across channels coalesce as its loads do.
    """
    dtype = dtype or like.dtype
    batch, dim, length = like.shape
    channel_last = like.stride(1) == 1 and length > 1 and dim > 1
    shape = (batch, length, dim) if channel_last else (batch, dim, length)
    out = (torch.full(shape, float('nan'), dtype=dtype, device=like.device) if poison
           else torch.empty(shape, dtype=dtype, device=like.device))
    return out.transpose(1, 2) if channel_last else out
