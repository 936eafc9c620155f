import torch.nn.functional as F
from torch import nn


class LN2d(nn.LayerNorm):
    """LayerNorm over the channel axis of feature maps, as ViTDet's necks and heads use it.

    Shape: (B, C, H, W) -> (B, C, H, W); each pixel's C values are normalised separately, with
    a learned per-channel scale and shift. Registered in mmengine's MODELS, so mmcv's
    ``build_norm_layer`` (and ``ConvModule``) take ``norm_cfg=dict(type='LN2d')``.

    Args:
        num_channels (int): C.
        eps (float): added to the variance. Defaults to 1e-6 (ViTDet's); note that
            ``build_norm_layer`` passes 1e-5 unless the config gives ``eps``.
    """

    def __init__(self, num_channels, eps=1e-6):
        super().__init__(num_channels, eps=eps)

    def forward(self, x):
        # channels-last view, so the fused layer_norm over the last axis does the work
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                         self.eps)
        return x.permute(0, 3, 1, 2)
