"""Reading official (hustvl/Vim) and mmvim checkpoints into :class:`VisionMamba`.

Official files are dicts whose ``'model'`` entry is the state dict, with the same parameter names
as mmvim's backbone plus the ImageNet ``head``. mmengine files keep it under ``'state_dict'``
(whole detectors / segmentors under a ``backbone.`` prefix). The position embedding is resized
from the checkpoint's grid to the model's, its class entry taken from where it really sits.
"""
from mmengine.logging import print_log

from mmvim.utils import load_checkpoint_file
from ..layers import cls_token_index, resize_pos_embed
from .pretrained import (checkpoint_grid, checkpoint_pos_embed, extract_state_dict,
                         load_state_dict_strictly, variant_hint)

# Keys of official checkpoints that a backbone never has: the ImageNet classifier, and the
# rotary-embedding buffers of the RoPE variants.
CLASSIFIER_PREFIXES = ('head.', 'rope.')


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
        pos_embed = checkpoint_pos_embed(state_dict, source)
        if ckpt_has_cls and model.ckpt_cls_token is None:
            raise ValueError(f'{source} has a cls_token, but the model was told '
                             'ckpt_cls_token=None')
        grid_entries = pos_embed.shape[1] - ckpt_has_cls
        src_grid = checkpoint_grid(grid_entries, model.grid_size, source)
        src_index = cls_token_index(model.ckpt_cls_token if ckpt_has_cls else None, grid_entries)
        dst_index = cls_token_index(model.cls_token_mode if ckpt_has_cls else None,
                                    model.grid_size[0] * model.grid_size[1])
        state_dict['pos_embed'] = resize_pos_embed(pos_embed, src_grid, model.grid_size,
                                                   src_index, dst_index)
    return state_dict, dropped


def load_vim_state_dict(model, checkpoint, logger='current'):
    """Load an official Vim or mmvim checkpoint (path or dict) into ``model`` strictly.

    Raises:
        ValueError: listing missing, unexpected and mis-shaped keys and, for a checkpoint of
            another width or depth, the ``arch`` that fits it. The classifier head and, where the
            model does not build them, ``norm_f`` and ``cls_token`` are skipped and logged, not
            errors.
    """
    source = checkpoint if isinstance(checkpoint, str) else 'checkpoint'
    if isinstance(checkpoint, str):
        checkpoint = load_checkpoint_file(checkpoint)
    state_dict, dropped = adapt_state_dict(model, extract_state_dict(checkpoint, source), source)
    load_state_dict_strictly(model, state_dict, source,
                             f'VisionMamba (embed_dim={model.embed_dim}, depth={model.depth}, '
                             f'patch {model.patch_size}, stride {model.stride})',
                             variant_hint(state_dict, 'layers', (model.embed_dim, model.depth),
                                          model.config_for))
    print_log(f'VisionMamba: loaded {len(state_dict)} tensors from {source}'
              + (f'; skipped {dropped} (not part of this backbone)' if dropped else ''),
              logger=logger)
