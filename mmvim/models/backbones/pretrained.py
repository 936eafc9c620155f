"""What the backbones' checkpoint loaders share: finding the state dict in a checkpoint, checking
its position embedding and telling its grid, telling the width and depth a checkpoint was saved
from, and a strict load that lists every mismatch."""
import math

import torch

from mmvim.utils import check_state_dict_fits


def extract_state_dict(checkpoint, source='checkpoint'):
    """The backbone state dict inside an official, mmengine or plain checkpoint dict.

    Strips ``module.`` (DDP) and, for whole mmseg / mmdet models, keeps the ``backbone.`` entries.
    """
    state_dict = checkpoint
    if isinstance(checkpoint, dict):
        for key in ('model', 'state_dict'):
            if isinstance(checkpoint.get(key), dict):
                state_dict = checkpoint[key]
                break
    if not isinstance(state_dict, dict) or not state_dict or not all(
            isinstance(v, torch.Tensor) for v in state_dict.values()):
        keys = list(checkpoint)[:10] if isinstance(checkpoint, dict) else type(checkpoint)
        raise ValueError(f"{source}: no state dict found (looked for 'model', 'state_dict' or a "
                         f'dict of tensors); top-level entries: {keys}')
    state_dict = {k[len('module.'):] if k.startswith('module.') else k: v
                  for k, v in state_dict.items()}
    if any(k.startswith('backbone.') for k in state_dict):
        state_dict = {k[len('backbone.'):]: v for k, v in state_dict.items()
                      if k.startswith('backbone.')}
    return state_dict


def checkpoint_pos_embed(state_dict, source):
    """The checkpoint's ``pos_embed``, after checking it is (1, N, D)."""
    pos_embed = state_dict['pos_embed']
    if pos_embed.dim() != 3 or pos_embed.shape[0] != 1:
        raise ValueError(f'{source}: pos_embed must be (1, N, D), got {tuple(pos_embed.shape)}')
    return pos_embed


def checkpoint_grid(num_entries, model_grid, source):
    """The (rows, cols) grid of a stored position embedding with ``num_entries`` grid entries:
    the model's own grid if the count fits it, else a square one."""
    if num_entries == model_grid[0] * model_grid[1]:
        return tuple(model_grid)
    side = math.isqrt(num_entries)
    if side * side != num_entries:
        raise ValueError(f'{source}: pos_embed has {num_entries} grid entries, neither a square '
                         f'grid nor the model grid {tuple(model_grid)}; cannot tell its shape')
    return side, side


def variant_hint(state_dict, blocks, model_size, advice):
    """What to change when a checkpoint was saved from a backbone of another width or depth.

    Args:
        state_dict (dict): the checkpoint's backbone state dict.
        blocks (str): the prefix of its blocks ('layers' for Vim, 'blocks' for DeiT): the depth
            is one more than the largest ``{blocks}.{i}.`` index.
        model_size (tuple): the model's (embed_dim, depth).
        advice (callable): ``advice(embed_dim, depth)``, the config change that builds a model of
            the checkpoint's size.

    Returns:
        str | None: a line naming both sizes and the advice; None if the sizes match or the
        checkpoint has no patch conv or no blocks to read them from.
    """
    weight = state_dict.get('patch_embed.proj.weight')
    indices = [int(k.split('.')[1]) for k in state_dict
               if k.startswith(blocks + '.') and k.split('.')[1].isdigit()]
    if weight is None or not indices:
        return None
    size = (weight.shape[0], max(indices) + 1)
    if size == tuple(model_size):
        return None
    return (f'the checkpoint holds a backbone of embed_dim={size[0]} and depth={size[1]}, the '
            f'model has embed_dim={model_size[0]} and depth={model_size[1]}: {advice(*size)}, or '
            "load a checkpoint of the model's variant")


def load_state_dict_strictly(model, state_dict, source, description, hint=None):
    """``model.load_state_dict(state_dict)``, after :func:`~mmvim.utils.check_state_dict_fits`."""
    check_state_dict_fits(model, state_dict, source, description, hint)
    model.load_state_dict(state_dict)
