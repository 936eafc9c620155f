"""tools/analysis/benchmark.py on the CPU at tiny sizes: the JSON, the table, the plots, what
'backbone+fpn' builds, and a point that runs out of GPU memory."""
import json
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
import benchmark  # noqa: E402

POINT_FIELDS = {'model', 'label', 'backbone', 'attention', 'style', 'part', 'neck', 'mode',
                'execution', 'dtype', 'batch', 'resolution', 'input_size', 'status', 'ms', 'fps',
                'peak_memory_mib', 'iters'}


def test_cpu_sweep_writes_json_table_and_plots(tmp_path, capsys):
    out = tmp_path / 'bench'
    benchmark.main(['--device', 'cpu', '--models', 'vim-ti', 'deit-ti', '--attn', 'sdpa', 'naive',
                    '--resolutions', '64', '72', '--warmup', '1', '--iters', '2',
                    '--out-dir', str(out)])
    results = json.loads((out / 'results.json').read_text())
    meta, points = results['meta'], results['points']
    for key in ('device', 'torch', 'triton', 'date', 'execution', 'style', 'timing', 'variants'):
        assert key in meta, key
    assert meta['device'].startswith('CPU') and meta['execution'] == 'eager'
    assert meta['variants']['deit-ti (naive)']['backbone']['global_attn_indexes'] == list(
        range(12))
    assert [f['type'] for f in meta['variants']['vim-ti']['fpn']] == ['Feature2Pyramid', 'FPN']

    assert len(points) == 3 * 2 * 2                       # variants x resolutions x parts
    assert all(set(p) == POINT_FIELDS for p in points)
    assert {p['label'] for p in points} == {'vim-ti', 'deit-ti (sdpa)', 'deit-ti (naive)'}
    assert {(p['part'], p['neck']) for p in points} == {
        ('backbone', None), ('backbone+fpn', 'Feature2Pyramid+FPN')}
    for p in points:
        assert p['status'] == 'ok' and p['mode'] == 'infer' and p['dtype'] == 'fp32'
        assert p['fps'] == pytest.approx(p['batch'] * 1e3 / p['ms'], rel=1e-3)
        assert p['peak_memory_mib'] is None and p['iters'] == 2
        assert p['input_size'] == {64: 64, 72: 80}[p['resolution']]    # padded to whole patches
        assert p['attention'] == {'vim-ti': None, 'deit-ti (sdpa)': 'sdpa',
                                  'deit-ti (naive)': 'naive'}[p['label']]

    table = capsys.readouterr().out
    assert "deit-ti (naive): {'type': 'ViTDet'" in table and "'attn_impl': 'naive'" in table
    assert 'backbone+fpn, style seg, neck Feature2Pyramid+FPN, infer, fp32, batch 1' in table
    assert table.count('deit-ti (naive)') == 1 + 4 + 2    # what is built, points, table rows

    plots = sorted(path.name for path in out.glob('*.png'))
    assert plots == ['fps_backbone-fpn_infer_fp32_b1.png', 'fps_backbone_infer_fp32_b1.png']
    for name in plots:                                    # no memory plots on CPUs
        with Image.open(out / name) as image:
            assert image.format == 'PNG' and image.size[0] > 300
        (out / name).unlink()
    benchmark.main(['--replot', str(out / 'results.json')])
    assert sorted(path.name for path in out.glob('*.png')) == plots
    benchmark.main(['--replot', str(out / 'results.json'), '--out-dir', str(out / 'again')])
    assert sorted(path.name for path in (out / 'again').glob('*.png')) == plots


class NeedsMemory(nn.Module):
    """A conv that refuses inputs beyond a budget of pixels with the CUDA allocator's error."""

    def __init__(self, budget):
        super().__init__()
        self.budget = budget
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        if x.shape[-2] * x.shape[-1] > self.budget:
            raise torch.cuda.OutOfMemoryError(f'CUDA out of memory. Tried to allocate '
                                              f'{x.numel() * 16} bytes')
        return (self.conv(x), )


def test_out_of_memory_point_is_recorded_and_the_sweep_goes_on():
    model = NeedsMemory(budget=48 * 48)
    variant = benchmark.Variant('toy', dict(model='toy'), {}, lambda side: (model, []))
    seen = []
    points = benchmark.sweep([variant], [64, 32], ['backbone'], ['train', 'infer'], ['fp32'], [2],
                             torch.device('cpu'), dict(warmup=1, iters=3, max_seconds=10),
                             'eager', seen.append)
    assert seen == points
    assert [(p['resolution'], p['mode'], p['status']) for p in points] == [
        (64, 'train', 'OOM'), (64, 'infer', 'OOM'), (32, 'train', 'ok'), (32, 'infer', 'ok')]
    assert points[0]['fps'] is None and points[0]['iters'] == 0
    assert points[2]['fps'] > 0 and points[2]['iters'] == 3
    assert all(p.grad is None for p in model.parameters())          # cleared after each point


@pytest.mark.parametrize('model, style, necks', [
    ('deit-ti', 'seg', ['Feature2Pyramid', 'FPN']),
    ('vim-ti', 'det', ['SimpleFPN']),
    (str(REPO / 'configs/upernet_deit_ti_ade20k.py'), None, ['Feature2Pyramid', 'FPN']),
])
def test_backbone_plus_fpn_gives_strides_4_to_64(model, style, necks):
    variant, = benchmark.make_variants([model], style, ['naive'], with_fpn=True)
    backbone, fpn = variant.build(64)
    assert [type(m).__name__ for m in fpn] == necks
    with torch.no_grad():
        outs = nn.Sequential(backbone, *fpn).eval()(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 256, 64 // s, 64 // s)
                                              for s in (4, 8, 16, 32, 64)]


def test_large_resolutions_are_measured_at_batch_1_only(tmp_path):
    out = tmp_path / 'bench'
    results = benchmark.main(['--device', 'cpu', '--models', 'vim-ti', '--parts', 'backbone',
                              '--resolutions', '32', '--large-resolutions', '48', '--batch', '2',
                              '--warmup', '0', '--iters', '1', '--out-dir', str(out)])
    assert [(p['resolution'], p['batch']) for p in results['points']] == [(32, 2), (48, 1)]
    assert json.loads((out / 'results.json').read_text())['points'] == results['points']
    assert sorted(path.name for path in out.glob('*.png')) == [
        'fps_backbone_infer_fp32_b1.png', 'fps_backbone_infer_fp32_b2.png']


@pytest.mark.parametrize('argv, resolutions, large', [
    ([], benchmark.RESOLUTIONS, [3072, 4096]),              # the default sweep covers them
    (['--resolutions', '512', '1024'], [512, 1024], []),    # given resolutions: only those
    (['--resolutions', '512', '--large-resolutions', '4096'], [512], [4096]),
    (['--large-resolutions'], benchmark.RESOLUTIONS, []),
])
def test_large_resolutions_default_with_the_default_resolutions_only(argv, resolutions, large):
    args = benchmark.parse_args(argv)
    assert (args.resolutions, args.large_resolutions) == (resolutions, large)


def test_results_json_is_written_atomically(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(benchmark, 'write_atomically',
                        lambda path, data: calls.append((path, json.loads(data))))
    benchmark.write_json(tmp_path / 'results.json', {'points': [1]})
    assert calls == [(tmp_path / 'results.json', {'points': [1]})]
    assert not (tmp_path / 'results.json').exists()         # nothing else wrote it
