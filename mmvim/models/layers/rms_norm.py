import torch
from torch import nn

from mmvim.ops import add_rms_norm_ref


class RMSNorm(nn.Module):
    """Root-mean-square norm (mamba_ssm's): ``x / sqrt(mean(x^2) + eps) * weight``, in float32.

    Args:
        dim: size of the last axis.
        eps: added to the mean square. Defaults to 1e-5.

    Shape: (..., dim) -> (..., dim), in the input's dtype.
    """

    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return add_rms_norm_ref(x, None, self.weight, self.eps, residual_dtype=None)[0]

    def extra_repr(self):
        return f'{self.weight.shape[0]}, eps={self.eps}'
