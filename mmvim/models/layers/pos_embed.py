import torch
import torch.nn.functional as F

CLS_TOKEN_MODES = (None, 'head', 'middle')


def cls_token_index(mode, num_patches):
    """Where the class token sits among ``num_patches`` patch tokens: None (no class token),
    'head' (0) or 'middle' (``num_patches // 2``, Vim's default)."""
    return {None: None, 'head': 0, 'middle': num_patches // 2}[mode]


def resize_pos_embed(pos_embed, src_shape, dst_shape, src_cls_index=None, dst_cls_index=None,
                     mode='bicubic'):
    """Resize an absolute position embedding from one patch grid to another.

    The class token's entry is taken from where it really sits in the source (``src_cls_index``,
    e.g. 98 of 197 for Vim's middle-class-token checkpoints), kept as it is, and put back at
    ``dst_cls_index``; the grid entries around it are interpolated.

    Args:
        pos_embed: (1, h*w [+ 1], D).
        src_shape, dst_shape: (h, w) and (H, W) patch grids.
        src_cls_index: index of the class entry in ``pos_embed``; None if it has none.
        dst_cls_index: where to put the class entry in the result; None drops it.
        mode: interpolation mode of ``F.interpolate``.

    Returns:
        (1, H*W [+ 1], D) in ``pos_embed``'s dtype.
    """
    h, w = src_shape
    expected = h * w + (src_cls_index is not None)
    if pos_embed.dim() != 3 or pos_embed.shape[:2] != (1, expected):
        raise ValueError(f'pos_embed of shape {tuple(pos_embed.shape)} does not fit a {h}x{w} grid '
                         f'{"with" if src_cls_index is not None else "without"} a class entry '
                         f'(expected (1, {expected}, D))')
    if src_cls_index is None and dst_cls_index is not None:
        raise ValueError('resize_pos_embed: the source has no class entry to place at '
                         f'dst_cls_index={dst_cls_index}')
    if src_cls_index is not None:
        cls_entry = pos_embed[:, src_cls_index:src_cls_index + 1]
        grid = torch.cat([pos_embed[:, :src_cls_index], pos_embed[:, src_cls_index + 1:]], dim=1)
    else:
        grid = pos_embed
    if tuple(dst_shape) != (h, w):
        dim = grid.shape[-1]
        grid = grid.reshape(1, h, w, dim).permute(0, 3, 1, 2)
        grid = F.interpolate(grid.float(), size=tuple(dst_shape), mode=mode, align_corners=False)
        grid = grid.to(pos_embed.dtype).permute(0, 2, 3, 1).flatten(1, 2)
    if dst_cls_index is None:
        return grid
    return torch.cat([grid[:, :dst_cls_index], cls_entry, grid[:, dst_cls_index:]], dim=1)
