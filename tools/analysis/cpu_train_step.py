"""Time a Vim-Ti training step (forward + backward of the backbone) on the CPU, per scan backend.

    python tools/analysis/cpu_train_step.py [--cases torch:128:4 reference:128:4 torch:256:2]

Prints the median of ``--repeats`` timed steps after one warm-up step (docs/benchmarks.md).
"""
import argparse
import statistics
import time

import torch

from mmvim.models import VisionMamba


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='tiny')
    parser.add_argument('--cases', nargs='+', default=['torch:128:4', 'reference:128:4',
                                                       'torch:256:2'],
                        help='backend:size:batch')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    for case in args.cases:
        backend, size, batch = case.split(':')
        size, batch = int(size), int(batch)
        model = VisionMamba(args.arch, img_size=size, scan_backend=backend).train()
        images = torch.randn(batch, 3, size, size)
        times = []
        for _ in range(args.repeats + 1):
            start = time.perf_counter()
            sum(out.mean() for out in model(images)).backward()
            times.append(time.perf_counter() - start)
        print(f'{backend:9s} {size}x{size} batch {batch}: forward+backward '
              f'{statistics.median(times[1:]):.2f} s (median of {args.repeats})', flush=True)


if __name__ == '__main__':
    main()
