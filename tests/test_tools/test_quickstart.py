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
