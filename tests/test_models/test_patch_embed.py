"""PatchEmbed: the patch convolution as a matrix product, against nn.Conv2d itself."""
import re

import pytest
import torch
import torch.nn.functional as F

from mmvim.models.layers import PatchEmbed


@pytest.mark.parametrize('patch, stride, size', [(4, 4, (12, 20)), (5, 5, (15, 10)),
                                                 (4, 4, (13, 18)), (4, 2, (10, 12))])
def test_patch_embed_matches_conv2d(patch, stride, size):
    """Non-overlapping patches (the matrix product; 13 x 18 leaves rows and columns past the
    last patch, which the convolution drops) and overlapping ones (the convolution): the output
    and the gradients of the image, weight and bias equal nn.Conv2d's."""
    embed = PatchEmbed(3, 7, patch, stride).double()
    x = torch.randn(2, 3, *size, dtype=torch.float64, requires_grad=True)
    out = embed(x)
    expected = F.conv2d(x, embed.proj.weight, embed.proj.bias, stride).permute(0, 2, 3, 1)
    torch.testing.assert_close(out, expected)
    grad = torch.randn_like(out)
    got = torch.autograd.grad(out, (x, embed.proj.weight, embed.proj.bias), grad)
    want = torch.autograd.grad(expected, (x, embed.proj.weight, embed.proj.bias), grad)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)


def test_patch_embed_under_autocast_matches_the_convolution():
    """Under autocast the result is the convolution's under autocast, in its dtype. (That the
    image is cast before it is cut, a memory saving, is not visible here.)"""
    embed = PatchEmbed(3, 8, 4, 4)
    x = torch.randn(1, 3, 16, 8)
    with torch.autocast('cpu', torch.bfloat16):
        out = embed(x)
        expected = embed.proj(x).permute(0, 2, 3, 1)
    assert out.dtype == expected.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), expected.float(), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize('shape', [(3, 16, 16), (1, 4, 16, 16)])
def test_patch_embed_refuses_other_shapes(shape):
    """Not (B, in_channels, H, W): an error naming the shape, on both paths."""
    for stride in (4, 2):
        with pytest.raises(ValueError, match=re.escape(f'(B, 3, H, W), got {shape}')):
            PatchEmbed(3, 8, 4, stride)(torch.randn(shape))
