"""Time the Vim block's other fused ops: the bidirectional conv1d + SiLU and the add + RMSNorm.

For each case (model, image side, batch) it builds the op's inputs as a Vim block passes them
under bf16 autocast, and times the forward and forward + backward of the 'triton' backend
against the 'torch' one (the reference path), both under autocast as the model runs them:
- conv: x (batch, E, L) as the channel-last view in_proj's output gives, bf16; float32
  (E, 1, 4) kernels and (E,) biases for both directions (E = 2 x embed dim);
- add + RMSNorm: hidden (batch, L, D) bf16, the residual stream float32, a float32 weight;
  outputs the bf16 normed tensor and the float32 residual.
L = (side / 16)^2 + 1 (the class token). Timing as in benchmark_scan.py (``time_ms``: median
of ``do_bench`` over three rotating input sets, and the kernels' device time under
torch.profiler). Prints a table, writes JSON (--out) and a bar plot of the GPU times.

    python tools/analysis/benchmark_fused_ops.py --out work_dirs/fused_ops.json
"""
import argparse
import datetime
import itertools
import json
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..'))
from benchmark_scan import plot_gpu_ms, time_ms  # noqa: E402  (this script's folder)

from mmvim.ops import add_rms_norm, bidirectional_conv1d_silu  # noqa: E402

EMBED_DIMS = {'vim-ti': 192, 'vim-s': 384}
CASES = [('vim-s', 512, 8), ('vim-ti', 512, 8), ('vim-ti', 1248, 1), ('vim-ti', 1248, 8)]
KERNEL_SIZE = 4


def conv_inputs(batch, embed_dim, length):
    """[x, weight_f, bias_f, weight_b, bias_b]: x the (batch, E, L) view of a channel-last
    bf16 tensor."""
    channels = 2 * embed_dim
    x = torch.randn(batch, length, channels, device='cuda').to(torch.bfloat16)
    params = [(torch.randn(*shape, device='cuda') * 0.5).requires_grad_()
              for shape in ((channels, 1, KERNEL_SIZE), (channels, )) * 2]
    return [x.transpose(1, 2).requires_grad_()] + params


def norm_inputs(batch, embed_dim, length):
    """[hidden (bf16), residual (float32), weight (float32)], each (batch, L, D) but weight (D,)."""
    return [torch.randn(batch, length, embed_dim, device='cuda').to(torch.bfloat16)
            .requires_grad_(),
            torch.randn(batch, length, embed_dim, device='cuda', requires_grad=True),
            (1 + 0.1 * torch.randn(embed_dim, device='cuda')).requires_grad_()]


def conv(args, backend):
    return bidirectional_conv1d_silu(*args, backend=backend)


def norm(args, backend):
    hidden, residual, weight = args
    return add_rms_norm(hidden, residual, weight, 1e-5, torch.float32, torch.bfloat16,
                        backend=backend)


# name: (title, inputs of (batch, embed dim, length), the op as a function of (inputs, backend))
OPS = {'conv': ('conv1d + SiLU, both directions', conv_inputs, conv),
       'add_rms_norm': ('add + RMSNorm', norm_inputs, norm)}


def under_autocast(op, backend):
    """``op`` on ``backend`` as a function of its inputs, run under bf16 autocast."""
    def run(args):
        with torch.autocast('cuda', dtype=torch.bfloat16):
            return op(args, backend)
    return run


def parse_case(text):
    parts = text.split(',')
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f'expected model,side,batch, got {text!r}')
    model, side, batch = parts
    if model not in EMBED_DIMS:
        raise argparse.ArgumentTypeError(f'unknown model {model!r} in {text!r}; known: '
                                         f'{sorted(EMBED_DIMS)}')
    return model, int(side), int(batch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='work_dirs/fused_ops_benchmark.json')
    parser.add_argument('--cases', nargs='+', type=parse_case, default=CASES,
                        help='model,side,batch, e.g. vim-s,512,8 vim-ti,1248,1')
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit('benchmark_fused_ops.py times CUDA kernels; no CUDA device is visible')
    rows = []
    for (op, (_, make_inputs, fn)), (model, side, batch) in itertools.product(
            OPS.items(), args.cases):
        length = (side // 16)**2 + 1
        input_sets = [make_inputs(batch, EMBED_DIMS[model], length) for _ in range(3)]
        for backend, backward in itertools.product(('triton', 'torch'), (False, True)):
            ms, gpu_ms = time_ms(under_autocast(fn, backend), input_sets, backward)
            rows.append({'op': op, 'case': [model, side, batch], 'length': length,
                         'method': backend,
                         'pass': 'forward + backward' if backward else 'forward', 'ms': ms,
                         'gpu_ms': gpu_ms})
            print(f'{op:13s} {model:6s} {side:5d} b{batch:<3d} {backend:7s} '
                  f'{rows[-1]["pass"]:20s} {ms:9.4f} ms (GPU {gpu_ms:.4f} ms)', flush=True)
    import triton
    meta = dict(device=torch.cuda.get_device_name(), torch=torch.__version__,
                triton=triton.__version__, cuda=torch.version.cuda,
                date=datetime.datetime.now().isoformat(timespec='seconds'), command=sys.argv,
                dtype='bfloat16', kernel_size=KERNEL_SIZE)
    with open(args.out, 'w') as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)
    for op, (title, _, _) in OPS.items():
        plot_gpu_ms([r for r in rows if r['op'] == op], [list(c) for c in args.cases],
                    lambda c: f'{c[0]} {c[1]} b{c[2]}', f'{title}, bf16 autocast, {meta["device"]}',
                    f'{osp.splitext(args.out)[0]}_{op}.png')


if __name__ == '__main__':
    main()
