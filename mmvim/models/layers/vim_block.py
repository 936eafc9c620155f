import torch
from torch import nn

from mmvim.ops import add_rms_norm
from ..utils import autocast_dtype
from .bimamba import BiMambaMixer
from .drop_path import DropPath
from .rms_norm import RMSNorm


class ResidualAdd(nn.Module):
    """The "Add" of Vim's blocks: ``residual + drop_path(hidden)`` (``hidden`` alone when there is
    no residual yet), cast to float32 when ``residual_in_fp32``. Shapes: (B, L, D) -> (B, L, D)."""

    def __init__(self, drop_path=0.0, residual_in_fp32=True):
        super().__init__()
        self.drop_path = DropPath(drop_path)
        self.residual_in_fp32 = residual_in_fp32

    def forward(self, hidden, residual=None):
        residual = hidden if residual is None else residual + self.drop_path(hidden)
        return residual.float() if self.residual_in_fp32 else residual


class VimBlock(nn.Module):
    """Vim's "Add -> Norm -> Mixer" block with the residual stream kept apart (official ``Block``).

    ``residual = residual + drop_path(hidden)`` (the first block: ``residual = hidden``),
    ``hidden = mixer(norm(residual))``. Parameter names: ``norm.weight``, ``mixer.*``. The add
    and the norm run as one op (:func:`mmvim.ops.add_rms_norm`; Triton on GPU); the norm's output
    is in the autocast dtype under autocast, which is what the mixer's in_proj casts it to anyway.

    Args:
        embed_dim: token width D.
        drop_path: stochastic-depth rate applied to the incoming ``hidden``.
        norm_eps: RMSNorm epsilon.
        residual_in_fp32: keep the residual stream in float32 (official default True).
        **mixer_kwargs: passed to :class:`BiMambaMixer`.

    Shapes: hidden, residual (B, L, D) -> (hidden, residual), the same shapes.
    """

    def __init__(self, embed_dim, drop_path=0.0, norm_eps=1e-5, residual_in_fp32=True,
                 **mixer_kwargs):
        super().__init__()
        self.add = ResidualAdd(drop_path, residual_in_fp32)
        self.norm = RMSNorm(embed_dim, eps=norm_eps)
        self.mixer = BiMambaMixer(embed_dim, **mixer_kwargs)

    def forward(self, hidden, residual=None):
        if residual is not None:
            hidden = self.add.drop_path(hidden)
        # the mixer's first op is a projection: under autocast, hand it the autocast dtype
        out_dtype = autocast_dtype(hidden.device.type, self.norm.weight.dtype)
        normed, residual = add_rms_norm(
            hidden, residual, self.norm.weight, self.norm.eps,
            torch.float32 if self.add.residual_in_fp32 else None, out_dtype,
            backend=self.mixer.scan_backend)
        return self.mixer(normed), residual
