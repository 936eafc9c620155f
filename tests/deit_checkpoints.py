"""DeiT state dicts with the published timm / facebookresearch key names and shapes and random
values, shared by the converter and ViTDet tests (real checkpoints cannot be downloaded here)."""
import torch


def timm_deit_state_dict(dim=192, depth=2, num_classes=1000, grid=14):
    """A DeiT (DeiT-Ti by default, ``depth`` blocks) state dict as timm names it; ``grid`` is the
    side of the position-embedding grid (14 for 224 inputs), which has a class entry first."""
    shapes = {'cls_token': (1, 1, dim), 'pos_embed': (1, grid * grid + 1, dim),
              'patch_embed.proj.weight': (dim, 3, 16, 16), 'patch_embed.proj.bias': (dim, ),
              'norm.weight': (dim, ), 'norm.bias': (dim, ), 'head.weight': (num_classes, dim),
              'head.bias': (num_classes, )}
    for i in range(depth):
        shapes.update({f'blocks.{i}.norm1.weight': (dim, ), f'blocks.{i}.norm1.bias': (dim, ),
                       f'blocks.{i}.attn.qkv.weight': (3 * dim, dim),
                       f'blocks.{i}.attn.qkv.bias': (3 * dim, ),
                       f'blocks.{i}.attn.proj.weight': (dim, dim),
                       f'blocks.{i}.attn.proj.bias': (dim, ),
                       f'blocks.{i}.norm2.weight': (dim, ), f'blocks.{i}.norm2.bias': (dim, ),
                       f'blocks.{i}.mlp.fc1.weight': (4 * dim, dim),
                       f'blocks.{i}.mlp.fc1.bias': (4 * dim, ),
                       f'blocks.{i}.mlp.fc2.weight': (dim, 4 * dim),
                       f'blocks.{i}.mlp.fc2.bias': (dim, )})
    return {k: torch.randn(v) for k, v in shapes.items()}
