from .bimamba import BiMambaMixer
from .drop_path import DropPath
from .ln2d import LN2d
from .patch_embed import PatchEmbed
from .patch_grid import patch_grid
from .pos_embed import CLS_TOKEN_MODES, cls_token_index, resize_pos_embed
from .rms_norm import RMSNorm
from .vim_block import ResidualAdd, VimBlock
from .vit_det_block import (ATTN_IMPLS, RelPosAttention, ViTDetBlock, decomposed_rel_pos_bias,
                            window_partition, window_unpartition)

__all__ = ['ATTN_IMPLS', 'CLS_TOKEN_MODES', 'BiMambaMixer', 'DropPath', 'LN2d', 'PatchEmbed',
           'RMSNorm', 'RelPosAttention', 'ResidualAdd', 'ViTDetBlock', 'VimBlock',
           'cls_token_index', 'decomposed_rel_pos_bias', 'patch_grid', 'resize_pos_embed',
           'window_partition', 'window_unpartition']
