"""One training run per work dir: a new run where checkpoints are, or a second run while one is
writing, is refused; a dead run's lock and a resumed run are not."""
import os
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmvim.utils import claim_work_dir
from mmvim.utils.work_dir import LOCK_NAME, _release


def config(work_dir):
    return Config(dict(work_dir=str(work_dir)))


@pytest.fixture
def claimed(tmp_path):
    """Claims made in the test are released after it (as at the process's exit)."""
    yield tmp_path
    _release(str(tmp_path / 'work' / LOCK_NAME))


def test_new_run_over_checkpoints_is_refused_and_resume_is_not(claimed):
    work_dir = claimed / 'work'
    work_dir.mkdir()
    (work_dir / 'iter_100.pth').write_bytes(b'x')
    with pytest.raises(SystemExit, match=f'{work_dir} already holds the checkpoints of a training '
                                         r'run \(iter_100.pth\): a new run would overwrite them. '
                                         'Continue that run with --resume'):
        claim_work_dir(config(work_dir), resume=False)
    claim_work_dir(config(work_dir), resume=True)
    assert (work_dir / LOCK_NAME).read_text().split()[0] == str(os.getpid())


def test_second_run_while_one_writes_is_refused(claimed):
    work_dir = claimed / 'work'
    other = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        work_dir.mkdir()
        (work_dir / LOCK_NAME).write_text(f'{other.pid} {os.uname().nodename}\n')
        with pytest.raises(SystemExit, match=f'another training run \\(process {other.pid} on '
                                             f'.*\\) is writing into {work_dir}'):
            claim_work_dir(config(work_dir), resume=True)
    finally:
        other.kill()
        other.wait()
    claim_work_dir(config(work_dir), resume=True)         # its lock is stale now: taken over
    assert (work_dir / LOCK_NAME).read_text().split()[0] == str(os.getpid())


def test_lock_of_another_host_is_not_overridden(claimed):
    work_dir = claimed / 'work'
    work_dir.mkdir()
    (work_dir / LOCK_NAME).write_text('123 some-other-host\n')
    with pytest.raises(SystemExit, match='process 123 on some-other-host'):
        claim_work_dir(config(work_dir), resume=False)
