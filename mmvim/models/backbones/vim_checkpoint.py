"""Reading official (hustvl/Vim) and mmvim checkpoints into :class:`VisionMamba`.

Official files are dicts whose ``'model'`` entry is the state dict, with the same parameter names
as mmvim's backbone plus the ImageNet ``head``. mmengine files keep it under ``'state_dict'``
(whole detectors / segmentors under a ``backbone.`` prefix). The position embedding is resized
from the checkpoint's grid to the model's, its class entry taken from where it really sits.
"""
import math

import torch
from mmengine.logging import print_log

from mmvim.utils import load_checkpoint_file
from ..layers import cls_token_index, resize_pos_embed

# Keys of official checkpoints that a backbone never has: the ImageNet classifier, and the
# rotary-embedding buffers of the RoPE variants.
CLASSIFIER_PREFIXES = ('head.', 'rope.')


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


def _checkpoint_grid(num_entries, model_grid, source):
    if num_entries == model_grid[0] * model_grid[1]:
        return tuple(model_grid)
    side = math.isqrt(num_entries)
    if side * side != num_entries:
        raise ValueError(f'{source}: pos_embed has {num_entries} grid entries, neither a square '
                         f'grid nor the model grid {model_grid}; cannot tell its shape')
    return side, side


def adapt_state_dict(model, state_dict, source='checkpoint'):
    """Fit a checkpoint's backbone state dict to ``model``: drop what the backbone does not build
    by design, resize the position embedding. Returns (state_dict, list of dropped keys)."""
    state_dict = dict(state_dict)
    dropped = [k for k in state_dict if k.startswith(CLASSIFIER_PREFIXES)]
    if model.norm_f is None and 'norm_f.weight' in state_dict:
        dropped.append('norm_f.weight')
    ckpt_has_cls = 'cls_token' in state_dict
    if ckpt_has_cls and model.cls_token is None:
        dropped.append('cls_token')
    for key in dropped:
        state_dict.pop(key)

    if 'pos_embed' in state_dict:
        pos_embed = state_dict['pos_embed']
        if pos_embed.dim() != 3 or pos_embed.shape[0] != 1:
            raise ValueError(f'{source}: pos_embed must be (1, N, D), got {tuple(pos_embed.shape)}')
        if ckpt_has_cls and model.ckpt_cls_token is None:
            raise ValueError(f'{source} has a cls_token, but the model was told '
                             'ckpt_cls_token=None')
        grid_entries = pos_embed.shape[1] - ckpt_has_cls
        src_grid = _checkpoint_grid(grid_entries, model.grid_size, source)
        src_index = cls_token_index(model.ckpt_cls_token if ckpt_has_cls else None, grid_entries)
        dst_index = cls_token_index(model.cls_token_mode if ckpt_has_cls else None,
                                    model.grid_size[0] * model.grid_size[1])
        state_dict['pos_embed'] = resize_pos_embed(pos_embed, src_grid, model.grid_size,
                                                   src_index, dst_index)
    return state_dict, dropped


def load_vim_state_dict(model, checkpoint, logger='current'):
    """Load an official Vim or mmvim checkpoint (path or dict) into ``model`` strictly.

    Raises:
        ValueError: listing missing, unexpected and mis-shaped keys (e.g. a checkpoint of another
            variant). The classifier head and, where the model does not build them, ``norm_f``
            and ``cls_token`` are skipped and logged, not errors.
    """
    source = checkpoint if isinstance(checkpoint, str) else 'checkpoint'
    if isinstance(checkpoint, str):
        checkpoint = load_checkpoint_file(checkpoint)
    state_dict, dropped = adapt_state_dict(model, extract_state_dict(checkpoint, source), source)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mis_shaped = sorted(f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model '
                        f'{tuple(expected[k].shape)}' for k in set(expected) & set(state_dict)
                        if state_dict[k].shape != expected[k].shape)
    if missing or unexpected or mis_shaped:
        report = [f'{source} does not fit this VisionMamba (embed_dim={model.embed_dim}, '
                  f'depth={model.depth}, patch {model.patch_size}, stride {model.stride}):']
        for title, keys in (('missing', missing), ('unexpected', unexpected),
                            ('mis-shaped', mis_shaped)):
            if keys:
                shown = ', '.join(keys[:12]) + (f' ... ({len(keys)} in all)' if len(keys) > 12 else '')
                report.append(f'  {title} keys: {shown}')
        raise ValueError('\n'.join(report))
    model.load_state_dict(state_dict)
    print_log(f'VisionMamba: loaded {len(state_dict)} tensors from {source}'
              + (f'; skipped {dropped} (not part of this backbone)' if dropped else ''),
              logger=logger)
