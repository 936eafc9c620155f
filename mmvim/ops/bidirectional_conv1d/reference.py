"""The specification of Vim's convolution stage: depthwise conv1d + SiLU in both directions."""
import torch.nn.functional as F


def depthwise_conv1d(x, weight, bias, reverse=False):
    """Causal depthwise convolution along the length, or anti-causal with ``reverse``.

    Causal: ``out[l] = bias + sum_k weight[k] * x[l - (K-1) + k]``. Anti-causal (the causal one
    of the flipped sequence, flipped back): ``out[l] = bias + sum_k weight[k] * x[l + (K-1) - k]``,
    computed with the mirrored kernel instead of flipping the activations. Zero padding.

    Args:
        x: (batch, channels, length).
        weight: (channels, 1, K). bias: (channels,) or None.
    Returns:
        (batch, channels, length).
    """
    kernel = weight.shape[-1]
    if reverse:
        out = F.conv1d(x, weight.flip(-1), bias, padding=kernel - 1, groups=x.shape[1])
        return out[..., kernel - 1:]
    return F.conv1d(x, weight, bias, padding=kernel - 1, groups=x.shape[1])[..., :x.shape[-1]]


def bidirectional_conv1d_silu_ref(x, weight_f, bias_f, weight_b, bias_b):
    """``(silu(causal conv(x)), silu(anti-causal conv(x)))``, each (batch, channels, length).

    ``x`` (batch, channels, length); weights (channels, 1, K); biases (channels,) or None.
    """
    return (F.silu(depthwise_conv1d(x, weight_f, bias_f)),
            F.silu(depthwise_conv1d(x, weight_b, bias_b, reverse=True)))
