"""FPS and peak GPU memory of Vim and DeiT backbones (+ FPN) against input resolution.

One point per model x resolution x part x mode x dtype x batch:

- model: a preset with random weights, or a config file.
    vim-ti, vim-s: mmvim's VisionMamba (arch 'tiny' / 'small'; Triton scan on GPUs, the PyTorch
        path on CPUs), position embedding stored for the input grid.
    deit-ti (D 192, 3 heads), deit-s (D 384, 6 heads): mmvim's ViTDet as a plain DeiT: 12 blocks,
        all global (no windows, no relative position), position embedding stored for the input
        grid; one line per ``--attn``: 'sdpa' (``scaled_dot_product_attention``, fused) or
        'naive' (the original DeiT's ``softmax(q k^T * scale) v``, as the paper measured it).
    CONFIG.py: ``cfg.model.backbone`` (+ ``cfg.model.neck``) as written, built in the registry of
        the config's ``default_scope`` (mmseg when it sets none); a ViTDet backbone takes
        ``--attn``. Its weights are not loaded.
- part: 'backbone' alone, or 'backbone+fpn', the backbone then an FPN (the paper's setting):
    --style seg (segmentation taps, as configs/_base_/models/upernet_vim.py and upernet_deit.py):
        4 stride-16 taps (Vim: mixer outputs of blocks 5, 11, 17, 23, middle class token removed;
        DeiT: blocks 2, 5, 8, 11) -> mmseg's Feature2Pyramid (rescales 4, 2, 1, 0.5: deconv-BN-
        GELU-deconv, deconv, identity, max-pool; channels D) -> FPN (1x1 laterals, top-down sum,
        3x3 outputs, 256 channels, 5 levels = strides 4 to 64). The FPN is mmseg's, a copy of
        mmdet's with the same layers and forward at these settings: Feature2Pyramid needs mmseg
        anyway, and mmdet's models package needs more (scipy, pycocotools, shapely).
    --style det (ViTDet, as configs/_base_/models/cascade-mask-rcnn_vim-ti_vitdet.py): one
        stride-16 map (Vim: residual stream after the last block, no class token; DeiT: the
        last block) -> mmvim's SimpleFPN (256 channels, 5 levels, LN2d).
    A config's neck: SimpleFPN or FPN as written; Feature2Pyramid followed by the FPN above.
- mode: 'infer' (eval mode, ``torch.no_grad``) or 'train' (train mode, forward + backward of the
    sum of all outputs, gradients cleared each step, no optimizer step).
- dtype: fp32, or bf16 / fp16 through ``torch.autocast`` (weights stay fp32).
- resolution: square images; a side that is not a multiple of 16 (the patch) is rounded up to
    one, as padding to ``size_divisor=16`` would (738 -> 752); the JSON keeps both.
    ``--resolutions`` are measured at every ``--batch``; ``--large-resolutions`` at batch 1 only,
    after them (where Vim's cost, linear in the tokens, leaves attention's quadratic one behind:
    4096 is 65,536 patches, and naive attention's fp32 scores alone take 16 GiB per head and
    image). They default to 3072 and 4096 when ``--resolutions`` is left at its default, and to
    none when ``--resolutions`` is given (pass both to have both; ``--large-resolutions``
    without values for none).

Timing: ``--warmup`` steps, then up to ``--iters`` timed steps (at least 3, stopped after
``--max-seconds``); each step is timed between CUDA events, with no synchronisation between
steps (``time.perf_counter`` on CPUs), and the median is reported as ms per batch and images/s.
``--execution eager`` runs the modules op by op; ``cuda_graph`` (GPU) replays the whole forward
as one CUDA graph per point (mmvim.models.utils.CUDAGraphRunner, what VisionMamba's
``cuda_graph=True`` uses) and, for 'train' points, the forward and the backward as two graphs
(mmvim.models.utils.GraphedTraining), for every model alike.
Peak memory: ``max_memory_allocated`` during the point minus what was allocated before its input
was made (the weights; earlier points' gradients are freed): input, activations, outputs and
(train) gradients; cuBLAS' one-time workspace is allocated before the first (eager) point.
Not measured on CPUs. A point that runs out of GPU memory is recorded as OOM and the sweep goes
on.

Needs torch and mmvim (mmengine; Triton for Vim on GPUs); 'backbone+fpn' and config files also
``mmseg.models`` (mmcv with its compiled ops; CPU-only ops are enough), an mmdet-scoped config
``mmdet.models``; the plots matplotlib (without it: ``--replot`` elsewhere).

Output: one line per point as it finishes, then a table per (part, mode, dtype, batch) of
images/s and MiB against resolution; in ``--out-dir``, ``results.json`` (rewritten after every
point) and PNG plots of images/s and memory against resolution, one line per model.
``--replot results.json`` redraws the table and plots of a (possibly unfinished) run, beside
it or in ``--out-dir`` when given.

    python tools/analysis/benchmark.py --models vim-ti deit-ti --dtype fp32 bf16 --batch 1 8
    python tools/analysis/benchmark.py --models vim-s deit-s --resolutions 512 2048 --modes train
    python tools/analysis/benchmark.py --dtype bf16 --batch 8 --resolutions 512 1024 2048 \
        --large-resolutions 3072 4096     # the large ones at batch 1
    python tools/analysis/benchmark.py --models configs/cascade-mask-rcnn_vim-ti_vitdet_coco.py
    python tools/analysis/benchmark.py --device cpu --resolutions 64 96 --iters 3
"""
import argparse
import datetime
import importlib
import itertools
import json
import math
import os
import os.path as osp
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..'))
from mmvim.models import ViTDet, VisionMamba  # noqa: E402
from mmvim.models.layers import ATTN_IMPLS  # noqa: E402
from mmvim.models.utils import CUDAGraphRunner, GraphedTraining  # noqa: E402
from mmvim.utils.atomic_write import write_atomically  # noqa: E402

PRESETS = {
    'vim-ti': (VisionMamba, dict(arch='tiny', embed_dim=192)),
    'vim-s': (VisionMamba, dict(arch='small', embed_dim=384)),
    'deit-ti': (ViTDet, dict(embed_dim=192, num_heads=3)),
    'deit-s': (ViTDet, dict(embed_dim=384, num_heads=6)),
}
PLAIN_DEIT = dict(depth=12, global_attn_indexes=tuple(range(12)))
TAPS = {
    ('seg', VisionMamba): dict(out_indices=(5, 11, 17, 23)),
    ('seg', ViTDet): dict(out_indices=(2, 5, 8, 11)),
    ('det', VisionMamba): dict(cls_token=None, out_indices=(23, ), out_type='stream'),
    ('det', ViTDet): dict(out_indices=(11, )),
}
STYLE_NECKS = {
    'seg': lambda d: dict(type='Feature2Pyramid', embed_dim=d, rescales=[4, 2, 1, 0.5],
                          norm_cfg=dict(type='BN', requires_grad=True)),
    'det': lambda d: dict(type='SimpleFPN', backbone_channel=d, in_channels=[d // 4, d // 2, d, d],
                          out_channels=256, num_outs=5, norm_cfg=dict(type='LN2d', eps=1e-6)),
}
FPN_NECKS = ('FPN', 'SimpleFPN')
PARTS = ('backbone', 'backbone+fpn')
MODES = ('infer', 'train')
DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}
# How a step is executed: op by op, or replayed as CUDA graphs (one launch per forward).
EXECUTIONS = ('eager', 'cuda_graph')
PATCH = 16
RESOLUTIONS = [512, 640, 738, 1024, 1248]
LARGE_RESOLUTIONS = [3072, 4096]       # measured at batch 1 only


@dataclass
class Variant:
    """One line of the plots: a model with its taps and attention.

    ``build(side)`` returns (backbone, FPN modules; none unless the variant was made with the
    FPN) for square inputs of ``side``; ``info`` goes into every point, ``cfgs`` into the JSON.
    """
    label: str
    info: dict
    cfgs: dict
    build: Callable = field(repr=False)


def models_registry(scope):
    """mmseg's or mmdet's MODELS with that package's models (and mmvim's) registered."""
    importlib.import_module(f'{scope}.models')
    return importlib.import_module(f'{scope}.registry').MODELS


def fpn_cfgs(neck, source):
    """The neck configs that make 'backbone+fpn' from a model's own neck config (see the module
    docstring); raises naming ``source`` for a neck that is no FPN."""
    kind = (neck or {}).get('type')
    if kind in FPN_NECKS:
        return [neck]
    if kind == 'Feature2Pyramid':
        levels = len(neck.get('rescales', [4, 2, 1, 0.5]))
        return [neck, dict(type='FPN', in_channels=[neck['embed_dim']] * levels,
                           out_channels=256, num_outs=5)]
    raise SystemExit(f'{source}: neck {kind!r} is neither {" nor ".join(FPN_NECKS)} nor '
                     'Feature2Pyramid; measure --parts backbone only')


def _variant(name, attn, info, cfgs, build_backbone, necks, registry):
    def build(side):
        return build_backbone(side), [registry.build(cfg) for cfg in necks]

    return Variant(f'{name} ({attn})' if attn else name, dict(model=name, attention=attn, **info),
                   dict(cfgs, fpn=necks), build)


def preset_variants(name, style, attns, with_fpn):
    """Variants of a preset: one per attention for DeiT, one for Vim."""
    cls, kwargs = PRESETS[name]
    kwargs = {**kwargs, **TAPS[style, cls]}
    necks = fpn_cfgs(STYLE_NECKS[style](kwargs['embed_dim']), name) if with_fpn else []
    registry = models_registry('mmseg') if with_fpn else None   # import errors before the sweep
    variants = []
    for attn in attns if cls is ViTDet else [None]:
        full = dict(kwargs, **PLAIN_DEIT, attn_impl=attn) if cls is ViTDet else kwargs
        variants.append(_variant(
            name, attn, dict(backbone=cls.__name__, style=style),
            dict(backbone=dict(type=cls.__name__, **full, **_input_grid(cls, 'input side'))),
            lambda side, full=full: cls(**full, **_input_grid(cls, side)), necks, registry))
    return variants


def _input_grid(cls, side):
    """Sizes that store the position embedding for the input grid (no resizing at forward)."""
    return dict(img_size=side, pretrain_img_size=side) if cls is ViTDet else dict(img_size=side)


def config_variants(path, attns, with_fpn):
    """Variants of a config file's model: one per attention for a ViTDet backbone."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    scope = cfg.get('default_scope', 'mmseg')
    necks = fpn_cfgs(cfg.model.get('neck'), path) if with_fpn else []
    name = osp.splitext(osp.basename(path))[0]
    registry = models_registry(scope)
    variants = []
    for attn in attns if cfg.model.backbone.type == 'ViTDet' else [None]:
        backbone = cfg.model.backbone.copy()
        if attn:
            backbone.attn_impl = attn
        variants.append(_variant(
            name, attn, dict(backbone=backbone.type, style='config'),
            dict(backbone=backbone.to_dict(), scope=scope),
            lambda side, backbone=backbone: registry.build(backbone), necks, registry))
    return variants


def make_variants(models, style, attns, with_fpn):
    variants = []
    for model in models:
        if model in PRESETS:
            variants += preset_variants(model, style, attns, with_fpn)
        elif osp.isfile(model):
            variants += config_variants(model, attns, with_fpn)
        else:
            raise SystemExit(f'--models: {model!r} is neither a preset ({", ".join(PRESETS)}) '
                             'nor a config file')
    return variants


def make_step(model, images, mode, dtype, execution):
    """One iteration: forward (``mode`` 'infer') or forward + backward of the summed outputs
    ('train'), under autocast for bf16 / fp16; with ``execution`` 'cuda_graph' the forward (and
    the backward) replay CUDA graphs. images: (B, 3, H, W) float32."""
    model.train(mode == 'train')
    autocast = dict(device_type=images.device.type, dtype=DTYPES[dtype],
                    enabled=dtype != 'fp32')
    forward = model
    if execution == 'cuda_graph':
        forward = (CUDAGraphRunner(lambda x: tuple(model(x))) if mode == 'infer'
                   else GraphedTraining(model))

    def infer():
        with torch.no_grad(), torch.autocast(**autocast):
            forward(images)

    def train():
        model.zero_grad(set_to_none=True)
        with torch.autocast(**autocast):
            outs = forward(images)
        sum(out.float().sum() for out in outs).backward()

    return infer if mode == 'infer' else train


def _stamp(device):
    if device.type == 'cuda':
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event
    return time.perf_counter()


def _elapsed_ms(start, end):
    return start.elapsed_time(end) if isinstance(start, torch.cuda.Event) else 1e3 * (end - start)


def time_step(step, device, warmup, iters, max_seconds):
    """(median ms per call of ``step``, number of timed calls) after ``warmup`` calls; timing
    stops after ``iters`` calls, or after ``max_seconds`` once 3 are done."""
    for _ in range(warmup):
        step()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    stamps, began = [], time.perf_counter()
    for _ in range(iters):
        start = _stamp(device)
        step()
        stamps.append((start, _stamp(device)))
        if len(stamps) >= 3 and time.perf_counter() - began > max_seconds:
            break
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return statistics.median([_elapsed_ms(*pair) for pair in stamps]), len(stamps)


def measure(model, side, mode, dtype, batch, device, timing, execution):
    """ms per batch, images/s, peak memory beyond what was allocated before (MiB; None on CPUs)
    and the number of timed steps of one point."""
    cuda = device.type == 'cuda'
    if cuda:
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
    images = torch.randn(batch, 3, side, side, device=device)
    ms, iters = time_step(make_step(model, images, mode, dtype, execution), device, **timing)
    peak = (torch.cuda.max_memory_allocated(device) - before) / 2**20 if cuda else None
    return dict(ms=round(ms, 4), fps=float(f'{batch * 1e3 / ms:.6g}'),   # slow CPU points too
                peak_memory_mib=None if peak is None else round(peak, 1), iters=iters)


def run_point(model, side, mode, dtype, batch, device, timing, execution):
    """:func:`measure`, with status 'ok', or status 'OOM' when the GPU runs out of memory."""
    try:
        return dict(status='ok', **measure(model, side, mode, dtype, batch, device, timing,
                                           execution))
    except torch.cuda.OutOfMemoryError:
        pass
    finally:
        model.zero_grad(set_to_none=True)
    if device.type == 'cuda':           # the failed point's tensors are gone with its frames
        torch.cuda.empty_cache()
    return dict(status='OOM', ms=None, fps=None, peak_memory_mib=None, iters=0)


def warm_up_libraries(device, dtypes):
    """A small matrix product per dtype and a small convolution on ``device``'s current stream, so
    that cuBLAS' one-time workspace (~32 MiB on an H100) is allocated before the first point, not
    counted in its peak memory (it stays allocated for the later points). This covers eager
    points; a CUDA-graph point captures on a stream of its own, which may get its own workspace,
    and cuDNN's workspace can still grow with a larger convolution."""
    for name in dtypes:
        a = torch.randn(64, 64, device=device, dtype=DTYPES[name])
        torch.matmul(a, a)
        nn.functional.conv2d(torch.randn(1, 3, 32, 32, device=device, dtype=DTYPES[name]),
                             torch.randn(8, 3, 16, 16, device=device, dtype=DTYPES[name]),
                             stride=16)
    torch.cuda.synchronize(device)


def sweep(variants, resolutions, parts, modes, dtypes, batches, device, timing, execution,
          on_point=None, large_resolutions=()):
    """Measure every point, calling ``on_point(point)`` as each finishes; returns the points.

    ``resolutions`` are measured at every batch size of ``batches``, then ``large_resolutions``
    at batch 1 only. Models are built once per (resolution, variant), on ``device``.
    Resolutions are the outer loop, so a sweep cut short still has every model at the smaller
    ones.
    """
    points = []
    if device.type == 'cuda':
        warm_up_libraries(device, dtypes)
    plan = [(r, batches) for r in resolutions] + [(r, [1]) for r in large_resolutions]
    for resolution, resolution_batches in plan:
        for variant in variants:
            side = math.ceil(resolution / PATCH) * PATCH
            with device:
                backbone, fpn = variant.build(side)
            for part in parts:
                model = backbone if part == 'backbone' else nn.Sequential(backbone, *fpn)
                neck = '+'.join(type(m).__name__ for m in fpn) if part != 'backbone' else None
                for mode, dtype, batch in itertools.product(modes, dtypes, resolution_batches):
                    point = dict(variant.info, label=variant.label, part=part, neck=neck,
                                 mode=mode, execution=execution, dtype=dtype, batch=batch,
                                 resolution=resolution, input_size=side)
                    point.update(run_point(model, side, mode, dtype, batch, device, timing,
                                           execution))
                    points.append(point)
                    if on_point:
                        on_point(point)
            del backbone, fpn, model
            if device.type == 'cuda':
                torch.cuda.empty_cache()
    return points


def point_line(p, width):
    result = ('OOM' if p['status'] == 'OOM' else
              f'{p["ms"]:9.2f} ms {p["fps"]:9.1f} img/s'
              + (f' {p["peak_memory_mib"]:9.0f} MiB' if p['peak_memory_mib'] is not None else ''))
    return (f'{p["label"]:{width}s} {p["part"]:12s} {p["mode"]:5s} {p["dtype"]:4s} '
            f'b{p["batch"]:<3d} {p["resolution"]:5d}  {result}')


def groups(points):
    """{(part, mode, dtype, batch): points}, in the order first seen."""
    out = {}
    for p in points:
        out.setdefault((p['part'], p['mode'], p['dtype'], p['batch']), []).append(p)
    return out


def describe(key, pts):
    """(title, {label: row name}) of a group: the style and neck go in the title where every
    model shares them, else beside each model's name."""
    part, mode, dtype, batch = key
    shared, rows = [], {p['label']: p['label'] for p in pts}
    for name in ('style', 'neck'):
        values = {p['label']: p[name] for p in pts}
        if len(set(values.values())) == 1:
            shared += [f'{name} {v}' for v in set(values.values()) if v]
        else:
            rows = {label: f'{row} [{values[label]}]' for label, row in rows.items()}
    return ', '.join([part, *shared, mode, dtype, f'batch {batch}']), rows


def summary(points):
    """A table per group: a row per model, images/s (/ MiB) per resolution, OOM where it ran
    out of memory."""
    lines = []
    for key, pts in groups(points).items():
        title, rows = describe(key, pts)
        resolutions = sorted({p['resolution'] for p in pts})
        width = max(map(len, rows.values()))
        memory = any(p['peak_memory_mib'] is not None for p in pts)
        lines += ['', f'{title}: images/s{" / peak MiB" if memory else ""}',
                  f'{"model":{width}s}' + ''.join(f'{r:>14d}' for r in resolutions)]
        for label, row in rows.items():
            cells = {p['resolution']: p for p in pts if p['label'] == label}
            lines.append(f'{row:{width}s}' + ''.join(f'{_cell(cells.get(r)):>14s}'
                                                     for r in resolutions))
    return '\n'.join(lines)


def _cell(p):
    if p is None:
        return '-'
    if p['status'] == 'OOM':
        return 'OOM'
    mem = p['peak_memory_mib']
    return f'{p["fps"]:.1f}' + (f' / {mem:.0f}' if mem is not None else '')


def draw_lines(ax, points, rows, metric, log):
    """Draw ``metric`` ('fps' or 'peak_memory_mib') of ``points`` on ``ax`` against resolution:
    a line per label of ``rows`` ({label: legend name}), OOM points marked at the top; log
    scale on the y axis when ``log``. Used by :func:`plot` and by benchmark_report.py."""
    from matplotlib.ticker import FuncFormatter

    ooms = []
    for label, row in rows.items():
        mine = sorted(((p['resolution'], p) for p in points if p['label'] == label),
                      key=lambda pair: pair[0])
        ok = [(r, p[metric]) for r, p in mine if p['status'] == 'ok' and p[metric] is not None]
        line, = ax.plot([r for r, _ in ok], [v for _, v in ok], marker='o', label=row)
        ooms += [(r, line.get_color()) for r, p in mine if p['status'] == 'OOM']
    if log:
        ax.set_yscale('log')
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f'{v:g}'))
    top = ax.get_ylim()[1]
    for resolution, color in ooms:
        ax.annotate('OOM', (resolution, top), color=color, ha='center', va='top')
    ax.set(xlabel='resolution (square input side)',
           xticks=sorted({p['resolution'] for p in points if p['label'] in rows}))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


METRICS = (('fps', 'images / s', True),
           ('peak_memory_mib', 'peak memory beyond weights (MiB)', False))


def plot(points, meta, out_dir, keys=None):
    """fps_*.png and (GPU) memory_*.png per group (of ``keys`` only, when given): a line per
    model against resolution, OOM marked at the top. Returns the paths written."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    written = []
    for key, pts in groups(points).items():
        if keys is not None and key not in keys:
            continue
        title, rows = describe(key, pts)
        for metric, ylabel, log in METRICS:
            if not any(p[metric] is not None for p in pts):
                continue
            fig, ax = plt.subplots(figsize=(7, 4.5))
            draw_lines(ax, pts, rows, metric, log)
            ax.set_ylabel(ylabel)
            ax.set_title(f'{title}\n{meta["device"]}, {pts[0]["execution"]}', fontsize=9)
            fig.tight_layout()
            name = plot_name(key, metric)
            fig.savefig(osp.join(out_dir, name), dpi=120)
            plt.close(fig)
            written.append(osp.join(out_dir, name))
    return written


def plot_name(key, metric):
    """The file name :func:`plot` gives the plot of a group's ``metric``."""
    part, mode, dtype, batch = key
    return (f'{"fps" if metric == "fps" else "memory"}_{part.replace("+", "-")}_{mode}_'
            f'{dtype}_b{batch}.png')


def write_json(path, results):
    """Write ``results`` as JSON whole or not at all (a reader never sees half a file)."""
    write_atomically(path, json.dumps(results, indent=1).encode())


def environment(device):
    """Device name and versions for the JSON's meta."""
    try:
        import triton
        triton_version = triton.__version__
    except ImportError:
        triton_version = None
    name = (torch.cuda.get_device_name(device) if device.type == 'cuda'
            else f'CPU ({torch.get_num_threads()} threads)')
    return dict(device=name, torch=torch.__version__, triton=triton_version,
                cuda=torch.version.cuda, date=datetime.datetime.now().isoformat(timespec='seconds'),
                vim_scan='triton' if device.type == 'cuda' else 'torch',
                float32_matmul_precision=torch.get_float32_matmul_precision())


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split('\n', 2)[2])
    parser.add_argument('--models', nargs='+', default=['vim-ti', 'deit-ti'],
                        help=f'presets ({", ".join(PRESETS)}) or config files')
    parser.add_argument('--resolutions', nargs='+', type=int, default=None,
                        help=f'measured at every --batch (default: {RESOLUTIONS})')
    parser.add_argument('--large-resolutions', nargs='*', type=int, default=None,
                        help=f'measured at batch 1 only, after --resolutions (default: '
                        f'{LARGE_RESOLUTIONS} with the default --resolutions, none with given '
                        'ones; no values: none)')
    parser.add_argument('--parts', nargs='+', choices=PARTS, default=list(PARTS))
    parser.add_argument('--modes', nargs='+', choices=MODES, default=['infer'])
    parser.add_argument('--dtype', nargs='+', choices=list(DTYPES), default=['fp32'])
    parser.add_argument('--batch', nargs='+', type=int, default=[1])
    parser.add_argument('--attn', nargs='+', choices=ATTN_IMPLS, default=list(ATTN_IMPLS),
                        help='attention of DeiT (ViTDet) backbones; one line each')
    parser.add_argument('--style', choices=list(STYLE_NECKS), default='seg',
                        help="presets' taps and FPN: 'seg' (4 taps, Feature2Pyramid + FPN) or "
                             "'det' (one map, SimpleFPN)")
    parser.add_argument('--execution', choices=EXECUTIONS, default='eager')
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--max-seconds', type=float, default=10.0,
                        help='stop timing a point after this long (at least 3 steps)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--out-dir', default=None,
                        help='where results.json and the plots go (default work_dirs/benchmark; '
                        'with --replot, beside the results.json)')
    parser.add_argument('--replot', metavar='RESULTS_JSON',
                        help='only redraw the table and plots of a results.json')
    args = parser.parse_args(argv)
    if args.large_resolutions is None:
        args.large_resolutions = LARGE_RESOLUTIONS if args.resolutions is None else []
    if args.resolutions is None:
        args.resolutions = RESOLUTIONS
    if args.out_dir is None:
        args.out_dir = (osp.dirname(args.replot) or '.') if args.replot else 'work_dirs/benchmark'
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.replot:
        with open(args.replot) as f:
            results = json.load(f)
        print(summary(results['points']))
        os.makedirs(args.out_dir, exist_ok=True)
        for path in plot(results['points'], results['meta'], args.out_dir):
            print(f'wrote {path}')
        return results

    device = torch.device(args.device)
    variants = make_variants(args.models, args.style, args.attn, 'backbone+fpn' in args.parts)
    timing = dict(warmup=args.warmup, iters=args.iters, max_seconds=args.max_seconds)
    meta = dict(environment(device), command=sys.argv if argv is None else argv,
                execution=args.execution, style=args.style, timing=timing,
                variants={v.label: v.cfgs for v in variants})
    os.makedirs(args.out_dir, exist_ok=True)
    json_path = osp.join(args.out_dir, 'results.json')
    results = dict(meta=meta, points=[])
    print(f'{meta["device"]}, torch {meta["torch"]}, triton {meta["triton"]}, '
          f'{args.execution}; writing {json_path}', flush=True)
    for v in variants:
        print(f'{v.label}: {v.cfgs["backbone"]}; fpn: '
              f'{"+".join(c["type"] for c in v.cfgs["fpn"]) or "not measured"}')

    width = max(len(v.label) for v in variants)

    def on_point(point):
        results['points'].append(point)
        write_json(json_path, results)
        print(point_line(point, width), flush=True)

    sweep(variants, args.resolutions, args.parts, args.modes, args.dtype, args.batch, device,
          timing, args.execution, on_point, args.large_resolutions)
    print(summary(results['points']))
    try:
        for path in plot(results['points'], meta, args.out_dir):
            print(f'wrote {path}')
    except ImportError as err:          # e.g. a GPU machine without matplotlib
        print(f'no plots ({err}): run --replot {json_path} where matplotlib is installed')
    return results


if __name__ == '__main__':
    main()
