"""A checkpoint write that fails or is killed half-way leaves the previous file whole: mmvim's
local file backend writes a temporary file and renames it. The failures are real: the writing
process gets a file-size limit (RLIMIT_FSIZE, what a full disk looks like to a writer), so the
kernel stops the write part-way and either raises (SIGXFSZ ignored) or kills the process."""
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from mmvim.utils import load_checkpoint_file

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WRITE_SCRIPT = textwrap.dedent('''
    import io, resource, signal, sys
    import torch
    from mmengine.fileio import LocalBackend
    from mmengine.runner.checkpoint import save_checkpoint
    import mmvim  # noqa: F401  (atomic local backend)

    path, writer, on_limit = sys.argv[1:]
    checkpoint = {'state_dict': {'w': torch.ones(1 << 20)}}  # 4 MiB
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN if on_limit == 'raise' else signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
    if writer == 'mmvim':        # what the CheckpointHook calls, through the file backend
        save_checkpoint(checkpoint, path)
    else:                        # mmengine's own local backend, for comparison
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        LocalBackend().put(buffer.getvalue(), path)
''')


def write_under_limit(tmp_path, writer, on_limit):
    """Overwrite ``tmp_path/ckpt.pth`` (first saved whole, small) from a limited process."""
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': {'w': torch.zeros(4)}}, path)
    script = tmp_path / 'write.py'
    script.write_text(WRITE_SCRIPT)
    env = dict(os.environ,
               PYTHONPATH=os.pathsep.join([REPO_ROOT, os.environ.get('PYTHONPATH', '')]))
    result = subprocess.run([sys.executable, str(script), str(path), writer, on_limit],
                            capture_output=True, text=True, env=env, timeout=120)
    return path, result


@pytest.mark.parametrize('on_limit', ['raise', 'die'])
def test_interrupted_checkpoint_write_keeps_the_previous_file(tmp_path, on_limit):
    path, result = write_under_limit(tmp_path, 'mmvim', on_limit)
    if on_limit == 'raise':
        assert result.returncode == 1 and 'File too large' in result.stderr, result.stderr[-2000:]
    else:
        assert result.returncode == -signal.SIGXFSZ, result.stderr[-2000:]
    assert torch.equal(load_checkpoint_file(path)['state_dict']['w'], torch.zeros(4))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith('.')]
    # an exception cleans up; a killed process leaves its temporary file, which nothing reads
    assert len(leftovers) == (0 if on_limit == 'raise' else 1)
    assert all(re.fullmatch(r'\.ckpt\.pth\.\d+\.tmp', name) for name in leftovers)


def test_mmengine_own_write_would_leave_a_truncated_checkpoint(tmp_path):
    """The failure the atomic write prevents (and the check that this test can see it)."""
    path, result = write_under_limit(tmp_path, 'mmengine', 'raise')
    assert result.returncode == 1 and 'File too large' in result.stderr
    assert 0 < path.stat().st_size <= 1 << 20
    with pytest.raises(RuntimeError, match='could not read checkpoint'):
        load_checkpoint_file(path)
