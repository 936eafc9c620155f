"""Convert an official DeiT / ViT checkpoint (timm or facebookresearch/deit format) to the keys of
mmseg's VisionTransformer, for the DeiT baselines.

    python tools/model_converters/deit2mmseg.py deit_small_patch16_224-cd65a155.pth \
        pretrain/deit_small_patch16_224_mmseg.pth

facebookresearch files keep the weights under ``'model'``; timm files are the state dict itself.
The classifier head is dropped; distilled checkpoints (with a ``dist_token``) are refused, since
mmseg's VisionTransformer has one class token only.
"""
import os
import re

from mmengine.runner.checkpoint import save_checkpoint

from mmvim.models.backbones.pretrained import extract_state_dict
from mmvim.utils import converter_input

# (timm pattern, mmseg replacement), applied to the key in order
KEY_RULES = [
    (r'^patch_embed\.proj\.', 'patch_embed.projection.'),
    (r'^blocks\.(\d+)\.norm1\.', r'layers.\1.ln1.'),
    (r'^blocks\.(\d+)\.norm2\.', r'layers.\1.ln2.'),
    (r'^blocks\.(\d+)\.attn\.qkv\.weight$', r'layers.\1.attn.attn.in_proj_weight'),
    (r'^blocks\.(\d+)\.attn\.qkv\.bias$', r'layers.\1.attn.attn.in_proj_bias'),
    (r'^blocks\.(\d+)\.attn\.proj\.', r'layers.\1.attn.attn.out_proj.'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.', r'layers.\1.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.', r'layers.\1.ffn.layers.1.'),
    (r'^norm\.', 'ln1.'),
    (r'^(cls_token|pos_embed)$', r'\1'),
]
DROPPED = re.compile(r'^(head|head_dist|fc_norm|pre_logits)\.')


def convert_deit(state_dict, source='checkpoint'):
    """timm-named DeiT state dict -> (mmseg VisionTransformer state dict, dropped keys)."""
    if 'dist_token' in state_dict:
        raise ValueError(f'{source} is a distilled DeiT (it has a dist_token); mmseg\'s '
                         'VisionTransformer takes the plain DeiT checkpoints only')
    converted, dropped, unknown = {}, [], []
    for key, value in state_dict.items():
        if DROPPED.match(key):
            dropped.append(key)
            continue
        for pattern, replacement in KEY_RULES:
            if re.match(pattern, key):
                converted[re.sub(pattern, replacement, key)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f'{source}: keys that are not DeiT / ViT weights: {unknown[:10]}')
    return converted, sorted(dropped)


def main():
    args, checkpoint = converter_input(
        __doc__.split('\n')[0], src_help='DeiT checkpoint (timm or facebookresearch format)',
        dst_help='output checkpoint with mmseg VisionTransformer keys')
    state_dict = extract_state_dict(checkpoint, args.src)
    converted, dropped = convert_deit(state_dict, args.src)
    meta = dict(source=os.path.basename(args.src))
    save_checkpoint(dict(state_dict=converted, meta=meta), args.dst)  # atomic (mmvim's backend)
    print(f'wrote {args.dst}: {len(converted)} tensors; dropped {dropped}')


if __name__ == '__main__':
    main()
