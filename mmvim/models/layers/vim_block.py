from torch import nn

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
    ``hidden = mixer(norm(residual))``. Parameter names: ``norm.weight``, ``mixer.*``.

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
        residual = self.add(hidden, residual)
        return self.mixer(self.norm(residual.to(self.norm.weight.dtype))), residual
