"""The ViT block of ViTDet (Li et al., "Exploring Plain Vision Transformer Backbones for Object
Detection"): pre-norm attention and MLP over a (B, h, w, D) token grid, the attention either
global or inside non-overlapping windows, with optional decomposed relative position."""
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .drop_path import DropPath


def window_partition(x, window):
    """Cut a token grid into windows, zero-padding the bottom / right to whole windows.

    Args:
        x: (B, h, w, D).
        window: window side.

    Returns:
        ((B * nh * nw, window, window, D), (hp, wp)): the windows, row-major per image, and the
        padded grid size.
    """
    b, h, w, d = x.shape
    pad_h, pad_w = -h % window, -w % window
    x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.view(b, hp // window, window, wp // window, window, d).transpose(2, 3)
    return x.reshape(-1, window, window, d), (hp, wp)


def window_unpartition(windows, padded_size, size):
    """Inverse of :func:`window_partition`: (B * nh * nw, window, window, D) -> (B, h, w, D),
    the padding cut off."""
    window, d = windows.shape[1], windows.shape[-1]
    (hp, wp), (h, w) = padded_size, size
    x = windows.view(-1, hp // window, wp // window, window, window, d).transpose(2, 3)
    return x.reshape(-1, hp, wp, d)[:, :h, :w].contiguous()


def rel_pos_table(size, rel_pos):
    """The embedding of every (query, key) offset along one axis of length ``size``.

    Args:
        size: number of positions along the axis (queries and keys alike).
        rel_pos: (L, C), one row per offset -(L-1)/2 .. (L-1)/2; resized linearly when L is not
            ``2 * size - 1`` (an input grid other than the one it was built for).

    Returns:
        (size, size, C): entry [i, j] embeds the offset i - j.
    """
    length = 2 * size - 1
    if rel_pos.shape[0] != length:
        rel_pos = F.interpolate(rel_pos.t()[None], size=length, mode='linear')[0].t()
    offsets = torch.arange(size, device=rel_pos.device)
    return rel_pos[offsets[:, None] - offsets[None, :] + size - 1]


def decomposed_rel_pos_bias(q, rel_pos_h, rel_pos_w, size):
    """ViTDet's decomposed relative position: the attention logit of query (i, j) and key (k, l)
    gains ``q . R_h[i - k] + q . R_w[j - l]`` (q unscaled).

    Args:
        q: (B, heads, h * w, C) queries, row-major over the (h, w) grid.
        rel_pos_h, rel_pos_w: (L_h, C), (L_w, C) offset embeddings (see :func:`rel_pos_table`).
        size: (h, w).

    Returns:
        (B, heads, h * w, h * w) additive bias in q's dtype.
    """
    h, w = size
    q = q.unflatten(2, (h, w))                                                # (B, n, h, w, C)
    bias_h = torch.einsum('bnhwc,hkc->bnhwk', q, rel_pos_table(h, rel_pos_h).to(q.dtype))
    bias_w = torch.einsum('bnhwc,wkc->bnhwk', q, rel_pos_table(w, rel_pos_w).to(q.dtype))
    return (bias_h[..., :, None] + bias_w[..., None, :]).flatten(-2).flatten(2, 3)


ATTN_IMPLS = ('sdpa', 'naive')


class RelPosAttention(nn.Module):
    """Multi-head self-attention over a token grid, with optional decomposed relative position
    added to the logits.

    Shape: (B, h, w, D) -> (B, h, w, D).

    Args:
        dim (int): D.
        num_heads (int): heads; D must divide evenly.
        qkv_bias (bool): bias of the qkv projection. Defaults to True.
        rel_pos_grid (tuple[int, int], optional): (h, w) grid the relative position tables are
            built for (other grids resize them); None: no relative position. The tables start
            at zero (ViTDet), so a model from a checkpoint without them starts as plain ViT.
        attn_impl (str): 'sdpa', ``scaled_dot_product_attention`` (fused kernels where PyTorch
            has them; the relative position goes in as its ``attn_mask``), or 'naive', the
            original DeiT's ``softmax((q @ k^T) * scale) @ v``, which materialises the
            (B, heads, h*w, h*w) logits and probabilities. Same result. Defaults to 'sdpa'.
    """

    def __init__(self, dim, num_heads, qkv_bias=True, rel_pos_grid=None, attn_impl='sdpa'):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'RelPosAttention: dim {dim} is not a multiple of num_heads '
                             f'{num_heads}')
        if attn_impl not in ATTN_IMPLS:
            raise ValueError(f'RelPosAttention: attn_impl={attn_impl!r}; choose one of '
                             f'{ATTN_IMPLS}')
        self.num_heads, self.attn_impl = num_heads, attn_impl
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.use_rel_pos = rel_pos_grid is not None
        if self.use_rel_pos:
            head_dim = dim // num_heads
            self.rel_pos_h = nn.Parameter(torch.zeros(2 * rel_pos_grid[0] - 1, head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(2 * rel_pos_grid[1] - 1, head_dim))

    def forward(self, x):
        b, h, w, d = x.shape
        q, k, v = self.qkv(x).reshape(b, h * w, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        bias = (decomposed_rel_pos_bias(q, self.rel_pos_h, self.rel_pos_w, (h, w))
                if self.use_rel_pos else None)
        if self.attn_impl == 'sdpa':
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)       # (B, n, h*w, C)
        else:
            logits = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5          # (B, n, h*w, h*w)
            if bias is not None:
                logits = logits + bias
            x = logits.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(b, h, w, d))


class ViTDetBlock(nn.Module):
    """Pre-norm ViT block, attention global or windowed. Shape: (B, h, w, D) -> (B, h, w, D).

    ``x = x + drop_path(attn(norm1(x)))``, ``x = x + drop_path(mlp(norm2(x)))``. Windowed
    blocks cut the normalised grid into ``window_size`` windows, zero-padded to whole windows
    as in ViTDet (the padded tokens take part as keys), and attend within each.

    Args:
        dim (int): D.
        num_heads (int): attention heads.
        mlp_ratio (float): MLP hidden width / D. Defaults to 4.
        qkv_bias (bool): bias of the qkv projection. Defaults to True.
        drop_path (float): stochastic depth rate of both branches. Defaults to 0.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-6.
        window_size (int): window side; 0 for global attention. Defaults to 0.
        use_rel_pos (bool): decomposed relative position. Defaults to False.
        grid (tuple[int, int]): the token grid of the design input size; the relative position
            tables of global blocks are built for it (windowed blocks: for the window).
        attn_impl (str): 'sdpa' or 'naive' (see :class:`RelPosAttention`). Defaults to 'sdpa'.
    """

    def __init__(self, dim, num_heads, mlp_ratio=4.0, qkv_bias=True, drop_path=0.0,
                 norm_eps=1e-6, window_size=0, use_rel_pos=False, grid=(64, 64),
                 attn_impl='sdpa'):
        super().__init__()
        self.window_size = window_size
        rel_pos_grid = (window_size, window_size) if window_size else tuple(grid)
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = RelPosAttention(dim, num_heads, qkv_bias,
                                    rel_pos_grid if use_rel_pos else None, attn_impl)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(OrderedDict(fc1=nn.Linear(dim, hidden), act=nn.GELU(),
                                             fc2=nn.Linear(hidden, dim)))
        self.drop_path = DropPath(drop_path)

    def forward(self, x):
        y = self.norm1(x)
        if self.window_size:
            windows, padded_size = window_partition(y, self.window_size)
            y = window_unpartition(self.attn(windows), padded_size, x.shape[1:3])
        else:
            y = self.attn(y)
        x = x + self.drop_path(y)
        return x + self.drop_path(self.mlp(self.norm2(x)))
