"""tools/quickstart.py, the README's main job."""
import pytest

from tests.test_tools.test_seg_tools import run_tool


@pytest.mark.parametrize('iters', ['0', '-1'])
def test_iteration_count_must_be_positive(iters, tmp_path):
    """0 ran the config's whole schedule, -1 ran it too and pointed to iter_-1.pth."""
    result = run_tool('tools/quickstart.py', '--iters', iters, '--work-dir', tmp_path)
    assert result.returncode == 2
    assert f'argument --iters: {iters} is not a number of iterations (at least 1)' in \
        result.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_main_job_writes_its_metrics_and_picture(mini_data, tmp_path):
    import json

    from PIL import Image

    from tests.test_tools.test_seg_tools import SMALL, data_options
    work_dir = tmp_path / 'work'
    result = run_tool('tools/quickstart.py', '--iters', '2', '--work-dir', work_dir,
                      '--cfg-options', *data_options(mini_data), *SMALL)
    assert result.returncode == 0, result.stderr[-3000:]
    picture = work_dir / 'quickstart.png'
    assert f'[quickstart] picture (images, ground truth, untrained and trained predictions, ' \
           f'loss): {picture}' in result.stdout
    with Image.open(picture) as image:
        assert image.format == 'PNG' and image.width > 600 and image.height > 600
    metrics = json.loads((work_dir / 'quickstart.json').read_text())
    assert metrics['iterations'] == 2 and {'mIoU', 'mAcc'} <= set(metrics['trained'])
    assert set(metrics['untrained']) == set(metrics['trained'])
