from .bimamba import BiMambaMixer, depthwise_conv1d
from .drop_path import DropPath
from .pos_embed import CLS_TOKEN_MODES, cls_token_index, resize_pos_embed
from .rms_norm import RMSNorm
from .vim_block import ResidualAdd, VimBlock

__all__ = ['CLS_TOKEN_MODES', 'BiMambaMixer', 'DropPath', 'RMSNorm', 'ResidualAdd', 'VimBlock', 'cls_token_index',
           'depthwise_conv1d', 'resize_pos_embed']
