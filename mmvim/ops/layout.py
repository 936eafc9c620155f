"""Output allocation shared by the Triton ops: outputs mirror their input's memory layout."""
import torch


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
