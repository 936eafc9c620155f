"""Where a Vim backbone's time goes: torch-profiler tables of one step per case.

For each case (resolution, batch, infer or train) it builds VisionMamba (random weights, cls token
off, the four segmentation taps), times the step (median of ``triton.testing.do_bench``, bf16
autocast), then profiles one step and writes ``profile_<case>.txt``: the wall time, how many CUDA
kernels one step launches, their summed GPU time, and the ops sorted by GPU time. A wall time far
above the summed kernel time means the step is bound by the CPU (launches), not the GPU.

    python tools/analysis/profile_backbone.py --arch tiny --cases 512x8 512x1 1248x8 2048x1 \
        512x8:train --out-dir work_dirs/profile
"""
import argparse
import os
import os.path as osp
import sys

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, osp.dirname(__file__))
from benchmark import make_step  # noqa: E402  (the benchmark tool's step, so both time the same)

from mmvim.models import VisionMamba  # noqa: E402


def parse_case(text):
    """'1248x8' -> (1248, 8, 'infer'); '512x8:train' -> (512, 8, 'train')."""
    size_batch, _, mode = text.partition(':')
    parts = size_batch.split('x')
    if (len(parts) != 2 or not all(p.isdigit() for p in parts)
            or mode not in ('', 'infer', 'train')):
        raise SystemExit(f'--cases: {text!r} is not SIZExBATCH[:infer|:train], e.g. 512x8:train')
    return int(parts[0]), int(parts[1]), mode or 'infer'


def profile_case(arch, size, batch, mode, out_dir):
    import triton
    model = VisionMamba(arch=arch, img_size=size, out_indices=(5, 11, 17, 23), cls_token=None)
    model = model.cuda().train(mode == 'train')
    step = make_step(model, torch.randn(batch, 3, size, size, device='cuda'), mode, 'bf16',
                     'eager')
    ms = triton.testing.do_bench(step, warmup=10, rep=100, return_mode='median')
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        step()
        torch.cuda.synchronize()
    kernels = [e for e in prof.events() if e.device_type.name == 'CUDA']
    kernel_ms = sum(e.device_time for e in kernels) / 1e3
    name = f'{arch}_{size}_b{batch}_{mode}'
    summary = (f'{name}: {ms:.2f} ms per step (median), {len(kernels)} CUDA kernels per step, '
               f'{kernel_ms:.2f} ms of kernel time')
    with open(osp.join(out_dir, f'profile_{name}.txt'), 'w') as f:
        f.write(summary + '\n')
        f.write(prof.key_averages().table(sort_by='self_cuda_time_total', row_limit=30,
                                          max_name_column_width=70))
    print(summary, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='tiny', help="VisionMamba arch ('tiny', 'small')")
    parser.add_argument('--cases', nargs='+', default=['512x8', '512x1', '1248x8', '2048x1',
                                                       '512x8:train'],
                        help='SIZExBATCH[:train]')
    parser.add_argument('--out-dir', default='work_dirs/profile')
    args = parser.parse_args()
    cases = [parse_case(case) for case in args.cases]
    if not torch.cuda.is_available():
        raise SystemExit('profile_backbone.py profiles CUDA kernels: it needs a GPU')
    os.makedirs(args.out_dir, exist_ok=True)
    for case in cases:
        profile_case(args.arch, *case, args.out_dir)


if __name__ == '__main__':
    main()
