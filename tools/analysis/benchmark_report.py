"""The generated tables of docs/benchmarks.md and README.md, and their plots, from the data files.

A page holds generated blocks between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``;
everything around them is written by hand. Each block is rendered from data files under
docs/benchmark_data/ (``BLOCKS`` below says which): the ``results.json`` that
tools/analysis/benchmark.py and benchmark_scan.py write, or a file transcribed by hand from a
run that wrote none (its meta says so, and how it was measured). Every table states the device,
the software versions and the date from the file's meta, and the command that produced it.

Re-measuring: run the tool with ``--out-dir`` (benchmark.py) or ``--out`` (benchmark_scan.py)
pointing at the data file's folder (or copy the new results.json over the old one), then run
this script: the tables and plots are rewritten in place, nothing is appended.

A table whose cells come from several runs marks each cell taken from a run other than the
first with that run's letter (newest runs first: a point is taken from the first run that
measured it), and lists the runs under it.

    python tools/analysis/benchmark_report.py             # rewrite the blocks and the plots
    python tools/analysis/benchmark_report.py --no-plots  # the blocks only
    python tools/analysis/benchmark_report.py --check     # exit 1 naming each block that differs

``--check`` needs only the standard library; writing the plots needs matplotlib and imports
benchmark.py / benchmark_scan.py (torch, mmvim), whose plotting functions draw them.
"""
import argparse
import difflib
import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = 'docs/benchmark_data'
PAGES = ('docs/benchmarks.md', 'README.md')
BLOCK = re.compile(r'<!-- generated: (?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- end: (?P=name) -->',
                   re.S)
LETTERS = 'ᵃᵇᶜᵈᵉᶠᵍʰ'

# ------------------------------------------------------------------------------ data files


def load(root, path):
    """A data file as a dict; in a points file, every point gets ``fps`` (batch * 1000 / ms,
    as benchmark.py computes it) where it has ms but no fps (transcribed runs)."""
    with open(Path(root) / DATA / path) as f:
        data = json.load(f)
    for p in data.get('points', ()):
        if p.get('fps') is None and p.get('ms') is not None:
            p['fps'] = p['batch'] * 1e3 / p['ms']
        p.setdefault('peak_memory_mib', None)
    return data


@dataclass
class Source:
    """Points of one data file: those of ``labels`` only when given; ``note`` says how the code
    it measured differs from today's (None: today's code)."""
    path: str
    labels: tuple = None
    note: str = None


def pick(root, sources, **where):
    """{(label, resolution, batch, mode, execution): (point, index of its source)} of the points
    that match ``where`` (point fields), each from the first source that has it."""
    chosen = {}
    for index, source in enumerate(sources):
        for p in load(root, source.path)['points']:
            if source.labels is not None and p['label'] not in source.labels:
                continue
            if any(p.get(k) != v for k, v in where.items()):
                continue
            chosen.setdefault((p['label'], p['resolution'], p['batch'], p['mode'],
                               p['execution']), (p, index))
    return chosen


# ------------------------------------------------------------------------------ formatting


def fmt(value, decimals):
    """A measured number rounded to ``decimals`` places, trailing zeros dropped but one (3.4,
    38.0); a whole number when ``decimals`` is 0."""
    if isinstance(value, str) or not decimals:
        return value if isinstance(value, str) else f'{value:.0f}'
    text = f'{value:.{decimals}f}'.rstrip('0')
    return text + '0' if text.endswith('.') else text


def cell(point, metric):
    """'images/s / MiB' ('fps'), 'ms / MiB' ('ms'), 'ms' ('ms-only') or 'MiB' ('memory') of a
    point; 'OOM' where it ran out of memory, '-' where there is none."""
    if point is None:
        return '-'
    if point['status'] == 'OOM':
        return 'OOM'
    mem = point['peak_memory_mib']
    if metric == 'memory':
        return '-' if mem is None else fmt(mem, 0)
    text = f'{point["fps"]:.1f}' if metric == 'fps' else fmt(point['ms'], 2)
    return text + (f' / {fmt(mem, 0)}' if mem is not None and metric != 'ms-only' else '')


def table(header, rows):
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    return lines + ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]


def command_text(command):
    if command is None:
        return None
    if isinstance(command, str):
        return command
    return 'python ' + ' '.join(shlex.quote(str(a)) for a in command)


SOFTWARE = (('torch', 'torch'), ('triton', 'Triton'), ('cuda', 'CUDA'), ('mmcv', 'mmcv'),
            ('mmengine', 'mmengine'), ('mmseg', 'mmsegmentation'), ('mmdet', 'mmdet'))


def stamp(meta, path, note=None):
    """One line: device, software, date, command (or how it was transcribed), data file."""
    software = [f'{name} {meta[key]}' for key, name in SOFTWARE if meta.get(key)]
    software += [meta['software']] if meta.get('software') else []
    command = command_text(meta.get('command'))
    parts = [meta['device'], ', '.join(software) or 'software versions not recorded',
             str(meta['date'])[:10],
             f'`{command}`' if command else 'no command (see the data file)']
    if meta.get('transcribed'):
        parts.append(f'transcribed {meta["transcribed"]}')
    parts.append(f'data: `{DATA}/{path}`')
    line = '; '.join(parts) + '.'
    return line + (f' **{note}.**' if note else '')


def short_stamp(meta):
    """Device and date of a run, for the README; its full stamp is in docs/benchmarks.md."""
    return (f'{meta["device"]}, {str(meta["date"])[:10]}'
            + (' (transcribed)' if meta.get('transcribed') else ''))


def meta_lines(meta):
    """The file's own description of what it measured, and its notes."""
    lines = [f'- Measured: {meta["method"]}.'] if meta.get('method') else []
    return lines + [f'- Note: {n}.' for n in meta.get('notes', ())]


def sources_lines(root, sources, used):
    """Under a table of several runs: which cells come from which run."""
    if len(used) == 1 and used == {0}:
        source = sources[0]
        return ['- Run: ' + stamp(load(root, source.path)['meta'], source.path, source.note)]
    lines = []
    for index in sorted(used):
        source = sources[index]
        mark = 'Unmarked cells' if index == 0 else f'Cells marked {LETTERS[index]}'
        lines.append(f'- {mark}: ' + stamp(load(root, source.path)['meta'], source.path,
                                           source.note))
    return lines


# ------------------------------------------------------------------------------ renderers


NAMES = {'vim-ti': 'Vim-Ti', 'vim-s': 'Vim-S', 'deit-ti (sdpa)': 'DeiT-Ti, SDPA',
         'deit-ti (naive)': 'DeiT-Ti, naive', 'deit-s (sdpa)': 'DeiT-S, SDPA',
         'deit-s (naive)': 'DeiT-S, naive', 'vim-ti (official)': 'official Vim-Ti',
         'vim-s (official)': 'official Vim-S'}
ALL_MODELS = ('vim-ti', 'deit-ti (sdpa)', 'deit-ti (naive)', 'vim-s', 'deit-s (sdpa)',
              'deit-s (naive)')


def render_sweep(root, spec):
    """Rows: models (or models x batch sizes), columns: resolutions; cells from the sources,
    newest first."""
    chosen = pick(root, spec.sources, **spec.where)
    batches = sorted({key[2] for key in chosen})
    resolutions = sorted({key[1] for key in chosen})
    labels = [m for m in spec.models if any(key[0] == m for key in chosen)]
    rows, used = [], set()
    for label in labels:
        for batch in batches:
            if not any(key[0] == label and key[2] == batch for key in chosen):
                continue
            row = [NAMES.get(label, label) + (f', batch {batch}' if len(batches) > 1 else '')]
            for resolution in resolutions:
                point, index = next(((p, i) for key, (p, i) in chosen.items()
                                     if key[:3] == (label, resolution, batch)), (None, 0))
                if point is not None:
                    used.add(index)
                row.append(cell(point, spec.metric) + (LETTERS[index] if index else ''))
            rows.append(row)
    lines = [spec.title, ''] + table(['model'] + [str(r) for r in resolutions], rows) + ['']
    return lines + sources_lines(root, spec.sources, used)


def render_scan(root, spec):
    """benchmark_scan.py's rows: a row per (shape, pass), a column per method, 'GPU (wall)' ms."""
    source, = spec.sources
    data = load(root, source.path)
    methods = list(dict.fromkeys(r['method'] for r in data['rows']))
    keys = list(dict.fromkeys((tuple(r['case']), r['pass']) for r in data['rows']))
    rows = []
    for case, pas in keys:
        row = [str(case), pas]
        for method in methods:
            r = next((r for r in data['rows'] if (tuple(r['case']), r['pass'], r['method'])
                      == (case, pas, method)), None)
            row.append('-' if r is None else f'{fmt(r["gpu_ms"], 3)} ({fmt(r["ms"], 3)})')
        rows.append(row)
    header = ['(batch, dim, length)', 'pass'] + [f'{SCAN_METHODS.get(m, m)}: GPU (wall) ms'
                                                 for m in methods]
    return ([spec.title, ''] + table(header, rows) + ['']
            + ['- Run: ' + stamp(data['meta'], source.path, source.note)]
            + meta_lines(data['meta']))


SCAN_METHODS = {'triton': 'mmvim (Triton)', 'mamba_ssm, 2 calls + flips':
                "mamba_ssm's selective_scan_fn, 2 calls + flips",
                'torch (reference path)': "mmvim 'torch' backend"}


FUSED_OPS = {'conv': 'conv1d + SiLU', 'add_rms_norm': 'add + RMSNorm'}


def render_fused_ops(root, spec):
    """benchmark_fused_ops.py's rows: a row per case, a column per (op, pass), GPU time in us of
    the Triton kernels / the PyTorch reference path."""
    source, = spec.sources
    data = load(root, source.path)
    cases = list(dict.fromkeys(tuple(r['case']) for r in data['rows']))
    columns = list(dict.fromkeys((r['op'], r['pass']) for r in data['rows']))
    rows = []
    for case in cases:
        row = [f'{NAMES.get(case[0], case[0])}, {case[1]}, batch {case[2]}']
        for op, pas in columns:
            by = {r['method']: r for r in data['rows']
                  if (tuple(r['case']), r['op'], r['pass']) == (case, op, pas)}
            row.append(' / '.join('-' if by.get(m) is None else fmt(1e3 * by[m]['gpu_ms'], 1)
                                  for m in ('triton', 'torch')))
        rows.append(row)
    header = ['model, side, batch'] + [f'{FUSED_OPS.get(op, op)}, {pas}' for op, pas in columns]
    return ([spec.title, ''] + table(header, rows) + ['']
            + ['- Run: ' + stamp(data['meta'], source.path, source.note)]
            + meta_lines(data['meta']))


def render_side_by_side(root, spec):
    """A transcribed side-by-side run: a row per point, 'eager / CUDA graph' ms (and MiB) per
    implementation."""
    source, = spec.sources
    data = load(root, source.path)
    pts = [p for p in data['points'] if p['mode'] == spec.where['mode']]
    rows = []
    for model_row in spec.models:                 # tuples of labels, one row per point
        for resolution, batch in dict.fromkeys((p['resolution'], p['batch']) for p in pts
                                               if p['label'] == model_row[0]):
            row = [f'{resolution}, batch {batch}' if spec.where['mode'] == 'infer' else
                   f'{NAMES[model_row[0]]}, {resolution}, batch {batch}']
            for label in model_row:
                by = {p['execution']: p for p in pts if (p['label'], p['resolution'],
                                                         p['batch']) == (label, resolution, batch)}
                eager, graph = by.get('eager'), by.get('cuda_graph')
                text = f'{cell(eager, "ms-only")} / {cell(graph, "ms-only")}'
                mems = {p['peak_memory_mib'] for p in by.values()} - {None}
                memory = ', ' + ' / '.join(fmt(m, 0) for m in sorted(mems)) + ' MiB' if mems \
                    else ''
                row.append(text + memory)
            rows.append(row)
    lines = [spec.title, ''] + table(spec.header, rows) + ['']
    return (lines + ['- Run: ' + stamp(data['meta'], source.path, source.note)]
            + meta_lines(data['meta']))


def render_generic(root, spec):
    """A transcribed table (columns, rows) as it is stored."""
    source, = spec.sources
    data = load(root, source.path)
    rows = [[fmt(v, 3) if isinstance(v, float) else v for v in row] for row in data['rows']]
    return ([spec.title, ''] + table(data['columns'], rows) + ['']
            + ['- Run: ' + stamp(data['meta'], source.path, source.note)]
            + meta_lines(data['meta']))


QUICKSTART_METRICS = {'mIoU': 'mIoU', 'mAcc': 'mAcc', 'coco/bbox_mAP': 'box AP',
                      'coco/segm_mAP': 'mask AP'}


def render_quickstart(root, spec):
    """The mini jobs, a row per quickstart.json (what tools/quickstart.py writes)."""
    rows, runs = [], []
    for source in spec.sources:
        job = load(root, source.path)
        scale = {k: 100 if k.startswith('coco/') else 1 for k in QUICKSTART_METRICS}
        changes = ', '.join(f'{name} {fmt(job["untrained"][k] * scale[k], 1)} -> '
                            f'{fmt(job["trained"][k] * scale[k], 1)}'
                            for k, name in QUICKSTART_METRICS.items() if k in job['trained'])
        rows.append([Path(job['config']).name, job['iterations'], changes,
                     f'{fmt(job["minutes"], 1)} min', f'{fmt(job["seconds_per_iteration"], 2)} s'])
        runs.append(f'- {Path(job["config"]).name}: '
                    + stamp(job['meta'], source.path, source.note))
    header = ['config', 'iterations', 'untrained -> trained', 'time in all',
              'per training iteration']
    return [spec.title, ''] + table(header, rows) + [''] + runs


def render_headline(root, spec):
    """The README's headline: a row per (resolution, batch), a column per spec column, each
    with its own sources (a column holds one device). A column whose cells all come from one
    run carries that run's letter in its header, otherwise each cell carries its run's."""
    grid, letters, missing = [], {}, []
    for resolution, batch in spec.points:
        row = []
        for col in spec.columns:
            parts = []
            for execution, sources in col['executions']:
                chosen = pick(root, sources, mode='infer', dtype='bf16', part='backbone',
                              execution=execution)
                point, index = chosen.get((col['label'], resolution, batch, 'infer', execution),
                                          (None, None))
                text = cell(point, col['metric'])
                if text == '-':
                    missing += [col['missing']] * (col['missing'] not in missing)
                    parts.append((text, None))
                else:
                    parts.append((text, sources[index]))
            row.append(parts)
        grid.append(row)

    def letter(source):
        return letters.setdefault(source.path, (LETTERS[len(letters)], source))[0]

    header = [spec.header[0]]
    single = []
    for c, name in enumerate(spec.header[1:]):
        used = {src.path for row in grid for _, src in row[c] if src is not None}
        single.append(len(used) == 1)
        if len(used) == 1:
            source = next(src for row in grid for _, src in row[c] if src is not None)
            name += ' ' + letter(source)
        header.append(name)
    rows = []
    for (resolution, batch), row in zip(spec.points, grid):
        rows.append([f'{resolution}, {batch}'] + [
            ' / '.join(text + ('' if src is None or single[c] else letter(src))
                       for text, src in parts) for c, parts in enumerate(row)])
    lines = [spec.title, ''] + table(header, rows) + ['']
    runs = [f'{mark} {short_stamp(load(root, path)["meta"])}'
            for path, (mark, _) in letters.items()]
    lines.append('Runs: ' + '; '.join(runs) + '. "-": ' + '; '.join(missing) + '.')
    return lines + spec.after


# ------------------------------------------------------------------------------ the blocks


@dataclass
class Spec:
    render: object
    sources: list
    title: str = ''
    where: dict = field(default_factory=dict)
    models: tuple = ALL_MODELS
    metric: str = 'fps'
    header: list = None
    points: list = None
    columns: list = None
    after: list = field(default_factory=list)
    plots: list = field(default_factory=list)      # (kind, source index, argument)


SWEEP = 'backbone/h100-sweep'
OLD = ('code of 2026-11-24: Vim\'s kernels and inference path and the patch embedding (Vim and '
       'DeiT) changed since; these cells were not re-measured')
NAIVE = 'DeiT code before the patch embedding became a matrix product, not re-measured since'
LINKS = 'code before the scan\'s chunk links were stored in bfloat16, not re-run since'
H200 = Source('backbone/h200/results.json')
EAGER = Source('backbone/h100-eager/results.json')
GRAPH = Source('backbone/h100-cuda-graph/results.json')
DEIT_GRAPH = Source('backbone/h100-deit-cuda-graph/results.json')
NAIVE_RUN = Source('backbone/h100-naive/results.json', ('deit-ti (naive)', ), NAIVE)


def sweep_run(name, note=OLD):
    return Source(f'{SWEEP}/{name}/results.json', None, note)


def bf16(batch, execution, part='backbone'):
    return dict(part=part, mode='infer', dtype='bf16', batch=batch, execution=execution)


BLOCKS = {
    'scan': Spec(render_scan, [Source('scan/h200/results.json')],
                 '**Both directions, one run: GPU time (wall time) per call.**',
                 plots=[('scan', 0, 'results.png')]),
    'fused-ops': Spec(render_fused_ops, [Source('fused_ops/h100/results.json')],
                      '**GPU time per call in us, Triton / PyTorch reference path.**',
                      plots=[('fused', 0, 'results')]),
    'backbone-h200': Spec(
        render_side_by_side, [H200],
        '**Backbone inference, bf16: ms per batch, eager / CUDA graph.**',
        where=dict(mode='infer'), models=[('vim-ti', 'vim-ti (official)', 'deit-ti (sdpa)')],
        header=['input, batch', 'mmvim Vim-Ti', 'official Vim-Ti', 'DeiT-Ti, SDPA']),
    'backbone-h100-eager-b8': Spec(
        render_sweep, [EAGER, NAIVE_RUN, sweep_run('b8-bf16')],
        '**H100, bf16, batch 8, eager: images/s / peak MiB.**', bf16(8, 'eager'),
        plots=[('points', 0, ('backbone', 'infer', 'bf16', 8))]),
    'backbone-h100-eager-b1': Spec(
        render_sweep, [EAGER, NAIVE_RUN, sweep_run('b1-bf16')],
        '**H100, bf16, batch 1, eager: images/s / peak MiB.**', bf16(1, 'eager'),
        plots=[('points', 0, ('backbone', 'infer', 'bf16', 1))]),
    'backbone-h100-graph-b8': Spec(
        render_sweep, [GRAPH, DEIT_GRAPH, sweep_run('b8-bf16-cuda-graph')],
        '**H100, bf16, batch 8, CUDA graph: ms per batch / peak MiB.**',
        bf16(8, 'cuda_graph'), metric='ms'),
    'backbone-h100-graph-b1': Spec(
        render_sweep, [GRAPH, DEIT_GRAPH, sweep_run('b1-bf16-cuda-graph')],
        '**H100, bf16, batch 1, CUDA graph: ms per batch / peak MiB.**',
        bf16(1, 'cuda_graph'), metric='ms'),
    'backbone-h100-fp32-b8': Spec(
        render_sweep, [sweep_run('b8-fp32')],
        '**H100, fp32, batch 8, eager: images/s / peak MiB.**',
        dict(part='backbone', mode='infer', dtype='fp32', batch=8, execution='eager')),
    'fpn': Spec(
        render_sweep, [sweep_run('b8-bf16')],
        '**H100, backbone + FPN, bf16, batch 8, eager: images/s / peak MiB.**',
        bf16(8, 'eager', 'backbone+fpn'),
        plots=[('points', 0, ('backbone+fpn', 'infer', 'bf16', 8))]),
    'train-h200': Spec(
        render_side_by_side, [H200],
        '**Training step (forward + backward of the backbone), bf16: ms per step, eager / CUDA '
        'graph, and peak memory.**',
        where=dict(mode='train'),
        models=[('vim-ti', 'vim-ti (official)', 'deit-ti (sdpa)'),
                ('vim-s', 'vim-s (official)', 'deit-s (sdpa)')],
        header=['model, input, batch', 'mmvim', 'official Vim', 'DeiT, SDPA (DeiT-Ti / DeiT-S)']),
    'train-h100': Spec(
        render_sweep, [Source('train/h100-cuda-graph/results.json', None, LINKS)],
        '**H100, training step at batch 8, bf16, CUDA graphs: ms per step / peak MiB.**',
        dict(part='backbone', mode='train', dtype='bf16', execution='cuda_graph'), metric='ms'),
    'train-upernet': Spec(render_generic, [Source('train/h100-upernet/results.json', None,
                                                  'code of 2026-11-24 (the scan and the fused '
                                                  'kernels changed since); not re-run')],
                          '**UperNet at 512x512, bf16 AMP, one GPU.**'),
    'train-upernet-cuda-graph': Spec(
        render_generic, [Source('train/h100-upernet-cuda-graph/results.json', None,
                                'code of 2026-11-24 (the scan\'s backward before its rewrite); '
                                'not re-run since')],
        '**UperNet Vim-Ti job, eager against CUDA-graphed backbone.**'),
    'cpu': Spec(render_generic, [Source('cpu/results.json')],
                '**Vim-Ti training step on 2 CPU cores.**'),
    'mini': Spec(render_quickstart, [Source('mini/segmentation/quickstart.json'),
                                     Source('mini/detection/quickstart.json')],
                 '**The mini jobs on a 2-core CPU** (box and mask AP in %).'),
}

HEADLINE_POINTS = [(512, 1), (512, 8), (1248, 1), (1248, 8), (2048, 1), (2048, 8)]


def _naive():
    """DeiT-Ti naive's eager sources: batch-1 and batch-8 runs alike."""
    return [NAIVE_RUN] + [Source(f'{SWEEP}/b{b}-bf16/results.json', ('deit-ti (naive)', ), NAIVE)
                          for b in (1, 8)]


def _deit_sdpa_memory():
    return [EAGER] + [Source(f'{SWEEP}/b{b}-bf16/results.json', ('deit-ti (sdpa)', ), NAIVE)
                      for b in (1, 8)]


NO_H200 = '1248 at batch 1 was not in the H200 run'
BLOCKS['headline'] = Spec(
    render_headline, [],
    '**Vim-Ti backbone against the official Vim-Ti and DeiT-Ti**, bf16 inference, random weights: '
    'ms per batch (eager / CUDA graph) and peak memory above the weights (eager). The letters '
    'name the runs; their commands and the rest of the points: docs/benchmarks.md.',
    header=['input, batch', 'mmvim Vim-Ti, ms', 'official Vim-Ti, ms', 'DeiT-Ti SDPA, ms',
            'DeiT-Ti naive, ms', 'mmvim Vim-Ti, MiB', 'DeiT-Ti SDPA, MiB', 'DeiT-Ti naive, MiB'],
    points=HEADLINE_POINTS,
    columns=[
        *[dict(label=label, metric='ms-only', missing=NO_H200,
               executions=[('eager', [H200]), ('cuda_graph', [H200])])
          for label in ('vim-ti', 'vim-ti (official)', 'deit-ti (sdpa)')],
        dict(label='deit-ti (naive)', metric='ms-only', missing='no H100 run measured it',
             executions=[('eager', _naive())]),
        dict(label='vim-ti', metric='memory', executions=[('eager', [EAGER])],
             missing=("mmvim Vim-Ti's memory at 512 was last measured eagerly on 2026-11-24, "
                      "before its inference stopped saving the scan's states; that figure is "
                      "not today's")),
        dict(label='deit-ti (sdpa)', metric='memory', missing='no run measured it',
             executions=[('eager', _deit_sdpa_memory())]),
        dict(label='deit-ti (naive)', metric='memory', missing='no run measured it',
             executions=[('eager', _naive())]),
    ],
    after=['', '![images/s and memory against resolution](docs/images/headline.png)'],
    plots=[('headline', None, 'docs/images/headline.png')])


# ------------------------------------------------------------------------------ plots


def plot_block(root, spec):
    """Write the block's plots with the tools' own plotting functions; returns their paths."""
    written = []
    for kind, index, arg in spec.plots:
        if kind == 'points':
            sys.path.insert(0, str(Path(__file__).parent))
            import benchmark
            source = spec.sources[index]
            data = load(root, source.path)
            folder = (Path(root) / DATA / source.path).parent
            written += benchmark.plot(data['points'], data['meta'], str(folder), keys=[arg])
        elif kind == 'scan':
            sys.path.insert(0, str(Path(__file__).parent))
            import benchmark_scan
            source = spec.sources[index]
            data = load(root, source.path)
            cases = list(dict.fromkeys(tuple(r['case']) for r in data['rows']))
            path = (Path(root) / DATA / source.path).parent / arg
            benchmark_scan.plot_gpu_ms(
                data['rows'], [list(c) for c in cases], lambda c: 'x'.join(map(str, c)),
                f'bidirectional selective scan, {data["meta"]["device"]}, '
                f'{str(data["meta"]["date"])[:10]}', str(path))
            written.append(str(path))
        elif kind == 'fused':             # as benchmark_fused_ops.py draws its JSON
            sys.path.insert(0, str(Path(__file__).parent))
            import benchmark_scan
            source = spec.sources[index]
            data = load(root, source.path)
            cases = list(dict.fromkeys(tuple(r['case']) for r in data['rows']))
            for op in dict.fromkeys(r['op'] for r in data['rows']):
                path = (Path(root) / DATA / source.path).parent / f'{arg}_{op}.png'
                benchmark_scan.plot_gpu_ms(
                    [r for r in data['rows'] if r['op'] == op], [list(c) for c in cases],
                    lambda c: f'{c[0]} {c[1]} b{c[2]}',
                    f'{FUSED_OPS.get(op, op)}, bf16 autocast, {data["meta"]["device"]}',
                    str(path))
                written.append(str(path))
        elif kind == 'headline':
            written.append(plot_headline(root, Path(root) / arg))
    return written


HEADLINE_LINES = {'vim-ti': 'mmvim Vim-Ti', 'vim-ti (official)': 'official Vim-Ti',
                  'deit-ti (sdpa)': 'DeiT-Ti, SDPA',
                  'deit-ti (naive)': 'DeiT-Ti, naive (earlier patch embedding)'}


def plot_headline(root, path):
    """Two panels: images/s against resolution (H200, batch 8, CUDA graph) and peak memory
    (H100, batch 8, eager), drawn by benchmark.draw_lines."""
    sys.path.insert(0, str(Path(__file__).parent))
    import benchmark
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    speed = [p for p, _ in pick(root, [H200], **bf16(8, 'cuda_graph')).values()]
    memory = [p for p, _ in pick(root, [EAGER, NAIVE_RUN], **bf16(8, 'eager')).values()]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, pts, metric, log, ylabel, title in (
            (left, speed, 'fps', True, 'images / s (8000 / ms per batch)',
             _title(root, H200, 'CUDA graph')),
            (right, memory, 'peak_memory_mib', True, 'peak memory beyond weights (MiB)',
             _title(root, EAGER, 'eager'))):
        rows = {label: name for label, name in HEADLINE_LINES.items()
                if any(p['label'] == label for p in pts)}
        benchmark.draw_lines(ax, pts, rows, metric, log)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
    fig.suptitle('Vim-Ti backbone inference, bf16, batch 8', fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


def _title(root, source, execution):
    meta = load(root, source.path)['meta']
    return f'{meta["device"]}, {execution}, {str(meta["date"])[:10]}'


# ------------------------------------------------------------------------------ pages


def plot_links(root, spec):
    """Markdown image links (relative to docs/) to the plots of a block drawn from data files;
    the names are those benchmark.plot (benchmark.plot_name) and benchmark_scan give."""
    links = []
    for kind, index, arg in spec.plots:
        if kind == 'headline':
            continue
        folder = str(Path(spec.sources[index].path).parent)
        if kind == 'scan':
            links.append(f'![GPU time per call](benchmark_data/{folder}/{arg})')
            continue
        if kind == 'fused':
            ops = dict.fromkeys(r['op'] for r in load(root, spec.sources[index].path)['rows'])
            links += [f'![{FUSED_OPS.get(op, op)}: GPU time per call]'
                      f'(benchmark_data/{folder}/{arg}_{op}.png)' for op in ops]
            continue
        pts = [p for p in load(root, spec.sources[index].path)['points']
               if (p['part'], p['mode'], p['dtype'], p['batch']) == arg]
        for metric, word in (('fps', 'images/s'), ('peak_memory_mib', 'peak memory')):
            if any(p[metric] is not None for p in pts):
                part, _, dtype, batch = arg
                links.append(f'![{word}, {part}, {dtype}, batch {batch}]'
                             f'(benchmark_data/{folder}/{plot_name(arg, metric)})')
    return [''] + [' '.join(links)] if links else []


def plot_name(key, metric):
    """benchmark.plot_name without importing benchmark.py (torch): the file name benchmark.plot
    gives a group's plot (a test holds the two equal)."""
    part, mode, dtype, batch = key
    return (f'{"fps" if metric == "fps" else "memory"}_{part.replace("+", "-")}_{mode}_'
            f'{dtype}_b{batch}.png')


def render(root, name):
    spec = BLOCKS[name]
    return '\n'.join(spec.render(root, spec) + plot_links(root, spec)) + '\n'


def update(root, page, check):
    """(new text of ``page``, names of the blocks whose text changes, unknown block names)."""
    text = (Path(root) / page).read_text()
    changed, unknown = [], []

    def replace(match):
        name = match['name']
        if name not in BLOCKS:
            unknown.append(name)
            return match[0]
        body = render(root, name)
        if body != match['body']:
            changed.append(name)
            if check:
                diff = difflib.unified_diff(match['body'].splitlines(), body.splitlines(),
                                            f'{page} ({name})', f'from {DATA}', lineterm='', n=0)
                print('\n'.join(list(diff)[:40]))
        return f'<!-- generated: {name} -->\n{body}<!-- end: {name} -->'

    return BLOCK.sub(replace, text), changed, unknown


def linked_files(root, page, text):
    """Images a page links (relative to the page) that do not exist."""
    folder = (Path(root) / page).parent
    return [link for link in re.findall(r'!\[[^\]]*\]\(([^)\s]+)\)', text)
            if not (folder / link).is_file()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='change nothing; exit 1 naming each block that differs from what '
                        'the data gives (and each linked image that is missing)')
    parser.add_argument('--no-plots', action='store_true', help='rewrite the blocks only')
    parser.add_argument('--root', default=str(REPO), help='repository root (for tests)')
    args = parser.parse_args(argv)
    problems, seen, texts = [], set(), {}
    for page in PAGES:
        text, changed, unknown = update(args.root, page, args.check)
        texts[page] = text
        seen.update(m['name'] for m in BLOCK.finditer(text))
        problems += [f'{page}: block {name!r} is not known to {Path(__file__).name}'
                     for name in unknown]
        if args.check:
            problems += [f'{page}: block {name!r} differs from what its data gives' for name in
                         changed]
        elif changed:
            (Path(args.root) / page).write_text(text)
            print(f'{page}: rewrote {", ".join(changed)}')
    problems += [f'block {name!r} is on no page ({", ".join(PAGES)})' for name in BLOCKS
                 if name not in seen]
    if not args.check and not args.no_plots:
        for name, spec in BLOCKS.items():
            for path in plot_block(args.root, spec):
                print(f'wrote {path}')
    for page, text in texts.items():
        problems += [f'{page}: image {link} is missing'
                     for link in linked_files(args.root, page, text)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
