"""Time the bidirectional selective scan: Triton fused op against the reference path.

For each shape (batch, dim, length), N = 16, bf16 inputs (A, D, delta_bias float32), it times
the forward and forward + backward of ``bidirectional_selective_scan`` on the 'triton' backend,
on the 'torch' backend (the reference path; the plain reference is far too slow at these sizes),
and, when ``mamba_ssm`` imports, its ``selective_scan_fn`` used as official Vim does (two calls
plus flips). Wall times are medians of ``triton.testing.do_bench`` (CUDA events around each call),
rotating over three input sets so that small shapes are not timed out of L2; GPU times sum the
kernels' device times under torch.profiler, which the host's launch overhead does not inflate.
Prints a table, writes JSON (--out) and, when matplotlib imports, a bar plot (GPU times).

    python tools/analysis/benchmark_scan.py --out work_dirs/scan_bench.json
    python tools/analysis/benchmark_scan.py --config '{"PROGRAMS_F": 10}' --skip-reference \\
        --layout vim
"""
import argparse
import datetime
import itertools
import json
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..'))
from mmvim.ops.selective_scan import bidirectional_selective_scan  # noqa: E402
from mmvim.ops.selective_scan import triton_interface  # noqa: E402

SHAPES = [(8, 768, 1024), (1, 384, 6084), (4, 384, 4096), (8, 384, 1024)]
ORDER = ('u', 'delta', 'A', 'B', 'C', 'D', 'delta_bias')


def make_inputs(batch, dim, length, dtype=torch.bfloat16, dstate=16, layout='contiguous'):
    """Arguments of one bidirectional call, shaped and scaled like a trained Vim layer.

    layout 'contiguous': every (batch, dim, length) tensor contiguous (what mamba_ssm needs);
    'vim': the strides the Vim mixer passes: u, delta and z views of (batch, length, dim)
    tensors (the convolution's output keeps in_proj's channel-last layout), B and C views of
    the (batch, length, R + 2N) x_proj output.
    """
    def act(*shape, scale=1.0, channel_last=False):
        if channel_last and layout == 'vim':
            x = torch.randn(shape[0], shape[2], shape[1], device='cuda') * scale
            return x.to(dtype).transpose(1, 2).requires_grad_()
        return (torch.randn(*shape, device='cuda') * scale).to(dtype).requires_grad_()

    def bc():
        if layout != 'vim':
            return act(batch, dstate, length), act(batch, dstate, length)
        rank = max(dim // 32, 1)
        x = torch.randn(batch, length, rank + 2 * dstate, device='cuda').to(dtype)
        x = x.transpose(1, 2).requires_grad_()
        return x[:, rank:rank + dstate], x[:, rank + dstate:]

    def params():
        A = -torch.exp(torch.randn(dim, dstate, device='cuda'))
        B, C = bc()
        return dict(u=act(batch, dim, length, channel_last=True),
                    delta=act(batch, dim, length, scale=0.5, channel_last=True),
                    A=A.requires_grad_(), B=B, C=C,
                    D=torch.randn(dim, device='cuda', requires_grad=True),
                    delta_bias=(torch.rand(dim, device='cuda') - 4).requires_grad_())

    f, b = params(), params()
    return ([f[k] for k in ORDER] + [b[k] for k in ORDER]
            + [act(batch, dim, length, channel_last=True)])


def ours(backend):
    def run(args):
        return bidirectional_selective_scan(*args[:14], z=args[14], backend=backend)
    return run


def official(args):
    """mamba_ssm's selective_scan_fn as Vim's bimamba v2 calls it: two scans, flips, one gate."""
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    u, dt, A, B, C, D, bias = args[:7]
    ub, dtb, Ab, Bb, Cb, Db, biasb = args[7:14]
    z = args[14]
    y_f = selective_scan_fn(u, dt, A, B, C, D, z=z, delta_bias=bias, delta_softplus=True)
    y_b = selective_scan_fn(ub.flip(-1), dtb.flip(-1), Ab, Bb.flip(-1), Cb.flip(-1), Db,
                            z=z.flip(-1), delta_bias=biasb, delta_softplus=True)
    return (y_f + y_b.flip(-1)) / 2


def time_ms(fn, input_sets, backward, slow=False):
    """(median wall-clock ms per call, GPU kernel ms per call) of fn (forward, or forward +
    backward) over rotating input sets: CUDA events around each call (do_bench), and the sum
    of the kernels' device times under torch.profiler. fn returns a tensor or a tuple of them;
    the backward seeds each with a fixed random gradient."""
    import triton
    cycle = itertools.cycle(input_sets)
    as_tuple = lambda y: y if isinstance(y, tuple) else (y, )  # noqa: E731
    grads = [torch.randn_like(y) for y in as_tuple(fn(input_sets[0]))]

    def step():
        args = next(cycle)
        y = fn(args)
        if backward:
            torch.autograd.backward(as_tuple(y), grads)

    params = [t if t.is_leaf else t._base for s in input_sets for t in s  # B, C: views
              if t is not None and t.requires_grad]
    opts = dict(warmup=1, rep=1) if slow else dict(warmup=25, rep=200)
    with torch.set_grad_enabled(backward):
        wall = triton.testing.do_bench(step, grad_to_none=params if backward else None,
                                       return_mode='median', **opts)
        # the GPU's own time: with little work per call, the host can be the slower side
        reps = 2 if slow else 20
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            for _ in range(reps):
                for p in params if backward else ():
                    p.grad = None           # as do_bench does: no gradient accumulation adds
                step()
            torch.cuda.synchronize()
        gpu = sum(e.self_device_time_total for e in prof.key_averages()) / reps / 1e3
    return wall, gpu


def plot_gpu_ms(rows, cases, case_label, title, path):
    """Bar plot of the rows' GPU ms (log scale): one group per case (a row's 'case' key), one
    bar per (method, pass). Nothing when matplotlib does not import."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return
    labels = sorted({(r['method'], r['pass']) for r in rows})
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(labels)
    for i, label in enumerate(labels):
        ms = [next((r['gpu_ms'] for r in rows if (r['method'], r['pass']) == label
                    and r['case'] == c), 0) for c in cases]
        ax.bar([j + i * width for j in range(len(cases))], ms, width, label=' '.join(label))
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(cases))])
    ax.set_xticklabels([case_label(c) for c in cases])
    ax.set_yscale('log')
    ax.set_ylabel('GPU ms per call')
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='work_dirs/scan_benchmark.json')
    parser.add_argument('--config', default='{}', help='JSON overrides of the launch config')
    parser.add_argument('--skip-reference', action='store_true',
                        help="skip the slow 'torch' backend timings")
    parser.add_argument('--shapes', default=None, help='e.g. "8,768,1024;1,384,6084"')
    parser.add_argument('--layout', default='contiguous', choices=('contiguous', 'vim'),
                        help="input strides: all contiguous, or those of the Vim mixer")
    args = parser.parse_args()
    triton_interface.CONFIG_OVERRIDE.update(json.loads(args.config))
    shapes = SHAPES if args.shapes is None else [
        tuple(int(v) for v in s.split(',')) for s in args.shapes.split(';')]
    methods = {'triton': (ours('triton'), False)}
    if not args.skip_reference:
        methods['torch (reference path)'] = (ours('torch'), True)
    try:
        import mamba_ssm  # noqa: F401
        methods['mamba_ssm, 2 calls + flips'] = (official, False)
    except ImportError:
        pass
    rows = []
    for shape in shapes:
        input_sets = [make_inputs(*shape, layout=args.layout) for _ in range(3)]
        for (name, (fn, slow)), backward in itertools.product(methods.items(), (False, True)):
            ms, gpu_ms = time_ms(fn, input_sets, backward, slow)
            rows.append({'case': list(shape), 'method': name,
                         'pass': 'forward + backward' if backward else 'forward', 'ms': ms,
                         'gpu_ms': gpu_ms})
            print(f'{str(shape):18s} {name:28s} {rows[-1]["pass"]:20s} {ms:9.4f} ms '
                  f'(GPU {gpu_ms:.4f} ms)', flush=True)
    import triton
    meta = dict(device=torch.cuda.get_device_name(), torch=torch.__version__,
                triton=triton.__version__, cuda=torch.version.cuda,
                date=datetime.datetime.now().isoformat(timespec='seconds'), command=sys.argv,
                config={**triton_interface.DEFAULT_CONFIG, **triton_interface.CONFIG_OVERRIDE},
                dtype='bfloat16', dstate=16, layout=args.layout)
    with open(args.out, 'w') as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)
    plot_gpu_ms(rows, [list(s) for s in shapes], lambda s: 'x'.join(map(str, s)),
                f'bidirectional selective scan, bf16, N=16, {meta["device"]}',
                osp.splitext(args.out)[0] + '.png')


if __name__ == '__main__':
    main()
