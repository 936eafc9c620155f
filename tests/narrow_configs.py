"""The shipped configs with narrow models, for tests about their pipelines and tools on a CPU."""
from pathlib import Path

from mmengine.config import Config

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'


def narrow(name, width=32, head_width=16):
    """The config ``name`` as shipped but with a 2-block backbone ``width`` channels wide and
    necks and heads ``head_width`` wide: the pipelines are what these tests are about, and the
    shipped models cost seconds per image on a CPU."""
    cfg = Config.fromfile(str(CONFIGS / name))
    model = cfg.model
    backbone = model.backbone
    if backbone.type == 'VisionMamba':
        backbone.update(arch=None, embed_dim=width, depth=2,
                        out_indices=(0, 0, 1, 1) if len(backbone.out_indices) == 4 else (1, ))
    elif backbone.type == 'VisionTransformer':                 # mmseg's, the DeiT baselines
        backbone.update(embed_dims=width, num_heads=2, num_layers=4, out_indices=(0, 1, 2, 3))
    else:                                                      # ViTDet, the DeiT detector
        backbone.update(embed_dim=width, num_heads=2, depth=2, global_attn_indexes=(1, ),
                        out_indices=(1, ))
    if model.type == 'EncoderDecoder':
        model.neck.embed_dim = width
        model.decode_head.update(in_channels=[width] * 4, channels=head_width)
        model.auxiliary_head.update(in_channels=width, channels=head_width)
        return cfg
    model.neck.update(backbone_channel=width, in_channels=[width // 4, width // 2, width, width],
                      out_channels=head_width)
    model.rpn_head.update(in_channels=head_width, feat_channels=head_width)
    roi_head = model.roi_head
    roi_head.bbox_roi_extractor.out_channels = head_width
    roi_head.mask_roi_extractor.out_channels = head_width
    for head in roi_head.bbox_head:
        head.update(in_channels=head_width, conv_out_channels=head_width,
                    fc_out_channels=2 * head_width)
    roi_head.mask_head.update(in_channels=head_width, conv_out_channels=head_width)
    return cfg
