"""DeiT / ViT backbone for ViTDet-style detection (Li et al., "Exploring Plain Vision Transformer
Backbones for Object Detection"), the DeiT baseline beside Vim in Cascade Mask R-CNN."""
import torch
from mmengine.logging import print_log
from torch import nn

from mmvim.utils import load_checkpoint_file
from ..layers import PatchEmbed, ViTDetBlock, resize_pos_embed
from .patch_backbone import PatchBackbone
from .pretrained import (checkpoint_grid, checkpoint_pos_embed, extract_state_dict,
                         load_state_dict_strictly, variant_hint)

# Parts of a DeiT classifier that the backbone does not build: the head, the final norm (ViTDet
# feeds the last block's output to the neck as it is) and the class token.
DEIT_ONLY_PREFIXES = ('head.', 'norm.', 'cls_token')


class ViTDet(PatchBackbone):
    """Plain ViT with window and global attention, stride-16 output maps (ViTDet).

    Data flow: image (B, 3, H, W) -> patch conv -> token grid (B, H/16, W/16, D) + absolute
    position embedding (stored for the pretraining grid, resized bicubically to the input grid)
    -> ``depth`` :class:`ViTDetBlock` s, windowed except ``global_attn_indexes`` -> the
    outputs of the blocks at ``out_indices`` as (B, D, H/16, W/16) maps (ViTDet: the last
    block's). Parameter names are timm's DeiT names, so DeiT checkpoints load through
    ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` (see :func:`load_deit_state_dict`).

    Args:
        embed_dim (int): token width D. Defaults to 192 (DeiT-Ti).
        depth (int): number of blocks. Defaults to 12.
        num_heads (int): attention heads. Defaults to 3.
        img_size (int | tuple): the design input size (1024 in ViTDet); the relative position
            tables of global blocks are built for its grid. Other sizes work. Defaults to 1024.
        pretrain_img_size (int): input size of the pretraining, whose grid the position
            embedding is stored for (224 -> 14 x 14). Defaults to 224.
        patch_size (int): patch conv kernel and stride. Defaults to 16.
        in_channels (int): image channels. Defaults to 3.
        mlp_ratio (float): MLP hidden width / D. Defaults to 4.
        qkv_bias (bool): bias of the qkv projections. Defaults to True.
        window_size (int): attention window side of the windowed blocks. Defaults to 14.
        global_attn_indexes (Sequence[int]): blocks with global attention. Defaults to
            (2, 5, 8, 11).
        use_rel_pos (bool): decomposed relative position in every block. Defaults to False.
        attn_impl (str): attention of every block, 'sdpa' (``scaled_dot_product_attention``)
            or 'naive' (the original DeiT's ``softmax(q k^T * scale) v``; see
            :class:`RelPosAttention`). Defaults to 'sdpa'.
        out_indices (int | Sequence[int]): blocks whose outputs are returned, in this order
            (negative counts from the end). Defaults to -1, the last block (ViTDet).
        drop_path_rate (float): stochastic depth; block i gets ``linspace(0, rate, depth)[i]``.
            Defaults to 0.1.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-6.
        with_cp (bool): activation checkpointing per block in training. Defaults to False.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH)`` loads a DeiT
            (timm or facebookresearch) or ViTDet checkpoint; without it the weights get ViTDet's
            initialisation (trunc-normal 0.02 Linear weights and position embedding).

    Inputs smaller than one patch, or whose sides are not multiples of ``patch_size``, are refused
    with an error naming the size (pad them, e.g. ``pad_size_divisor=32`` in the data
    preprocessor); so are an empty batch and images that are not floating point or, outside
    autocast, not in the weights' dtype
    (:meth:`~mmvim.models.backbones.patch_backbone.PatchBackbone.input_grid`).
    """

    def __init__(self, embed_dim=192, depth=12, num_heads=3, img_size=1024, pretrain_img_size=224,
                 patch_size=16, in_channels=3, mlp_ratio=4.0, qkv_bias=True, window_size=14,
                 global_attn_indexes=(2, 5, 8, 11), use_rel_pos=False, attn_impl='sdpa',
                 out_indices=-1, drop_path_rate=0.1, norm_eps=1e-6, with_cp=False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.global_attn_indexes = self.block_indexes('global_attn_indexes', global_attn_indexes,
                                                      depth)
        self.out_indices = self.block_indexes('out_indices', out_indices, depth)
        self.embed_dim, self.depth = embed_dim, depth
        self.patch_size, self.stride, self.with_cp = patch_size, patch_size, with_cp
        img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        grid = self.patch_grid(*img_size)
        self.pretrain_grid = (pretrain_img_size // patch_size, ) * 2

        self.patch_embed = PatchEmbed(in_channels, embed_dim, patch_size, patch_size)
        self.pos_embed = nn.Parameter(
            torch.zeros(1, self.pretrain_grid[0] * self.pretrain_grid[1], embed_dim))
        rates = torch.linspace(0, drop_path_rate, depth).tolist()
        self.blocks = nn.ModuleList(
            ViTDetBlock(embed_dim, num_heads, mlp_ratio, qkv_bias, drop_path=rates[i],
                        norm_eps=norm_eps,
                        window_size=0 if i in self.global_attn_indexes else window_size,
                        use_rel_pos=use_rel_pos, grid=grid, attn_impl=attn_impl)
            for i in range(depth))
        self._vitdet_init()

    @torch.no_grad()
    def _vitdet_init(self):
        nn.init.trunc_normal_(self.pos_embed, std=.02)
        for module in self.blocks.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def load_pretrained(self, checkpoint, logger='current'):
        """A DeiT / ViT or ViTDet checkpoint: :func:`load_deit_state_dict`."""
        load_deit_state_dict(self, checkpoint, logger)

    def forward(self, x):
        """(B, C, H, W) -> tuple of (B, D, H / patch_size, W / patch_size), one per
        ``out_indices`` entry, in its order."""
        grid = self.input_grid(x)
        x = self.patch_embed(x)                                                  # (B, h, w, D)
        x = x + resize_pos_embed(self.pos_embed, self.pretrain_grid, grid).view(1, *grid, -1)
        taps = {}
        for i, block in enumerate(self.blocks[:max(self.out_indices) + 1]):
            x = self.run_block(block, x)
            if i in self.out_indices:
                taps[i] = x
        return tuple(taps[i].permute(0, 3, 1, 2).contiguous() for i in self.out_indices)


def _deit_config(embed_dim, depth):
    return (f'set model.backbone embed_dim={embed_dim}, depth={depth} and num_heads='
            f'{embed_dim // 64} (DeiT\'s heads are 64 wide), and the neck\'s channels to match')


def load_deit_state_dict(model, checkpoint, logger='current'):
    """Load a DeiT / ViT checkpoint (path or dict) into a :class:`ViTDet` strictly.

    Takes timm files (the state dict itself), facebookresearch/deit files (its ``'model'``
    entry) and mmengine files of a ViTDet (``'state_dict'``, ``backbone.`` prefix). Drops the
    head, the final norm and the class token (logged), and the class entry of ``pos_embed``
    (index 0 in DeiT), whose grid is resized to the model's pretraining grid if it differs.
    Relative position tables, which DeiT has not, keep their initialisation (logged).

    Raises:
        ValueError: for a distilled DeiT (``dist_token``), and listing missing, unexpected and
            mis-shaped keys and, for a checkpoint of another width or depth, the settings that
            fit it.
    """
    source = checkpoint if isinstance(checkpoint, str) else 'checkpoint'
    if isinstance(checkpoint, str):
        checkpoint = load_checkpoint_file(checkpoint)
    state_dict = dict(extract_state_dict(checkpoint, source))
    if 'dist_token' in state_dict:
        raise ValueError(f'{source} is a distilled DeiT (it has a dist_token); ViTDet takes '
                         'plain DeiT / ViT checkpoints only')
    has_cls = 'cls_token' in state_dict
    dropped = sorted(k for k in state_dict if k.startswith(DEIT_ONLY_PREFIXES))
    for key in dropped:
        state_dict.pop(key)

    if 'pos_embed' in state_dict:
        pos_embed = checkpoint_pos_embed(state_dict, source)
        src_grid = checkpoint_grid(pos_embed.shape[1] - has_cls, model.pretrain_grid, source)
        state_dict['pos_embed'] = resize_pos_embed(pos_embed, src_grid, model.pretrain_grid,
                                                   0 if has_cls else None)
    own = model.state_dict()
    kept = sorted(k for k in own if '.rel_pos_' in k and k not in state_dict)
    state_dict.update({k: own[k] for k in kept})

    load_state_dict_strictly(model, state_dict, source,
                             f'ViTDet (embed_dim={model.embed_dim}, depth={model.depth}, '
                             f'patch {model.patch_size})',
                             variant_hint(state_dict, 'blocks', (model.embed_dim, model.depth),
                                          _deit_config))
    print_log(f'ViTDet: loaded {len(state_dict) - len(kept)} tensors from {source}'
              + (f'; skipped {dropped} (not part of this backbone)' if dropped else '')
              + (f'; {len(kept)} relative position tables not in it keep their initialisation'
                 if kept else ''), logger=logger)
