import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule
from torch import nn


class SimpleFPN(BaseModule):
    """ViTDet's simple feature pyramid: strides 4 to 32 (and coarser) from one stride-16 map.

    Each level rescales the map, then a 1x1 lateral conv and a 3x3 output conv (each with
    ``norm_cfg``) bring it to ``out_channels``; levels beyond the fourth max-pool the previous
    output (kernel 1, stride 2), so ``num_outs=5`` gives the strides 4, 8, 16, 32, 64 of an RPN.

    =========  =================================================  ==========
    stride     rescaling of the (B, C, H, W) input                channels
    =========  =================================================  ==========
    4          deconv 2x2 s2 -> norm -> GELU -> deconv 2x2 s2     C / 4
    8          deconv 2x2 s2                                      C / 2
    16         identity                                           C
    32         max-pool 2x2 s2                                    C
    =========  =================================================  ==========

    Args:
        backbone_channel (int): C, the channels of the backbone map.
        in_channels (Sequence[int], optional): channels of the four rescaled maps; must be
            ``[C / 4, C / 2, C, C]`` (kept for mmdet config compatibility). Defaults to that.
        out_channels (int): channels of every output. Defaults to 256.
        num_outs (int): output levels, at least 4. Defaults to 5.
        conv_cfg (dict, optional): conv layer config of the lateral and output convs.
        norm_cfg (dict, optional): norm after the first deconv and in every conv. Defaults to
            ``dict(type='LN2d', eps=1e-6)`` (ViTDet's).
        act_cfg (dict, optional): activation of the lateral and output convs. Defaults to None.
        init_cfg (dict, optional): mmengine init config.

    Input: the backbone's outputs, a sequence of one (B, C, H, W) map at stride 16; a map of
    other than ``backbone_channel`` channels is refused with an error naming the config keys.
    Output: a tuple of ``num_outs`` maps (B, out_channels, 4H / 2**i, 4W / 2**i).
    """

    def __init__(self, backbone_channel, in_channels=None, out_channels=256, num_outs=5,
                 conv_cfg=None, norm_cfg=dict(type='LN2d', eps=1e-6), act_cfg=None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        c = backbone_channel
        expected = [c // 4, c // 2, c, c]
        if in_channels is not None and list(in_channels) != expected:
            raise ValueError(f'SimpleFPN: in_channels {list(in_channels)} do not match '
                             f'backbone_channel {c}; they must be {expected}')
        if num_outs < 4:
            raise ValueError(f'SimpleFPN: num_outs={num_outs}; it builds at least the 4 levels '
                             'of strides 4 to 32')
        self.backbone_channel, self.num_outs = c, num_outs

        stride4 = [nn.ConvTranspose2d(c, c // 2, 2, stride=2)]
        if norm_cfg is not None:
            stride4.append(build_norm_layer(norm_cfg, c // 2)[1])
        stride4 += [nn.GELU(), nn.ConvTranspose2d(c // 2, c // 4, 2, stride=2)]
        self.rescales = nn.ModuleList([
            nn.Sequential(*stride4),
            nn.ConvTranspose2d(c, c // 2, 2, stride=2),
            nn.Identity(),
            nn.MaxPool2d(2, stride=2),
        ])
        conv = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.lateral_convs = nn.ModuleList(
            ConvModule(channels, out_channels, 1, **conv) for channels in expected)
        self.fpn_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, padding=1, **conv) for _ in expected)

    def forward(self, inputs):
        if len(inputs) != 1:
            raise ValueError(f'SimpleFPN: expected the backbone outputs as one stride-16 map, got '
                             f'{len(inputs)} maps')
        x = inputs[0]
        if x.shape[1] != self.backbone_channel:
            c = x.shape[1]
            raise ValueError(f'SimpleFPN: the backbone map has {c} channels, but the neck was '
                             f'built for backbone_channel={self.backbone_channel}; set the neck\'s '
                             f'backbone_channel={c} and in_channels={[c // 4, c // 2, c, c]} (the '
                             "backbone's embed_dim)")
        outs = [fpn_conv(lateral_conv(rescale(x))) for rescale, lateral_conv, fpn_conv in zip(
            self.rescales, self.lateral_convs, self.fpn_convs)]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
