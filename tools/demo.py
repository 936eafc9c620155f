"""The quick-start job: VisionMamba built from config dicts through mmseg's and mmdet's registries,
an official-format checkpoint loaded, features through mmseg's Feature2Pyramid neck.

    python tools/demo.py [--arch tiny] [--size 512]
"""
import argparse
import tempfile
import time
from pathlib import Path

import torch

import mmvim  # noqa: F401  (registers VisionMamba in mmseg and mmdet)


def official_format_checkpoint(model, path):
    """Write ``model``'s weights the way hustvl/Vim releases them ({'model': ..., head incl.})."""
    state_dict = dict(model.state_dict())
    state_dict['head.weight'] = torch.zeros(1000, model.embed_dim)
    state_dict['head.bias'] = torch.zeros(1000)
    torch.save({'model': state_dict, 'epoch': 0}, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='tiny', choices=['tiny', 'small', 'base'])
    parser.add_argument('--size', type=int, default=512)
    args = parser.parse_args()
    from mmdet.registry import MODELS as DET_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    for scope, registry in (('mmseg', SEG_MODELS), ('mmdet', DET_MODELS)):
        print(f'{scope} MODELS: VisionMamba -> {registry.get("VisionMamba").__module__}')

    torch.manual_seed(0)
    source = DET_MODELS.build(dict(type='VisionMamba', arch=args.arch, img_size=224,
                                   final_norm=True))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f'vim_{args.arch}_official_format.pth'
        official_format_checkpoint(source, path)
        backbone = SEG_MODELS.build(dict(
            type='VisionMamba', arch=args.arch, img_size=args.size,
            init_cfg=dict(type='Pretrained', checkpoint=str(path))))
        backbone.init_weights()
    neck = SEG_MODELS.build(dict(type='Feature2Pyramid', embed_dim=backbone.embed_dim,
                                 rescales=[4, 2, 1, 0.5]))
    backbone.eval(), neck.eval()
    image = torch.randn(1, 3, args.size, args.size)
    start = time.perf_counter()
    with torch.no_grad():
        features = backbone(image)
        pyramid = neck(features)
    seconds = time.perf_counter() - start
    print(f'Vim-{args.arch} at {args.size}x{args.size}: '
          f'{sum(p.numel() for p in backbone.parameters()) / 1e6:.1f}M parameters, '
          f'backbone + neck {seconds:.2f} s on {image.device}')
    for level, (feature, out) in enumerate(zip(features, pyramid)):
        print(f'  tap {backbone.out_indices[level]:2d}: {tuple(feature.shape)} -> neck level '
              f'{level}: {tuple(out.shape)} (stride {args.size // out.shape[-1]})')
    assert all(torch.isfinite(f).all() for f in pyramid)
    assert [args.size // f.shape[-1] for f in pyramid] == [4, 8, 16, 32]
    print('OK')


if __name__ == '__main__':
    main()
