from .bimamba import BiMambaMixer
from .drop_path import DropPath
from .ln2d import LN2d
from .pos_embed import CLS_TOKEN_MODES, cls_token_index, resize_pos_embed
from .rms_norm import RMSNorm
from .vim_block import ResidualAdd, VimBlock
from .vit_det_block import (RelPosAttention, ViTDetBlock, decomposed_rel_pos_bias,
                            window_partition, window_unpartition)

__all__ = ['CLS_TOKEN_MODES', 'BiMambaMixer', 'DropPath', 'LN2d', 'RMSNorm', 'RelPosAttention',
           'ResidualAdd', 'ViTDetBlock', 'VimBlock', 'cls_token_index', 'decomposed_rel_pos_bias',
           'resize_pos_embed', 'window_partition', 'window_unpartition']
