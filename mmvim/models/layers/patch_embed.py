"""Patch embedding: a strided convolution over the image, computed as one matrix product."""
import torch.nn as nn
import torch.nn.functional as F

from ..utils import autocast_dtype


class PatchEmbed(nn.Module):
    """``proj``, an ``nn.Conv2d(in_channels, embed_dim, patch_size, stride)`` (the official
    parameter names ``patch_embed.proj.weight`` / ``.bias``), returning channels-last maps.

    Where patches do not overlap (stride == patch_size, the DeiT / Vim default) the image is
    cut into its patches, (B, h, w, C * p * p), and multiplied by the weight viewed as
    (embed_dim, C * p * p): the same sums as the convolution, on the GEMM kernels. (Left to
    pick, cuDNN ran this convolution as an implicit SGEMM, 0.79 ms at 1248 x 1248, batch 8, on
    an H100 in bf16, 2026-11-25.) With stride != patch_size the convolution runs. Under
    autocast the image is cast before it is cut, so the patch copy is 16-bit.
    """

    def __init__(self, in_channels, embed_dim, patch_size, stride):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dim, patch_size, stride)

    def forward(self, x):
        """(B, C, H, W) -> (B, h, w, embed_dim), h = H // p, w = W // p (rows and columns past
        the last whole patch are dropped, as by the convolution; the backbones refuse such
        inputs: :func:`~.patch_grid.patch_grid`).

        Raises:
            ValueError: naming the shape, unless ``x`` is (B, in_channels, H, W).
        """
        proj = self.proj
        if x.dim() != 4 or x.shape[1] != proj.in_channels:
            raise ValueError(f'PatchEmbed: expected images (B, {proj.in_channels}, H, W), got '
                             f'{tuple(x.shape)}')
        p = proj.kernel_size[0]
        if proj.stride != proj.kernel_size or proj.kernel_size != (p, p):
            return proj(x).permute(0, 2, 3, 1)
        x = x.to(autocast_dtype(x.device.type, x.dtype))
        batch, channels, height, width = x.shape
        h, w = height // p, width // p
        patches = x[:, :, :h * p, :w * p].reshape(batch, channels, h, p, w, p)
        patches = patches.permute(0, 2, 4, 1, 3, 5).reshape(batch, h, w, channels * p * p)
        return F.linear(patches, proj.weight.reshape(proj.out_channels, -1), proj.bias)
