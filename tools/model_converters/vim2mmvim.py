"""Convert an official Vim checkpoint (hustvl/Vim ``*.pth``) to a plain mmvim backbone file.

    python tools/model_converters/vim2mmvim.py vim_s_midclstok_80p5acc.pth vim_s_mmvim.pth

The result is ``{'state_dict': backbone weights, 'meta': {...}}``: the ImageNet head, optimizer,
EMA and training arguments are dropped; the position embedding stays at the checkpoint's own grid
(VisionMamba resizes it to the model's when loading). Load it with
``init_cfg=dict(type='Pretrained', checkpoint='vim_s_mmvim.pth')``. Official checkpoints load
there directly too; converting saves space and drops the pickled training arguments.
"""
import os

from mmengine.runner.checkpoint import save_checkpoint

from mmvim.models.backbones.pretrained import extract_state_dict
from mmvim.models.backbones.vim_checkpoint import CLASSIFIER_PREFIXES
from mmvim.utils import converter_input


def convert(checkpoint, source):
    """Official checkpoint dict -> (mmvim state dict, dropped keys)."""
    state_dict = extract_state_dict(checkpoint, source)
    for key in ('pos_embed', 'patch_embed.proj.weight', 'layers.0.mixer.A_log'):
        if key not in state_dict:
            raise ValueError(f'{source}: no {key!r}; this does not look like a Vim checkpoint '
                             f'(first keys: {list(state_dict)[:8]})')
    dropped = sorted(k for k in state_dict if k.startswith(CLASSIFIER_PREFIXES))
    return {k: v for k, v in state_dict.items() if k not in dropped}, dropped


def main():
    args, checkpoint = converter_input(__doc__.split('\n')[0],
                                       src_help='official Vim checkpoint (.pth)',
                                       dst_help='output mmvim checkpoint (.pth)')
    state_dict, dropped = convert(checkpoint, args.src)
    depth = 1 + max(int(k.split('.')[1]) for k in state_dict if k.startswith('layers.'))
    meta = dict(source=os.path.basename(args.src), embed_dim=state_dict['pos_embed'].shape[-1],
                depth=depth, cls_token='cls_token' in state_dict)
    save_checkpoint(dict(state_dict=state_dict, meta=meta), args.dst)  # atomic (mmvim's backend)
    print(f'wrote {args.dst}: {len(state_dict)} tensors (embed_dim {meta["embed_dim"]}, depth '
          f'{depth}); dropped {dropped}')


if __name__ == '__main__':
    main()
