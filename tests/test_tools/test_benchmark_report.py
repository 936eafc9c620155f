"""tools/analysis/benchmark_report.py: the generated tables of docs/benchmarks.md and README.md
agree with the data files, and a changed data value changes the table (and fails --check)."""
import json
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
import benchmark_report as report  # noqa: E402

EAGER = 'docs/benchmark_data/backbone/h100-eager/results.json'


@pytest.fixture
def copy(tmp_path):
    """The pages and docs/ (data, plots) in a scratch repository root."""
    shutil.copytree(REPO / 'docs', tmp_path / 'docs')
    shutil.copy(REPO / 'README.md', tmp_path / 'README.md')
    return tmp_path


def test_check_passes_on_the_repository(capsys):
    assert report.main(['--check']) == 0, capsys.readouterr()


def test_a_changed_value_fails_check_and_rewrites_the_table(copy, capsys):
    data = json.loads((copy / EAGER).read_text())
    point, = [p for p in data['points'] if (p['label'], p['resolution'], p['batch']) ==
              ('vim-ti', 1248, 8)]
    assert point['peak_memory_mib'] == 499.8
    point['peak_memory_mib'] = 777.7
    (copy / EAGER).write_text(json.dumps(data))

    assert report.main(['--check', '--root', str(copy)]) == 1
    err = capsys.readouterr().err
    assert "docs/benchmarks.md: block 'backbone-h100-eager-b8' differs" in err
    assert "README.md: block 'headline' differs" in err       # its memory column reads it too
    assert 'backbone-h100-eager-b1' not in err and 'scan' not in err

    page = (copy / 'docs/benchmarks.md').read_text()
    assert report.main(['--root', str(copy), '--no-plots']) == 0
    new = (copy / 'docs/benchmarks.md').read_text()
    assert '| 171.3 / 500 |' in page and '| 171.3 / 778 |' in new
    assert '| 171.3 / 500 |' not in new
    assert report.main(['--check', '--root', str(copy)]) == 0


def test_a_hand_edit_inside_a_block_fails_check_but_text_outside_does_not(copy, capsys):
    page = copy / 'docs/benchmarks.md'
    text = page.read_text()
    page.write_text(text.replace('# Benchmarks\n', '# Benchmarks\n\nA new paragraph.\n', 1))
    assert report.main(['--check', '--root', str(copy)]) == 0
    page.write_text(text.replace('| 0.245 (0.454) |', '| 0.200 (0.454) |', 1))
    assert report.main(['--check', '--root', str(copy)]) == 1
    assert "block 'scan' differs" in capsys.readouterr().err


def test_unknown_blocks_and_missing_images_are_named(copy, capsys):
    page = copy / 'docs/benchmarks.md'
    page.write_text(page.read_text() + '\n<!-- generated: nonsense -->\n<!-- end: nonsense -->\n')
    (copy / 'docs/images/headline.png').unlink()
    assert report.main(['--check', '--root', str(copy)]) == 1
    err = capsys.readouterr().err
    assert "block 'nonsense' is not known" in err
    assert 'images/headline.png is missing' in err


def points_file(root, name, date, points):
    path = root / report.DATA / name
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(device='GPU', torch='2', triton='3', date=date, command=['tools/x.py', '--a'])
    path.write_text(json.dumps(dict(meta=meta, points=[
        dict(label=label, part='backbone', mode='infer', dtype='bf16', batch=1,
             execution='eager', resolution=res, status='ok', ms=ms, fps=1e3 / ms,
             peak_memory_mib=mem) for label, res, ms, mem in points])))


def test_a_combined_table_takes_each_point_from_the_newest_run(tmp_path):
    points_file(tmp_path, 'new.json', '2026-02-01', [('vim-ti', 64, 2.0, 10.0)])
    points_file(tmp_path, 'old.json', '2026-01-01', [('vim-ti', 64, 4.0, 20.0),
                                                     ('vim-ti', 128, 8.0, 40.0),
                                                     ('deit-ti (sdpa)', 64, 1.0, None)])
    spec = report.Spec(report.render_sweep, [report.Source('new.json'),
                                             report.Source('old.json', note='older code')],
                       'title', dict(mode='infer'), metric='ms')
    lines = report.render_sweep(tmp_path, spec)
    assert '| Vim-Ti | 2.0 / 10 | 8.0 / 40ᵇ |' in lines
    assert '| DeiT-Ti, SDPA | 1.0ᵇ | - |' in lines
    assert lines[-2].startswith('- Unmarked cells: GPU; torch 2, Triton 3; 2026-02-01; '
                                '`python tools/x.py --a`')
    assert lines[-1].startswith('- Cells marked ᵇ:') and lines[-1].endswith('**older code.**')


def test_plot_links_name_the_files_benchmark_plot_writes():
    import benchmark
    for key in [('backbone', 'infer', 'bf16', 8), ('backbone+fpn', 'train', 'fp32', 1)]:
        for metric in ('fps', 'peak_memory_mib'):
            assert report.plot_name(key, metric) == benchmark.plot_name(key, metric)
